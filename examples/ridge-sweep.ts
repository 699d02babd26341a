/**
 * A real parameter sweep on flotilla: k-fold cross-validated ridge regression over
 * 24 penalties × polynomial degree 1..3 × standardization on/off (144 tasks), run across local
 * agents, then checked against the known truth and against an in-process evaluation.
 *
 *   npm run demo        (builds, then: tsx examples/ridge-sweep.ts)
 *
 * Exit code 0 on success; 1 with a message when a task fails or a check does not hold.
 */
import { availableParallelism } from 'node:os';
import { connect } from '../client/index.js';
import type { TaskOutcome } from '../client/index.js';
import { logSpace, makeData } from './ridge-data.js';
import { choleskySolve, evaluate, expandFeatures } from './ridge-model.js';
import type { CvResult, GridPoint, RidgeData } from './ridge-model.js';
import { correlation, createProgress, secs, table, topAbs } from './ridge-report.js';

/** The parallel and the in-process result of one grid point must agree this closely. */
const TOLERANCE = 1e-9;

/**
 * Every combination of the three settings; task i is grid[i]. Costliest first (degree 3 has
 * 3× the columns, ~9× the work): agents take tasks in order, so the run ends on short tasks
 * instead of one agent finishing a long one while the others idle.
 */
function makeGrid(): GridPoint[] {
  const grid: GridPoint[] = [];
  for (const degree of [3, 2, 1]) {
    for (const standardize of [false, true]) {
      for (const lambda of logSpace(1e-4, 1e3, 24)) grid.push({ lambda, degree, standardize });
    }
  }
  return grid;
}

/** Largest absolute difference between two results' numbers (MSEs, fold MSEs, coefficients). */
function maxDiff(a: CvResult, b: CvResult): number {
  let d = Math.max(Math.abs(a.mse - b.mse), Math.abs(a.sd - b.sd));
  a.foldMse.forEach((v, i) => (d = Math.max(d, Math.abs(v - (b.foldMse[i] ?? NaN)))));
  a.beta.forEach((v, i) => (d = Math.max(d, Math.abs(v - (b.beta[i] ?? NaN)))));
  return Number.isNaN(d) || a.beta.length !== b.beta.length ? Infinity : d;
}

const describe = (g: GridPoint): string => `degree ${g.degree}, ${g.standardize ? 'standardized' : 'raw scale'}`;

/** Runs the sweep; resolves with the exit code. */
async function main(): Promise<number> {
  const tStart = performance.now();
  const synth = makeData({ n: 2000, p: 40, k: 5, nonZero: 8, noiseSd: 2, seed: 20240611 });
  // Only what tasks read is shipped: the typed arrays travel as raw bytes, once per agent slot
  // (with the function), not once per task.
  const data: RidgeData = { X: synth.X, y: synth.y, n: synth.n, p: synth.p, k: synth.k, folds: synth.folds };
  const grid = makeGrid();
  console.log(`ridge sweep: n=${data.n}, p=${data.p}, ${data.k}-fold CV, ${grid.length} grid points (24 λ × degree 1..3 × standardize on/off)`);

  // Wait for every local agent so the timings below measure the sweep, not process start-up.
  const cores = availableParallelism();
  const fl = await connect({ waitForAgents: cores });
  const tReady = performance.now();
  // Open it to watch the sweep run; with --keep-open the controller stays up until Ctrl-C.
  console.log(`dashboard: ${fl.dashboardUrl()}`);
  try {
    const tMap = performance.now();
    const job = fl.map(grid, (g: GridPoint) => evaluate(g, data), { globals: { evaluate, choleskySolve, expandFeatures, data } });
    const progress = createProgress(grid.length, 'sweep');
    const failures: Extract<TaskOutcome<CvResult>, { ok: false }>[] = [];
    let best = Infinity;
    try {
      for await (const r of job) {
        if (r.ok) best = Math.min(best, r.value.mse);
        else failures.push(r);
        progress.tick(r.ok, best);
      }
    } finally {
      progress.stop();
    }
    if (failures.length > 0) {
      for (const f of failures.slice(0, 5)) console.error(`  task ${f.index} (${describe(grid[f.index]!)}, λ=${grid[f.index]!.lambda}): ${f.error.message}`);
      throw new Error(`${failures.length} of ${grid.length} tasks failed`);
    }
    const results = await job; // input order: results[i] belongs to grid[i]
    const tDone = performance.now();

    // Top 5 settings by mean CV MSE.
    const order = results.map((_, i) => i).sort((i, j) => results[i]!.mse - results[j]!.mse);
    console.log(`\nTop 5 settings by ${data.k}-fold CV MSE (noise variance ${synth.noiseVar.toFixed(2)} is the floor):`);
    console.log(table(
      ['rank', 'lambda', 'setting', 'CV MSE (mean ± sd)', 'task time'],
      order.slice(0, 5).map((i, r) => {
        const g = grid[i]!;
        const v = results[i]!;
        return [`${r + 1}`, g.lambda.toExponential(2), describe(g), `${v.mse.toFixed(4)} ± ${v.sd.toFixed(4)}`, `${v.ms.toFixed(0)} ms`];
      }),
    ));
    // The best of each setting, to show what standardization and the degree change.
    console.log('\nBest lambda per setting:');
    const settings = [...new Set(grid.map(describe))].sort();
    console.log(table(['setting', 'best lambda', 'CV MSE (mean ± sd)'], settings.map((s) => {
      const i = order.find((j) => describe(grid[j]!) === s)!;
      return [s, grid[i]!.lambda.toExponential(2), `${results[i]!.mse.toFixed(4)} ± ${results[i]!.sd.toFixed(4)}`];
    })));

    // Coefficient recovery, compared per standard deviation of each feature: the features'
    // scales differ 100-fold, so raw coefficients would not be comparable with each other.
    const bestIdx = order[0]!;
    const bestRes = results[bestIdx]!;
    const sd = columnSd(data);
    const estStd = Array.from({ length: data.p }, (_, j) => bestRes.beta[j]! * sd[j]!);
    const trueStd = Array.from(synth.betaTrue, (b, j) => b * sd[j]!);
    const trueSupport = new Set(trueStd.flatMap((b, j) => (b !== 0 ? [j] : [])));
    const hits = topAbs(estStd, 10).filter((j) => trueSupport.has(j)).length;
    console.log(`\nBest model (${describe(grid[bestIdx]!)}, λ=${grid[bestIdx]!.lambda.toExponential(2)}): coefficient recovery of the linear terms`);
    console.log(`  correlation with the true coefficients (per-sd scale): ${correlation(estStd, trueStd).toFixed(4)}`);
    console.log(`  true non-zeros among the 10 largest |β|: ${hits} of ${trueSupport.size}`);
    if (grid[bestIdx]!.degree >= 2) {
      const q = synth.quadFeature;
      console.log(`  quadratic term of x${q} (true effect 0.5 per sd²): ${(bestRes.beta[data.p + q]! * sd[q]! ** 2).toFixed(3)}`);
    }

    // Correctness: the agents ran shipped source on decoded data; the same point computed here
    // must give the same numbers (same code, same IEEE arithmetic: in practice bit-identical).
    const local = evaluate(grid[bestIdx]!, data);
    const diff = maxDiff(local, bestRes);
    const checkOk = diff <= TOLERANCE;
    console.log(`\nCheck: grid point ${bestIdx} parallel vs in-process: max |difference| = ${diff.toExponential(2)} (tolerance ${TOLERANCE}) ${checkOk ? 'OK' : 'FAILED'}`);

    // Who ran what, and how much the parallelism bought.
    const { lanes } = await fl.agents();
    const used = lanes.filter((l) => l.completed > 0);
    const taskMs = results.reduce((s, r) => s + r.ms, 0);
    const wallMs = tDone - tMap;
    console.log('\nRun:');
    console.log(table(['agent', 'host', 'pid', 'tasks'], lanes.map((l) => [`${l.agentId}/${l.lane}`, l.host, `${l.pid}`, `${l.completed}`])));
    console.log(`  tasks: ${results.length}; agents used: ${new Set(used.map((l) => l.agentId)).size} (${used.length} of ${lanes.length} slots, ${cores} cores)`);
    console.log(`  sweep wall time: ${secs(wallMs)}; summed task time: ${secs(taskMs)}; speed-up: ${(taskMs / wallMs).toFixed(2)}x`);
    console.log(`  agent start-up: ${secs(tReady - tStart)}; total: ${secs(performance.now() - tStart)}`);
    if (!checkOk) throw new Error(`parallel and in-process results differ by ${diff} > ${TOLERANCE}`);
    return 0;
  } finally {
    if (process.argv.includes('--keep-open')) {
      console.log('\nThe dashboard stays open until Ctrl-C.');
      const hold = setInterval(() => {}, 1 << 30); // the embedded controller alone does not keep the process up
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
      clearInterval(hold);
    }
    await fl.close();
  }
}

/** Sample standard deviation of each raw feature column. */
function columnSd({ X, n, p }: RidgeData): Float64Array {
  const out = new Float64Array(p);
  for (let j = 0; j < p; j++) {
    let m = 0;
    for (let i = 0; i < n; i++) m += X[i * p + j]!;
    m /= n;
    let s = 0;
    for (let i = 0; i < n; i++) s += (X[i * p + j]! - m) ** 2;
    out[j] = Math.sqrt(s / (n - 1));
  }
  return out;
}

main().then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    console.error(`\nridge sweep FAILED: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
