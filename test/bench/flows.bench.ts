/**
 * Flows benchmark: the overhead of a flow against a plain `fl.map` doing the same tiny work on
 * the same session and agents, alternated in one run: (a) one unit per row (no distribute),
 * (b) 100 rows per unit (`chunksPerJob: 100`), each against a map of as many items; and (c) a
 * resubmit of a fully cached flow (nothing runs: time to answer), against the run that filled it.
 * Every flow rep uses a fresh grid (a `rep` column), so only (c) hits the cache.
 *
 *   npx tsx test/bench/flows.bench.ts [--reps 5] [--rows 2000]
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connect, paramGrid } from '../../client/index.js';
import { median } from './stats.js';
import { tempDir } from './measure.js';
import { banner, positive, writeResults } from './results.js';
import { textTable, times } from './report.js';

const { values: args } = parseArgs({ options: { reps: { type: 'string', default: '5' }, rows: { type: 'string', default: '2000' } } });
const reps = positive('reps', args.reps);
const n = positive('rows', args.rows);

banner('flows', 'sources via tsx');
const ms = (t0: number) => performance.now() - t0;

const dir = tempDir('flotilla-bench-flows-');
const fl = await connect({ pools: { local: { launcher: 'local', agents: 2 } }, controller: { flowCache: join(dir, 'flows.db') }, waitForAgents: 2 });
const items = Array.from({ length: n }, (_, i) => ({ i }));
const grid = (rep: number) => paramGrid({ rep: [rep], i: items.map((x) => x.i) });
const check = (values: number[], what: string) => {
  if (values.length !== n || values.some((v, i) => v !== i + 1)) throw new Error(`${what}: wrong values`);
};

const perRow: number[] = [], chunked: number[] = [], mapA: number[] = [], mapB: number[] = [], cachedMs: number[] = [];
let rep = 0;
try {
  // Warm up the channel, the function caches and the database.
  await fl.map(items.slice(0, 200), ({ i }: { i: number }) => i + 1);
  await fl.flow(grid(rep++)).stage('inc', ({ i }) => i + 1).distribute({ chunksPerJob: 100 }).collect({ progress: false });
  for (let k = 0; k < reps; k++) {
    let t0 = performance.now();
    check(await fl.map(items, ({ i }: { i: number }) => i + 1), 'map');
    mapA.push(ms(t0));

    const g = grid(rep++);
    t0 = performance.now();
    check((await fl.flow(g).stage('inc', ({ i }) => i + 1).collect({ progress: false })).map((r) => r.inc!), 'flow, a unit per row');
    perRow.push(ms(t0));

    // The same flow again: every row cached, nothing sent to an agent.
    t0 = performance.now();
    const again = await fl.flow(g).stage('inc', ({ i }) => i + 1).collect({ progress: false });
    cachedMs.push(ms(t0));
    if (!again.every((r) => r.cached)) throw new Error('resubmit: rows were not all cached');

    t0 = performance.now();
    check(await fl.map(items, ({ i }: { i: number }) => i + 1), 'map');
    mapB.push(ms(t0));

    t0 = performance.now();
    check((await fl.flow(grid(rep++)).stage('inc', ({ i }) => i + 1).distribute({ chunksPerJob: 100 }).collect({ progress: false })).map((r) => r.inc!), 'flow, chunks of 100');
    chunked.push(ms(t0));
  }
} finally {
  await fl.close();
  rmSync(dir, { recursive: true, force: true });
}

const r = { perRowMs: median(perRow), chunkedMs: median(chunked), mapAMs: median(mapA), mapBMs: median(mapB), cachedMs: median(cachedMs) };
const map = (v: number) => `${v.toFixed(1)} ms fl.map of ${n}`;
console.log(textTable([
  { figure: `flow, ${n} rows, a unit per row (${n} units)`, value: `${r.perRowMs.toFixed(1)} ms`, baseline: map(r.mapAMs), ratio: times(r.perRowMs, r.mapAMs) },
  { figure: `flow, ${n} rows, chunksPerJob 100 (${Math.ceil(n / 100)} units)`, value: `${r.chunkedMs.toFixed(1)} ms`, baseline: map(r.mapBMs), ratio: times(r.chunkedMs, r.mapBMs) },
  { figure: `resubmit of the fully cached flow (${n} rows)`, value: `${r.cachedMs.toFixed(1)} ms`, baseline: `${r.perRowMs.toFixed(1)} ms its first run`, ratio: times(r.cachedMs, r.perRowMs) },
]));
const list = (xs: number[]) => `[${xs.map((x) => x.toFixed(0)).join(', ')}]`;
console.log(`samples (ms): per-row ${list(perRow)}, map ${list(mapA)}, cached ${list(cachedMs)}, chunked ${list(chunked)}, map ${list(mapB)}`);
writeResults('flows-latest.json', { reps, rows: n, ...r, samples: { perRow, chunked, mapA, mapB, cachedMs } });
