/**
 * Progress of a map: a bar on stderr in a real pseudo-terminal (script(1)), nothing when stderr
 * is not a terminal, and the same figures through a callback, on real local agents.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { join } from 'node:path';
import { connect, FlotillaError } from '../../client/index.js';
import type { MapProgress, Session } from '../../client/index.js';
import { ROOT } from '../lifecycle/helpers.js';
import { rejection } from '../support/async.js';

const FIXTURE = join(ROOT, 'test', 'core', 'fixtures', 'tty-map.ts');

describe('progress bar of a map', () => {
  it('draws a bar in a terminal that ends at the total, with the failed count', async () => {
    const r = await execa('script', ['-qfec', `node --import tsx ${FIXTURE}`, '/dev/null'], { cwd: ROOT, env: { TERM: 'xterm' }, reject: false, timeout: 120_000 });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const screen = r.stdout.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
    expect(screen).toMatch(/\[[^\]]*\] 30\/30 tasks \| 2 failed \| [\d.]+\/s \| ETA 0s/);
    const last = JSON.parse(screen.trim().split('\n').filter((l) => l.startsWith('{')).pop()!) as { ok: boolean[]; loaded: boolean };
    expect(last.ok.filter((ok) => !ok)).toHaveLength(2);
    expect(last.loaded).toBe(true);
  }, 150_000);

  it('writes nothing, and loads no bar library, when stderr is not a terminal', async () => {
    const r = await execa('node', ['--import', 'tsx', FIXTURE], { cwd: ROOT, reject: false, timeout: 120_000 });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout.trim())).toMatchObject({ loaded: false });
  }, 150_000);
});

describe('progress callback of a map', () => {
  let fl: Session;
  beforeAll(async () => {
    fl = await connect({ pools: { local: { launcher: 'local', agents: 2 } }, waitForAgents: 2 });
  });
  afterAll(() => fl?.close());

  const work = async (i: number) => {
    await new Promise((r) => setTimeout(r, 5));
    if (i % 10 === 3) throw new Error('odd one');
    return i;
  };

  it('gets monotonic figures that end at the total, failures counted', async () => {
    const seen: MapProgress[] = [];
    const outcomes = await fl.map(Array.from({ length: 40 }, (_, i) => i), work, { retries: 0, progress: (p) => seen.push(p) }).outcomes();
    expect(outcomes.filter((o) => !o.ok)).toHaveLength(4);
    expect(seen.length).toBeGreaterThan(1);
    for (let i = 1; i < seen.length; i++) {
      expect(seen[i]!.done).toBeGreaterThanOrEqual(seen[i - 1]!.done);
      expect(seen[i]!.failed).toBeGreaterThanOrEqual(seen[i - 1]!.failed);
      expect(seen[i]!.elapsedMs).toBeGreaterThanOrEqual(seen[i - 1]!.elapsedMs);
    }
    expect(seen[0]).toMatchObject({ done: 0, failed: 0, total: 40 });
    const last = seen.at(-1)!;
    expect(last).toMatchObject({ done: 40, failed: 4, total: 40, etaMs: 0 });
    expect(last.rate).toBeGreaterThan(0);
  });

  it('reports the progress of a job it attaches to, from the first result', async () => {
    const id = await fl.submit([1, 2, 3, 4, 5, 6], (x: number) => x * 2);
    const seen: MapProgress[] = [];
    expect(await fl.attach(id, { progress: (p) => seen.push(p) })).toEqual([2, 4, 6, 8, 10, 12]);
    expect(seen.at(-1)).toMatchObject({ done: 6, failed: 0, total: 6 });
  });

  it('a callback that throws does not break the job', async () => {
    expect(await fl.map([1, 2, 3], (x) => x + 1, { progress: () => { throw new Error('mine'); } })).toEqual([2, 3, 4]);
  });

  it('rejects a bad progress value, a misspelt option, and progress on submit, naming what to do', async () => {
    const bad = await rejection(fl.map([1], (x) => x, { progress: 'yes' as never }));
    expect(bad).toBeInstanceOf(FlotillaError);
    expect(String(bad)).toMatch(/progress must be true, false or a function/);
    expect(String(await rejection(fl.map([1], (x) => x, { progres: true } as never)))).toMatch(/progres \(did you mean progress\?\)/);
    expect(String(await rejection(fl.submit([1], (x: number) => x, { progress: true } as never)))).toMatch(/attach\(jobId, \{ progress: true \}\)/);
    expect(String(await rejection(fl.attach('j-x', { progess: true } as never)))).toMatch(/did you mean progress/);
  });
});
