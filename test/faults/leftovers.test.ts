/**
 * No agent process is left behind, however its session ends: closed with agents busy, stuck,
 * frozen or idle in several pools; its standalone controller SIGKILLed; the app failing mid-job
 * (uncaught exception, top-level rejection, process.exit, Ctrl-C, a failed vitest test).
 * Each agent carries a tag in its environment, so the checks also catch agents a test never
 * saw (relaunched, half-started). test/lifecycle/orphans.test.ts covers the app SIGKILLed and
 * an agent from a credentials file outliving its controller; these cover the rest.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect } from '../../client/index.js';
import { isGone, Reaper, ROOT, startProcess, tempDir, waitGone, within } from '../lifecycle/helpers.js';
import { rejection, until } from '../support/async.js';
import { newTag, TAG_VAR, waitNoneTagged } from '../support/procs.js';
import { trackAgents } from './helpers.js';
import { scaled } from '../support/timing.js';

const FIXTURES = join(ROOT, 'test', 'faults', 'fixtures');

/** Starts a fixture of this folder as its own node process, its agents tagged with `tag`. */
function startFixture(reaper: Reaper, tag: string, name: string, args: string[] = []) {
  return startProcess(reaper, process.execPath, ['--import', 'tsx', join(FIXTURES, name), ...args], { ...process.env, [TAG_VAR]: tag });
}

describe('no agent process left behind', () => {
  it('close() of an embedded session with several pools ends every agent: busy, stuck in sync code, frozen, idle', async () => {
    const reaper = new Reaper();
    const tag = newTag();
    const env = { [TAG_VAR]: tag };
    const fl = await connect({
      pools: {
        spin: { launcher: 'local', agents: 2, slots: 2, env },
        slow: { launcher: 'local', agents: 2, env },
        idle: { launcher: 'local', agents: 1, env },
      },
      waitForAgents: 7,
    });
    reaper.add(() => fl.close());
    const trackers = [...fl.controller!.pools.values()].map((p) => trackAgents(p, reaper));

    const stuck = fl.map([0, 1, 2, 3], () => {
      for (;;);
    }, { pool: 'spin' });
    const slow = fl.map([0, 1], (x: number) => new Promise((r) => setTimeout(() => r(x), 60_000)), { pool: 'slow' });
    const ids = await Promise.all([stuck.id, slow.id]);
    await until(async () => {
      const [a, b] = await Promise.all(ids.map((id) => fl.status(id)));
      return a!.running === 4 && b!.running === 2;
    });
    // A frozen agent ignores SIGTERM until it is resumed: only the forced kill ends it.
    const frozen = (await fl.agents()).lanes.find((l) => l.pool === 'slow')!.pid;
    process.kill(frozen, 'SIGSTOP');

    const pids = (await Promise.all(trackers.map((t) => t.pids()))).flat();
    expect(pids).toHaveLength(5);
    expect(pids.every((p) => !isGone(p))).toBe(true);
    const t0 = Date.now();
    await within(fl.close(), 10_000, 'close()');
    const closeMs = Date.now() - t0;
    // close() waits for its agents to exit: none may still run once it has returned.
    await waitGone(pids, 200, 'agents once close() returned');
    await waitNoneTagged(tag, 200, 'tagged agents once close() returned');
    expect(closeMs).toBeLessThan(2_000 + scaled(3_000)); // 2 s of grace for the frozen one, then SIGKILL
    expect((await rejection(stuck)).code).toBe('CLOSED');
    expect((await rejection(slow)).code).toBe('CLOSED');
  });

  describe('a standalone controller killed with SIGKILL: its local agents follow it', () => {
    for (const state of ['idle', 'busy'] as const) {
      it(`${state} agents exit within their grace period`, async () => {
        const reaper = new Reaper();
        const tag = newTag();
        const graceMs = 3_000;
        const controller = startFixture(reaper, tag, 'controller-with-agents.ts', [join(tempDir(reaper), 'state'), '2', String(graceMs), state]);
        const { agents } = await within(controller.nextJson<{ pid: number; agents: number[] }>(), 20_000, () => `controller with two ${state} agents; stderr:\n${controller.stderr()}`);
        expect(agents).toHaveLength(2);
        agents.forEach((p) => reaper.pid(p));

        controller.child.kill('SIGKILL');
        const killedAt = (await within(controller.exited, 5_000, 'controller killed')).at;
        await waitGone(agents, graceMs, `${state} agents of the killed controller`);
        const afterMs = Date.now() - killedAt;
        await waitNoneTagged(tag, 1_000, 'tagged processes of the killed controller');
        // Their lifeline (stdin) closed with the controller: they did not wait out the grace period.
        expect(afterMs).toBeLessThan(graceMs);
      });
    }
  });

  describe('an app that fails mid-job without closing its session', () => {
    const how = {
      throw: 'an uncaught exception',
      reject: 'a top-level rejection',
      exit: 'process.exit(1)',
      SIGINT: 'Ctrl-C (SIGINT)',
    } as const;
    for (const [mode, what] of Object.entries(how)) {
      it(`leaves no agent after ${what}`, async () => {
        const reaper = new Reaper();
        const tag = newTag();
        const app = startFixture(reaper, tag, 'dies-mid-job.ts', [mode === 'SIGINT' ? 'wait' : mode]);
        const { agents } = await within(app.nextJson<{ pid: number; agents: number[] }>(), 20_000, () => `app with busy agents; stderr:\n${app.stderr()}`);
        expect(agents).toHaveLength(3);
        agents.forEach((p) => reaper.pid(p));
        if (mode === 'SIGINT') app.child.kill('SIGINT');

        const ended = await within(app.exited, 5_000, `app after ${what}`);
        if (mode === 'SIGINT') expect(ended.signal).toBe('SIGINT');
        else expect(ended.code).toBe(1);
        if (mode === 'throw' || mode === 'reject') expect(app.stderr()).toContain('boom');
        await waitGone(agents, 3_000, `agents after ${what}`);
        await waitNoneTagged(tag, 1_000, `tagged processes after ${what}`);
      });
    }

    it('leaves no agent after a vitest test fails mid-job', async () => {
      const reaper = new Reaper();
      const tag = newTag();
      const out = join(tempDir(reaper), 'fixture.json');
      // A vitest of its own, not a worker of this one: strip what tells vitest it is inside one.
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'NODE_OPTIONS'));
      const vitest = startProcess(reaper, process.execPath, [join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--config', join(FIXTURES, 'vitest.fixture.config.ts')], {
        ...env,
        [TAG_VAR]: tag,
        FLOTILLA_FIXTURE_OUT: out,
      });
      const ended = await within(vitest.exited, 40_000, () => `vitest with a failing test; stderr:\n${vitest.stderr()}`);
      expect(ended.code, vitest.stderr()).toBe(1); // the test failed, as it should
      const { agents } = JSON.parse(readFileSync(out, 'utf8')) as { pid: number; agents: number[] };
      expect(agents).toHaveLength(2);
      agents.forEach((p) => reaper.pid(p));
      await waitGone(agents, 3_000, 'agents of the failed test');
      await waitNoneTagged(tag, 1_000, 'tagged processes of the failed vitest run');
    });
  });
});
