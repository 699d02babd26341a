/**
 * Start-up benchmark: what `import 'flotilla'` costs, and a trivial clusterMap script from
 * process start to exit, each beside baselines measured in the same run (a bare `node -e 0`,
 * and the local agents' own start). Runs the built library (dist/) in fresh processes.
 *
 *   npm run bench:startup [-- --reps 7] [-- --against DIR]
 *
 * --against DIR measures another build too (DIR: a copy of its dist/), interleaved with this one
 * in the same run, against the same `node -e 0`, so two builds compare under the same load.
 *
 * Targets: import <= 150 ms; the trivial script <= 2 x `node -e 0` + the agents' own start
 * (a cold connect() until its agents are connected). Also printed: the agents' start with the
 * controller's code loaded beforehand, so a build that moves code loading into connect() (where
 * it overlaps the agents' start) shows what that adds to the baseline.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { median } from './stats.js';
import { banner, machineEnv, positive, writeResults } from './results.js';
import { fmt } from './report.js';

const { values: args } = parseArgs({ options: { reps: { type: 'string', default: '7' }, against: { type: 'string' } } });
const reps = positive('reps', args.reps);
banner('startup', args.against ? `built library (dist/) and ${args.against}` : 'built library (dist/)');

const here = (f: string) => fileURLToPath(new URL(`./startup/${f}`, import.meta.url));
const SCRIPTS = ['import-time.mjs', 'agent-start.mjs', 'trivial-map.mjs'] as const;
type Script = (typeof SCRIPTS)[number];

/**
 * The scripts of one build: this one's as they are; another's copied to a temporary folder with
 * their import of dist/ pointing to it (a static import still, as in a user's script).
 */
function scriptsOf(dist: string | undefined, tmp: string): (f: Script) => string {
  if (!dist) return here;
  const url = `${pathToFileURL(resolve(dist)).href}/`;
  for (const f of SCRIPTS) writeFileSync(join(tmp, f), readFileSync(here(f), 'utf8').replaceAll('../../../dist/', url));
  return (f) => join(tmp, f);
}

/** Wall time of a fresh `node ...args` run, in ms, and its last stdout line parsed as JSON. */
function run(args: string[]): { wallMs: number; out: Record<string, number> } {
  const t0 = performance.now();
  const stdout = execFileSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const wallMs = performance.now() - t0;
  const last = stdout.trim().split('\n').pop() ?? '';
  return { wallMs, out: last.startsWith('{') ? (JSON.parse(last) as Record<string, number>) : {} };
}

interface Samples { importIn: number[]; importWall: number[]; agents: number[]; agentsLoaded: number[]; script: number[] }
const tmp = mkdtempSync(join(tmpdir(), 'flotilla-startup-bench-'));
const builds = [{ name: 'this build', at: scriptsOf(undefined, tmp) }, ...(args.against ? [{ name: args.against, at: scriptsOf(args.against, tmp) }] : [])];
const samples: Samples[] = builds.map(() => ({ importIn: [], importWall: [], agents: [], agentsLoaded: [], script: [] }));
const bare: number[] = [];
// clusterMap starts one agent per core: the agents' start is measured with as many.
const cores = availableParallelism();
run(['-e', '0']); // warm the file cache
try {
  for (let i = 0; i < reps; i++) {
    bare.push(run(['-e', '0']).wallMs);
    // Builds interleaved, their order alternating, so a change of load falls on both alike.
    const order = i % 2 === 0 ? builds.map((_, k) => k) : builds.map((_, k) => k).reverse();
    for (const k of order) {
      const { at } = builds[k]!;
      const s = samples[k]!;
      const imp = run([at('import-time.mjs')]);
      s.importIn.push(imp.out.importMs!);
      s.importWall.push(imp.wallMs);
      s.agents.push(run([at('agent-start.mjs'), String(cores)]).out.agentStartMs!);
      s.agentsLoaded.push(run([at('agent-start.mjs'), String(cores), 'loaded']).out.agentStartMs!);
      s.script.push(run([at('trivial-map.mjs')]).wallMs);
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

const bareNodeMs = median(bare);
const results = builds.map(({ name }, k) => {
  const s = samples[k]!;
  const m = { bareNodeMs, importMs: median(s.importIn), importProcessMs: median(s.importWall), agentStartMs: median(s.agents), agentStartLoadedMs: median(s.agentsLoaded), trivialScriptMs: median(s.script) };
  return { name, medians: m, scriptTargetMs: 2 * bareNodeMs + m.agentStartMs };
});
for (const { name, medians: m, scriptTargetMs } of results) {
  const rows: [string, string, string, string][] = [
    ['import of the library (in process)', fmt(m.importMs, 'ms'), '<= 150 ms', m.importMs <= 150 ? 'PASS' : 'MISS'],
    ['process that only imports it', fmt(m.importProcessMs, 'ms'), `baseline node -e 0: ${fmt(m.bareNodeMs, 'ms')}`, '-'],
    [`local agents' own start (${cores})`, fmt(m.agentStartMs, 'ms'), 'baseline', '-'],
    // The same with the controller's code loaded before the clock starts: how much of the
    // baseline is loading code (which the script's connect() overlaps with the agents' start).
    ['  the same, controller code already loaded', fmt(m.agentStartLoadedMs, 'ms'), 'for reference', '-'],
    ['trivial clusterMap script, start to exit', fmt(m.trivialScriptMs, 'ms'), `<= 2 x node -e 0 + agents' start = ${fmt(scriptTargetMs, 'ms')}`, `${m.trivialScriptMs <= scriptTargetMs ? 'PASS' : 'MISS'} (${(m.trivialScriptMs / scriptTargetMs).toFixed(2)}x)`],
  ];
  const w = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length), ['figure', 'median', 'target / baseline (same run)', 'result'][i]!.length));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i]!)).join('  ');
  console.log(`\n${name}\n${line(['figure', 'median', 'target / baseline (same run)', 'result'])}\n${rows.map(line).join('\n')}`);
}
console.log(`(${reps} runs each, medians${builds.length > 1 ? ', builds interleaved' : ''})`);
// Each run of one build beside the other's in the same round: the median of those differences
// is steadier than a difference of medians when the machine's load drifts.
const paired = builds.length > 1 ? { trivialScriptMs: median(samples[0]!.script.map((v, i) => v - samples[1]!.script[i]!)), agentStartMs: median(samples[0]!.agents.map((v, i) => v - samples[1]!.agents[i]!)), importMs: median(samples[0]!.importIn.map((v, i) => v - samples[1]!.importIn[i]!)) } : undefined;
if (paired) {
  const faster = samples[0]!.script.filter((v, i) => v < samples[1]!.script[i]!).length;
  console.log(`this build minus ${builds[1]!.name}, median of per-round differences: trivial script ${fmt(paired.trivialScriptMs, 'ms')} (this build faster in ${faster} of ${reps} rounds), agents' start ${fmt(paired.agentStartMs, 'ms')}, import ${fmt(paired.importMs, 'ms')}`);
  Object.assign(paired, { scriptFasterRounds: faster });
}
writeResults('startup-latest.json', { env: machineEnv(), reps, medians: results[0]!.medians, scriptTargetMs: results[0]!.scriptTargetMs, ...(results[1] ? { against: results[1], paired } : {}) });
