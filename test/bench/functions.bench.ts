/**
 * Module functions benchmark: cold start of a module task (esbuild bundle + upload + ship to a
 * fresh agent with an empty artifact cache + import) against warm (cached build, the agent has
 * it), with a one-task inline map in the same session as the baseline; and the per-task cost of
 * a module function against the same inline function, alternated in one session.
 *
 *   npx tsx test/bench/functions.bench.ts [--reps 5] [--tasks 20000]
 */
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { connect, moduleOf } from '../../client/index.js';
import { clearModuleCache } from '../../client/module/build.js';
import { median } from './stats.js';
import { tempDir } from './measure.js';
import { banner, positive, writeResults } from './results.js';
import { textTable, times } from './report.js';

const { values: args } = parseArgs({ options: { reps: { type: 'string', default: '5' }, tasks: { type: 'string', default: '20000' } } });
const reps = positive('reps', args.reps);
const tasks = positive('tasks', args.tasks);
const work = moduleOf<typeof import('../functions/fixtures/work.js')>(new URL('../functions/fixtures/work.ts', import.meta.url));

banner('functions', 'sources via tsx');
const ms = (t0: number) => performance.now() - t0;

// Cold vs warm: a fresh agent with an empty cache each rep, and a cleared build cache.
const cold: number[] = [], warm: number[] = [], inline: number[] = [], warmBuild: number[] = [];
for (let i = 0; i < reps; i++) {
  const cache = tempDir('flotilla-bench-cache-');
  const fl = await connect({ pools: { local: { launcher: 'local', agents: 1, slots: 1, env: { FLOTILLA_CACHE_DIR: cache } } }, waitForAgents: 1 });
  try {
    await fl.map([1], (x: number) => x + 1); // the channel is up and warm either way
    clearModuleCache();
    let t0 = performance.now();
    await fl.map([{ x: 1 }], work.fit);
    cold.push(ms(t0));
    t0 = performance.now();
    await fl.map([{ x: 2 }], work.fit);
    warm.push(ms(t0));
    t0 = performance.now();
    await fl.map([{ x: 2 }], (r: { x: number }) => r.x * r.x);
    inline.push(ms(t0));
    // A map of a new export of the cached artifact: build cache hit, upload skipped, import reused.
    t0 = performance.now();
    await fl.map([3], work.inc);
    warmBuild.push(ms(t0));
    if (fl.controller!.artifactTransfers.total !== 1) throw new Error(`expected one transfer, saw ${fl.controller!.artifactTransfers.total}`);
  } finally {
    await fl.close();
    rmSync(cache, { recursive: true, force: true });
  }
}

// Per-task overhead: the same tiny function as a module export and inline, alternated.
const cache = tempDir('flotilla-bench-cache-');
const fl = await connect({ pools: { local: { launcher: 'local', agents: 2, slots: 1, env: { FLOTILLA_CACHE_DIR: cache } } }, waitForAgents: 2 });
const items = Array.from({ length: tasks }, (_, i) => i);
const modUs: number[] = [], inlUs: number[] = [];
try {
  await fl.map(items.slice(0, 1000), work.inc);
  await fl.map(items.slice(0, 1000), (x: number) => x + 1);
  for (let i = 0; i < reps; i++) {
    let t0 = performance.now();
    await fl.map(items, work.inc);
    modUs.push((ms(t0) * 1000) / tasks);
    t0 = performance.now();
    await fl.map(items, (x: number) => x + 1);
    inlUs.push((ms(t0) * 1000) / tasks);
  }
} finally {
  await fl.close();
  rmSync(cache, { recursive: true, force: true });
}

const r = {
  coldMs: median(cold), warmMs: median(warm), warmNewExportMs: median(warmBuild), inlineOneTaskMs: median(inline),
  moduleUsPerTask: median(modUs), inlineUsPerTask: median(inlUs),
};
const inl1 = `${r.inlineOneTaskMs.toFixed(2)} ms inline 1-task map`;
const inlT = `${r.inlineUsPerTask.toFixed(2)} us inline`;
console.log(textTable([
  { figure: 'cold module task (bundle + upload + ship + import)', value: `${r.coldMs.toFixed(1)} ms`, baseline: inl1, ratio: times(r.coldMs, r.inlineOneTaskMs) },
  { figure: 'warm module task (cached build, agent has it)', value: `${r.warmMs.toFixed(2)} ms`, baseline: inl1, ratio: times(r.warmMs, r.inlineOneTaskMs) },
  { figure: 'warm, another export of the cached artifact', value: `${r.warmNewExportMs.toFixed(2)} ms`, baseline: inl1, ratio: times(r.warmNewExportMs, r.inlineOneTaskMs) },
  { figure: `module fn per task (${tasks} tasks, 2 agents)`, value: `${r.moduleUsPerTask.toFixed(2)} us`, baseline: inlT, ratio: times(r.moduleUsPerTask, r.inlineUsPerTask) },
]));
console.log(`samples: cold [${cold.map((x) => x.toFixed(0)).join(', ')}] ms, warm [${warm.map((x) => x.toFixed(1)).join(', ')}] ms, inline [${inline.map((x) => x.toFixed(1)).join(', ')}] ms, module/task [${modUs.map((x) => x.toFixed(2)).join(', ')}] us, inline/task [${inlUs.map((x) => x.toFixed(2)).join(', ')}] us`);
writeResults('functions-latest.json', { reps, tasks, ...r, samples: { cold, warm, warmBuild, inline, modUs, inlUs } });
