/**
 * `flotilla controller --config <file>`: pools (SSH included, against the fixtures' real sshd)
 * and controller options from JSON, .mjs or .ts, checked with the schema connect() uses, so a
 * misspelt key fails at start naming it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '../../client/index.js';
import { sshd } from '../fixtures/index.js';
import type { SshFixture } from '../fixtures/index.js';
import { runCli, startCliController } from '../support/cli-controller.js';
import { Reaper } from '../support/reaper.js';

const files = Reaper.afterAll();
const dir = files.tempDir('flotilla-config-');
let fx: SshFixture;
beforeAll(async () => {
  fx = await sshd();
}, 120_000);

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

async function poolsOf(url: string, tokenFile: string): Promise<{ name: string; launcher: string }[]> {
  const r = await runCli(['agents', '--json', '--url', url, '--token-file', tokenFile]);
  expect(r.stderr).toBe('');
  return (JSON.parse(r.stdout) as { pools: { name: string; launcher: string }[] }).pools.map(({ name, launcher }) => ({ name, launcher }));
}

describe('flotilla controller --config', () => {
  it('a config file with a misspelt key fails at start naming it and the nearest valid key', async () => {
    const bad = file('bad.json', JSON.stringify({ pools: { lab: { launcher: 'ssh', hots: ['x'] } } }));
    const r = await runCli(['controller', '--port', '0', '--state-dir', join(dir, 's-bad'), '--config', bad]);
    expect(r.timedOut).toBe(false);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('BAD_INPUT config file bad.json: pools.lab.hots is not an option (did you mean hosts?)');
    const top = file('top.json', JSON.stringify({ prot: 1 }));
    expect((await runCli(['controller', '--state-dir', join(dir, 's-top'), '--config', top])).stderr).toContain('prot is not an option (did you mean port?)');
    const broken = file('broken.json', '{ "pools": ');
    expect((await runCli(['controller', '--state-dir', join(dir, 's-broken'), '--config', broken])).stderr).toMatch(/config file .*broken.json is not valid JSON/);
  });

  it('--agents with a config file that names its pools is an error, not ignored', async () => {
    const cfg = file('pools.json', JSON.stringify({ pools: { mine: { launcher: 'local', agents: 1 } } }));
    const r = await runCli(['controller', '--port', '0', '--state-dir', join(dir, 's-agents'), '--config', cfg, '--agents', '3']);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('--agents set up the default local pool; the config file names its pools, so set them there');
  });

  it('reads pools from an .mjs and from a .ts config file', async () => {
    const mjs = file('flotilla.config.mjs', "export default { pools: { fromMjs: { launcher: 'local', agents: 1, idleTimeout: '5m' } } };\n");
    const reaper = new Reaper();
    const a = await startCliController(reaper, ['--config', mjs]);
    try {
      expect(await poolsOf(a.url, a.tokenFile)).toEqual([{ name: 'fromMjs', launcher: 'local' }]);
    } finally {
      await a.stop();
    }
    const ts = file('flotilla.config.ts', "const agents: number = 1;\nexport default { pools: { fromTs: { launcher: 'local' as const, agents } }, defaultPool: 'fromTs' };\n");
    const b = await startCliController(reaper, ['--config', ts]);
    try {
      expect(await poolsOf(b.url, b.tokenFile)).toEqual([{ name: 'fromTs', launcher: 'local' }]);
    } finally {
      await b.stop();
    }
  });

  it('runs a map on an SSH pool given in a config file, over the real sshd', async () => {
    const cfg = file(
      'ssh.json',
      JSON.stringify({
        pools: {
          local: { launcher: 'local', agents: 1 },
          lab: { launcher: 'ssh', hosts: [fx.hostAlias], agentsPerHost: 1, slots: 1, sshConfig: fx.sshConfig, knownHosts: fx.knownHosts },
        },
      }),
    );
    const ctl = await startCliController(new Reaper(), ['--config', cfg]);
    try {
      expect(ctl.stdout()).toMatch(/local agents dial: \S+/);
      expect(ctl.stdout()).toMatch(/remote agents dial: ws:\/\/127\.0\.0\.1:\d+\/agent/);
      const fl = await connect({ url: ctl.url, tokenFile: ctl.tokenFile, waitForAgents: 2, waitForAgentsTimeoutMs: 60_000 });
      try {
        const out = await fl.map([1, 2, 3], (x) => ({ sq: x * x, uid: process.getuid!() }), { pool: 'lab' });
        expect(out.map((o) => o.sq)).toEqual([1, 4, 9]);
        const uid = Number(readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${fx.user}:`))!.split(':')[2]);
        expect(out.every((o) => o.uid === uid)).toBe(true); // ran as the SSH user, on the pool from the file
      } finally {
        await fl.close();
      }
    } finally {
      await ctl.stop();
    }
  }, 120_000);
});
