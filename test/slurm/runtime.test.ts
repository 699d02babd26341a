/**
 * SLURM pools on a cluster without Node: submitted `via` a login node whose user has no `node`
 * (test/fixtures/nonode-up.sh), the login node gets a runtime once, and the relay there and every
 * job of the array run it (the compute node shares the login node's home folder).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../../client/index.js';
import type { SlurmLauncher } from '../../server/launchers/slurm/launcher.js';
import { selfRuntime } from '../../server/runtime/obtain.js';
import { nonode, remoteProcesses, slurm, slurmQueue } from '../fixtures/index.js';
import type { NoNodeFixture } from '../fixtures/index.js';
import { until } from '../support/async.js';

let fx: NoNodeFixture;
/** Pool names of this test process: the SLURM fixture is shared, and jobs are found by name (flotilla-<pool>). */
const NONODE = `nonode-${process.pid.toString(36)}`, LOCALRT = `localrt-${process.pid.toString(36)}`;
beforeAll(async () => {
  await slurm();
  fx = await nonode({ user: 'nonode2' }); // not nonode: test/ssh/runtime.test.ts clears that home's cache
}, 300_000);

describe('SLURM pools on a cluster without Node', () => {
  it('runs a 16-element array on a runtime uploaded once to the login node; the relay runs it too', async () => {
    // Only this runtime: test/ssh/runtime-npm.test.ts shares the user and uploads another one.
    rmSync(join(fx.home, '.cache', 'flotilla', 'runtime', (await selfRuntime()).sha256), { recursive: true, force: true });
    const fl = await connect({
      pools: {
        [NONODE]: {
          launcher: 'slurm',
          via: fx.hostAlias,
          relayListen: '127.0.0.1:0',
          agents: 16,
          slots: 1,
          resources: { time: '10m', mem: '100M', cpusPerTask: 1 },
          graceMs: 5000,
          ssh: { sshConfig: fx.sshConfig, knownHosts: fx.knownHosts, tunnel: 'always' },
        },
      },
      waitForAgents: 16,
      waitForAgentsTimeoutMs: 240_000,
    });
    try {
      const out = await fl.map(Array.from({ length: 32 }, (_, i) => i), (x) => ({ x, node: process.execPath, job: process.env.SLURM_JOB_ID }), { pool: NONODE });
      expect(out.map((o) => o.x)).toEqual(Array.from({ length: 32 }, (_, i) => i));
      const nodes = new Set(out.map((o) => o.node));
      expect(nodes.size).toBe(1);
      expect([...nodes][0]).toMatch(new RegExp(`^${fx.home}/\\.cache/flotilla/runtime/[0-9a-f]{64}/node$`));
      expect(out.every((o) => o.job)).toBe(true);
      expect((fl.controller!.pools.get(NONODE)!.launcher as SlurmLauncher).runtimeUploads).toBe(1);
      const lanes = (await fl.agents()).lanes.filter((l) => l.pool === NONODE);
      expect(lanes.length).toBe(16);
      expect(lanes.every((l) => l.runtime?.source === 'provided' && `${fx.home}/${l.runtime.path.slice(2)}` === [...nodes][0])).toBe(true);
      // The relay on the login node (no node there) runs the provided runtime as well.
      const relay = (await remoteProcesses(fx.user)).find((p) => p.cmd.includes('--relay'));
      expect(relay?.cmd).toContain('/.cache/flotilla/runtime/');
    } finally {
      await fl.close();
    }
    // Jobs submitted over SSH run in the login user's home: found by user and name.
    await until(async () => (await slurmQueue(fx.user)).filter((j) => j.name === `flotilla-${NONODE}`).length === 0, 30_000);
  }, 300_000);

  it('without via, copies a runtime given by path into this home and every job runs it from there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-rt-'));
    const file = join(dir, 'node');
    copyFileSync(process.execPath, file);
    const sha = (await selfRuntime()).sha256; // the same bytes
    rmSync(join(homedir(), '.cache', 'flotilla', 'runtime', sha), { recursive: true, force: true });
    const fl = await connect({ pools: { [LOCALRT]: { launcher: 'slurm', agents: 2, slots: 1, runtime: file, resources: { time: '10m', mem: '100M' }, graceMs: 5000 } }, waitForAgents: 2, waitForAgentsTimeoutMs: 120_000 });
    try {
      const out = await fl.map([1, 2, 3], () => process.execPath, { pool: LOCALRT });
      expect(new Set(out)).toEqual(new Set([join(homedir(), '.cache', 'flotilla', 'runtime', sha, 'node')]));
      const lanes = (await fl.agents()).lanes.filter((l) => l.pool === LOCALRT);
      expect(lanes.every((l) => l.runtime?.source === 'provided' && l.runtime.origin === file)).toBe(true);
    } finally {
      await fl.close();
      rmSync(dir, { recursive: true, force: true });
    }
    await until(async () => (await slurmQueue('root')).filter((j) => j.name === `flotilla-${LOCALRT}`).length === 0, 30_000);
  }, 300_000);
});
