/**
 * Module exports as flow stages on real local agents (the bundled agent): a stage that imports a
 * local helper and an npm package runs inline, on threads and in child processes; its cache is
 * reused on resubmit and invalidated when the module's code changes. Runs are counted with a
 * file the stage appends to, not by trusting reported flags.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, moduleOf, paramGrid } from '../../client/index.js';
import type { Session, Within } from '../../client/index.js';
import { rejection } from '../support/async.js';

const STAGES = new URL('./fixtures/stages.ts', import.meta.url);
const HELPER = fileURLToPath(new URL('./fixtures/stage-helper.ts', import.meta.url));
const work = moduleOf<typeof import('./fixtures/stages.js')>(STAGES);

let fl: Session;
let dir: string;
let runLog: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flotilla-flow-modules-'));
  runLog = join(dir, 'runs.log');
  fl = await connect({
    pools: { local: { launcher: 'local', agents: 1, cores: 2, env: { FLOTILLA_CACHE_DIR: join(dir, 'cache'), FLOTILLA_TEST_RUN_LOG: runLog } } },
    controller: { flowCache: join(dir, 'flows.db') },
    waitForAgents: 1,
  });
}, 60_000);
afterAll(async () => {
  await fl?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Lines the stages appended since the log was last cleared. */
function runs(): string[] {
  return existsSync(runLog) ? readFileSync(runLog, 'utf8').split('\n').filter(Boolean) : [];
}
const clearRuns = () => writeFileSync(runLog, '');

const grid = paramGrid({ group: ['a', 'b'], x: [1, 2, 3] });

function moduleFlow(within: Within, base: number) {
  return fl
    .flow(grid)
    .stage('pre', ({ x }) => ({ base: base + x }), { globals: { base } })
    .stage('fit', work.fit, { needs: ['pre'] })
    .distribute({ by: ['group'], within, workersWithin: 2 });
}

describe('module exports as flow stages', () => {
  it.each(['inline', 'threads', 'process'] as const)('runs a module stage that imports a helper and zod: %s', async (within) => {
    clearRuns();
    const base = { inline: 100, threads: 200, process: 300 }[within];
    const rows = await moduleFlow(within, base).collect({ progress: false });
    expect(rows.map((r) => [r.status, r.fit?.y])).toEqual(grid.map((g) => ['ok', g.x * g.x + base + g.x]));
    // Typed from the export: y is a number.
    const y: number | undefined = rows[0]!.fit?.y;
    expect(typeof y).toBe('number');
    expect(runs().sort()).toEqual(grid.map((g) => `fit ${g.x}`).sort());
    if (within === 'process') expect(new Set(rows.map((r) => r.fit!.pid)).size).toBe(2); // one process per group
    if (within === 'threads') expect(rows.every((r) => r.fit!.threadId > 0)).toBe(true);
  }, 90_000);

  it('a resubmitted module flow reuses its cache; editing the module re-runs the stage', async () => {
    const tmp = mkdtempSync(join(dir, 'mod-'));
    const file = join(tmp, 'edited.ts');
    const source = (k: number) =>
      `import { logRun, square } from ${JSON.stringify(HELPER)};\n` +
      `export function fit(input: { x: number }): { y: number } {\n  logRun('edited ' + input.x);\n  return { y: square(input.x) + ${k} };\n}\n`;
    writeFileSync(file, source(1));
    const edited = moduleOf<{ fit: (input: { x: number }) => { y: number } }>(file);
    const run = () => fl.flow(grid).stage('fit', edited.fit).collect({ progress: false });

    clearRuns();
    expect((await run()).map((r) => r.fit?.y)).toEqual(grid.map((g) => g.x * g.x + 1));
    expect(runs()).toHaveLength(6);

    clearRuns();
    const again = await run();
    expect(again.map((r) => [r.fit?.y, r.cached])).toEqual(grid.map((g) => [g.x * g.x + 1, true]));
    expect(runs()).toEqual([]); // nothing ran: every row came from the cache

    writeFileSync(file, source(2));
    clearRuns();
    expect((await run()).map((r) => [r.fit?.y, r.cached])).toEqual(grid.map((g) => [g.x * g.x + 2, undefined]));
    expect(runs()).toHaveLength(6);
  }, 120_000);

  it('a module stage naming a missing export, or given globals, fails preflight naming the stage', async () => {
    const err = await rejection(
      fl
        .flow(grid)
        .stage('nope', (work as any).missing)
        .stage('glob', work.fit as any, { globals: { k: 1 } })
        .preflight(),
    );
    expect(err).toMatchObject({ code: 'BAD_INPUT' });
    const problems = (err as any).context.problems as { stage?: string; message: string }[];
    expect(problems.map((p) => p.stage).sort()).toEqual(['glob', 'nope']);
    expect(problems.find((p) => p.stage === 'nope')!.message).toMatch(/no export "missing"/);
  }, 60_000);
});
