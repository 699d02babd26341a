/**
 * Per-lane work on real local agents: everywhere() runs once on each connected lane; a setup or
 * an import that does not settle in time fails its tasks SETUP_FAILED and gets its lane replaced;
 * a setup value dropped while a task uses it is disposed only after that task.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, moduleOf } from '../../client/index.js';
import type { Session } from '../../client/index.js';
import { rejection, until } from '../support/async.js';

const lanes = moduleOf<typeof import('./fixtures/lanes.js')>(new URL('./fixtures/lanes.ts', import.meta.url));

const dirs: string[] = [];
function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}
const pool = (agents: number, slots: number, env: Record<string, string> = {}) => ({ local: { launcher: 'local' as const, agents, slots, env: { FLOTILLA_CACHE_DIR: tempDir('flotilla-cache-'), ...env } } });

let fl: Session;
beforeAll(async () => {
  fl = await connect({ pools: pool(2, 2), waitForAgents: 4 });
}, 60_000);
afterAll(async () => {
  await fl?.close();
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

describe('everywhere', () => {
  it('runs once on every connected lane and returns one outcome per lane, saying where', async () => {
    const out = await fl.everywhere(lanes.whereAmI);
    expect(out).toHaveLength(4);
    const connected = (await fl.agents()).lanes.map((l) => `${l.agentId}/${l.lane}`).sort();
    expect(out.map((o) => `${o.agentId}/${o.lane}`).sort()).toEqual(connected);
    for (const o of out) {
      expect(o.ok).toBe(true);
      if (!o.ok) continue;
      // The task ran on the lane it names (its own item), not on whichever lane was free.
      expect(o.value.agentId).toBe(o.agentId);
      expect(o.value.lane).toBe(o.lane);
    }
    expect(new Set(out.map((o) => (o.ok ? `${o.value.pid}:${o.value.threadId}` : ''))).size).toBe(4);
  });

  it('sets per-lane state every later task sees, with inline code and globals', async () => {
    const k = 42;
    const set = await fl.everywhere(() => {
      (globalThis as { __flotillaK?: number }).__flotillaK = k;
      return true;
    }, { globals: { k } });
    expect(set.every((o) => o.ok)).toBe(true);
    const seen = await fl.map(Array.from({ length: 40 }, (_, i) => i), () => (globalThis as { __flotillaK?: number }).__flotillaK);
    expect(new Set(seen)).toEqual(new Set([42]));
  });

  it('reports each lane that throws as a failed outcome, and refuses an unknown pool', async () => {
    const out = await fl.everywhere((w: { lane: number }) => {
      throw new RangeError(`no ${w.lane}`);
    });
    expect(out).toHaveLength(4);
    for (const o of out) {
      expect(o.ok).toBe(false);
      if (o.ok) continue;
      expect(o.error.code).toBe('TASK_ERROR');
      expect(o.error.message).toBe(`no ${o.lane}`);
    }
    const err = await rejection(fl.everywhere(() => 1, { pool: 'nope' }));
    expect(err.code).toBe('BAD_INPUT');
    expect(err.message).toContain('"nope"');
  });
});

describe('everywhere when the controller closes', () => {
  it('ends with CLOSED instead of waiting for lanes that will never answer', async () => {
    const own = await connect({ pools: pool(1, 1), waitForAgents: 1 });
    const call = rejection(own.everywhere(() => new Promise(() => {})));
    await until(() => [...own.controller!.scheduler.lanes].some((l) => l.runs.size > 0));
    await own.close();
    const err = await call;
    expect(err.code).toBe('CLOSED');
  }, 60_000);
});

describe('setup time limit', () => {
  it('a setup that never settles fails its tasks SETUP_FAILED "did not finish within" and its lane is replaced', async () => {
    const own = await connect({ pools: pool(1, 1), waitForAgents: 1 });
    try {
      const before = [...own.controller!.scheduler.lanes][0]!;
      const outs = await own.map([1, 2, 3], (x: number) => x, { setup: () => new Promise(() => {}), setupTimeoutMs: 1500 }).outcomes();
      expect(outs).toHaveLength(3);
      for (const o of outs) {
        expect(o.ok).toBe(false);
        if (o.ok) continue;
        expect(o.error.code).toBe('SETUP_FAILED');
        expect(o.error.message).toMatch(/setup \S+ did not finish within 1500 ms/);
      }
      // Replaced: a new connection for the slot, which runs work normally.
      await until(() => [...own.controller!.scheduler.lanes].some((l) => l !== before), 30_000);
      expect(await own.map([5], (x: number) => x + 1)).toEqual([6]);
    } finally {
      await own.close();
    }
  }, 60_000);

  it('a module whose import never finishes fails its tasks SETUP_FAILED naming the file', async () => {
    const own = await connect({ pools: pool(1, 1), waitForAgents: 1 });
    try {
      const [o] = await own.map([1], { module: new URL('./fixtures/import-hangs.ts', import.meta.url), export: 'f' }, { setupTimeoutMs: 1500 }).outcomes();
      expect(o!.ok).toBe(false);
      if (o!.ok) return;
      expect(o!.error.code).toBe('SETUP_FAILED');
      expect(o!.error.message).toMatch(/import-hangs\.ts did not load within 1500 ms/);
      expect(await own.map([5], (x: number) => x + 1)).toEqual([6]);
    } finally {
      await own.close();
    }
  }, 60_000);

  it('a setup that blocks its thread gets the lane replaced by the agent; the task does not hang', async () => {
    const own = await connect({ pools: pool(1, 1), waitForAgents: 1 });
    try {
      const [o] = await own.map([1], (x: number) => x, {
        setup: () => {
          for (;;); // never yields: only the agent's supervisor can end it
        },
        setupTimeoutMs: 500,
        crashLimit: 1,
      }).outcomes();
      expect(o!.ok).toBe(false);
      if (o!.ok) return;
      expect(o!.error.code).toBe('POISONOUS');
      expect(await own.map([5], (x: number) => x + 1)).toEqual([6]);
    } finally {
      await own.close();
    }
  }, 60_000);

  it('refuses a bad setupTimeoutMs naming it', async () => {
    const err = await rejection(fl.map([1], (x: number) => x, { setupTimeoutMs: -1 }));
    expect(err.code).toBe('BAD_INPUT');
    expect(err.message).toContain('setupTimeoutMs');
  });
});

describe('dropping setups', () => {
  it('a setup value dropped while a task uses it is disposed after that task, not under it', async () => {
    const log = join(tempDir('flotilla-setup-'), 'setup.log');
    const own = await connect({ pools: pool(1, 1, { FLOTILLA_TEST_SETUP_LOG: log }), waitForAgents: 1 });
    const lines = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []);
    try {
      const job = own.map([1], lanes.holdUntilAbort, { setup: lanes.initFlagged });
      await until(() => lines().includes('holding'), 30_000);
      await own.dropSetup();
      // The cancel reaches the lane after the drop, on the same connection: the task's abort
      // handler sees whether the value was disposed while it still held it.
      await own.cancel(await job.id);
      await until(() => lines().some((l) => l.startsWith('abort-saw-disposed=')));
      expect(lines()).toContain('abort-saw-disposed=false');
      await until(() => lines().includes('disposed-flagged')); // and then it was disposed
    } finally {
      await own.close();
    }
  }, 60_000);
});
