/**
 * Start-up benchmark: what `import 'flotilla'` costs, and a trivial clusterMap script from
 * process start to exit, each beside baselines measured in the same run (a bare `node -e 0`,
 * and the local agents' own start). Runs the built library (dist/) in fresh processes.
 *
 *   npm run bench:startup [-- --reps 7]
 *
 * Targets: import <= 150 ms; the trivial script <= 2 x `node -e 0` + the agents' own start.
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median } from './stats.js';
import { banner, machineEnv, positive, writeResults } from './results.js';
import { fmt } from './report.js';

const { values: args } = parseArgs({ options: { reps: { type: 'string', default: '7' } } });
const reps = positive('reps', args.reps);
banner('startup', 'built library (dist/)');

const here = (f: string) => fileURLToPath(new URL(`./startup/${f}`, import.meta.url));

/** Wall time of a fresh `node ...args` run, in ms, and its last stdout line parsed as JSON. */
function run(args: string[]): { wallMs: number; out: Record<string, number> } {
  const t0 = performance.now();
  const stdout = execFileSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const wallMs = performance.now() - t0;
  const last = stdout.trim().split('\n').pop() ?? '';
  return { wallMs, out: last.startsWith('{') ? (JSON.parse(last) as Record<string, number>) : {} };
}

const bare: number[] = [], importIn: number[] = [], importWall: number[] = [], script: number[] = [], agents: number[] = [];
// clusterMap starts one agent per core: the agents' start is measured with as many.
const cores = availableParallelism();
run(['-e', '0']); // warm the file cache
for (let i = 0; i < reps; i++) {
  bare.push(run(['-e', '0']).wallMs);
  const imp = run([here('import-time.mjs')]);
  importIn.push(imp.out.importMs!);
  importWall.push(imp.wallMs);
  agents.push(run([here('agent-start.mjs'), String(cores)]).out.agentStartMs!);
  script.push(run([here('trivial-map.mjs')]).wallMs);
}

const m = { bareNodeMs: median(bare), importMs: median(importIn), importProcessMs: median(importWall), agentStartMs: median(agents), trivialScriptMs: median(script) };
const scriptTarget = 2 * m.bareNodeMs + m.agentStartMs;
const rows: [string, string, string, string][] = [
  ['import of the library (in process)', fmt(m.importMs, 'ms'), '<= 150 ms', m.importMs <= 150 ? 'PASS' : 'MISS'],
  ['process that only imports it', fmt(m.importProcessMs, 'ms'), `baseline node -e 0: ${fmt(m.bareNodeMs, 'ms')}`, '-'],
  [`local agents' own start (${cores})`, fmt(m.agentStartMs, 'ms'), 'baseline', '-'],
  ['trivial clusterMap script, start to exit', fmt(m.trivialScriptMs, 'ms'), `<= 2 x node -e 0 + agents' start = ${fmt(scriptTarget, 'ms')}`, m.trivialScriptMs <= scriptTarget ? 'PASS' : 'MISS'],
];
const w = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length), ['figure', 'median', 'target / baseline (same run)', 'result'][i]!.length));
const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i]!)).join('  ');
console.log(`\n${line(['figure', 'median', 'target / baseline (same run)', 'result'])}\n${rows.map(line).join('\n')}`);
console.log(`(${reps} runs each, medians)`);
writeResults('startup-latest.json', { env: machineEnv(), reps, medians: m, scriptTargetMs: scriptTarget });
