/**
 * Module functions through a real SSH pool (the loopback OpenSSH server of test/fixtures):
 * agents run as the fixture's user, with their own artifact cache in that user's home.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, moduleOf } from '../../client/index.js';
import { sshd } from '../fixtures/index.js';
import type { SshFixture } from '../fixtures/index.js';

const work = moduleOf<typeof import('./fixtures/work.js')>(new URL('./fixtures/work.ts', import.meta.url));
const HELPER = fileURLToPath(new URL('./fixtures/helper.ts', import.meta.url));

let fx: SshFixture;
let artifacts: string;
beforeAll(async () => {
  fx = await sshd();
  const home = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${fx.user}:`))!.split(':')[5]!;
  artifacts = join(home, '.cache', 'flotilla', 'artifacts');
  // Only the artifact cache: the agent bundle cached beside it is other tests' business.
  rmSync(artifacts, { recursive: true, force: true });
}, 120_000);
afterAll(() => rmSync(artifacts, { recursive: true, force: true }));

const lab = () => ({ lab: { launcher: 'ssh' as const, hosts: [fx.hostAlias], agentsPerHost: 2, slots: 1, sshConfig: fx.sshConfig, knownHosts: fx.knownHosts } });

describe('module functions over SSH', () => {
  it('runs a module task on SSH agents: the artifact goes once per agent, then the host is warm', async () => {
    const fl = await connect({ pools: lab(), waitForAgents: 2 });
    try {
      const out = await fl.map(Array.from({ length: 8 }, (_, i) => ({ x: i })), work.fit, { pool: 'lab' });
      expect(out.map((o) => o.y)).toEqual([0, 1, 4, 9, 16, 25, 36, 49]);
      const ran = new Set(out.map((o) => o.pid)).size;
      expect(fl.controller!.artifactTransfers.total).toBe(ran); // each agent that ran a task, once
      expect(readdirSync(artifacts).filter((f) => f.endsWith('.mjs'))).toHaveLength(1);

      const [o] = await fl.map([{ x: 1 }], work.boom, { pool: 'lab' }).outcomes();
      expect(o!.ok).toBe(false);
      if (!o!.ok) expect(o!.error.stack).toContain(`${HELPER}:8:`);
    } finally {
      await fl.close();
    }

    const warm = await connect({ pools: lab(), waitForAgents: 2 });
    try {
      expect(await warm.map([{ x: 3 }], work.fit, { pool: 'lab' })).toEqual([{ y: 9, pid: expect.any(Number) }]);
      expect(warm.controller!.artifactTransfers.total).toBe(0);
    } finally {
      await warm.close();
    }
  }, 120_000);
});
