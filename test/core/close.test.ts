import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../../client/index.js';
import { Controller } from '../../server/controller.js';
import { rejection, within } from '../support/async.js';

const slow = (x: number) => new Promise<number>((r) => setTimeout(() => r(x), 5000));

describe('closing leaves no job waiting', () => {
  it('closing an embedded session settles its jobs with CLOSED', async () => {
    const fl = await connect({ pools: { local: { launcher: 'local', agents: 1 } }, waitForAgents: 1 });
    const job = fl.map([1, 2], slow);
    await job.id;
    await fl.close();
    expect((await within(rejection(job), 3000, 'job after close')).code).toBe('CLOSED');
  });

  it('closing a remote session settles its jobs with CLOSED, and a closed controller settles the rest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-close-'));
    const controller = await Controller.start({ stateDir: dir, pools: { local: { launcher: 'local', agents: 1 } }, log: () => {} });
    try {
      const a = await connect({ url: controller.url, token: controller.token });
      const b = await connect({ url: controller.url, token: controller.token });
      const ja = a.map([1], slow);
      const jb = b.map([2], slow);
      await Promise.all([ja.id, jb.id]);
      await a.close();
      expect((await within(rejection(ja), 3000, 'job of the closed session')).code).toBe('CLOSED');
      await controller.close();
      const err = await within(rejection(jb), 5000, 'job of the closed controller');
      expect(err.code).toBe('CLOSED');
      await b.close();
    } finally {
      await controller.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a controller that fails to start leaves no folder and no listener behind', async () => {
    const before = new Set(readdirSync(tmpdir()).filter((f) => f.startsWith('flotilla-')));
    const err = await rejection(connect({ pools: { local: { launcher: 'local', agents: 0 } } }));
    expect(err.code).toBe('BAD_INPUT');
    expect(err.message).toMatch(/pools\.local\.agents must be a positive integer, got 0/);
    const after = readdirSync(tmpdir()).filter((f) => f.startsWith('flotilla-') && !before.has(f));
    expect(after).toEqual([]);
  });

  it('several callers can wait for agents at once', async () => {
    const fl = await connect({ pools: { local: { launcher: 'local', agents: 2 } } });
    try {
      await within(Promise.all([fl.controller!.waitForLanes(1), fl.controller!.waitForLanes(2), fl.controller!.waitForLanes(2)]), 10_000, 'three waits');
    } finally {
      await fl.close();
    }
  });
});
