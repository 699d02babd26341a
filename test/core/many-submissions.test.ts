import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../../client/index.js';
import { Controller } from '../../server/controller.js';

// Many single-task maps issued at once, as workflow tools and request handlers submit work.
let dir: string;
let ctl: Controller;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flotilla-many-'));
  // Few finished jobs retained: a client with hundreds in flight subscribes to most of its jobs'
  // results after more than that many others have finished.
  ctl = await Controller.start({ port: 0, stateDir: dir, retainJobs: 5, pools: { local: { launcher: 'local', agents: 2, slots: 1 } } });
  await ctl.waitForLanes(2, { timeoutMs: 60_000 });
}, 90_000);
afterAll(async () => {
  await ctl?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('many single-task maps at once', () => {
  it('a remote client gets the result of every one of 400 single-task maps issued at once, however many others finished first', async () => {
    const fl = await connect({ url: ctl.url, tokenFile: ctl.tokenFile });
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const out = await Promise.all(Array.from({ length: 400 }, (_, i) => fl.map([i], (x: number) => x * 2)));
      expect(out.map(([v]) => v)).toEqual(Array.from({ length: 400 }, (_, i) => i * 2));
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
      // 400 result streams open at once on one controller are not a listener leak.
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message)).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      await fl.close();
    }
  }, 120_000);

  it('an embedded session runs 2,000 single-task maps issued at once, each result once and in its own job', async () => {
    const fl = await connect({ pools: { local: { launcher: 'local', agents: 2, slots: 1 } } });
    try {
      const out = await Promise.all(Array.from({ length: 2000 }, (_, i) => fl.map([i], (x: number) => x + 1)));
      expect(out).toEqual(Array.from({ length: 2000 }, (_, i) => [i + 1]));
    } finally {
      await fl.close();
    }
  }, 120_000);
});
