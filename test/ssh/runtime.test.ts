/**
 * Zero-install agents: SSH pools on a host that has no Node (test/fixtures/nonode-up.sh: user
 * `nonode`, whose sessions find no `node` anywhere) or a too old one (an official Node 18 put on
 * PATH by the pool's `setup`). flotilla probes the host, provides a runtime, uploads it once
 * into ~/.cache/flotilla/runtime/<sha256>/node, and checks it by its hash.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../../client/index.js';
import { openConnection } from '../../server/launchers/ssh/connect.js';
import { loadSshConfig, resolveHost } from '../../server/launchers/ssh/resolve.js';
import { selfRuntime } from '../../server/runtime/obtain.js';
import { ensureRuntime } from '../../server/runtime/upload.js';
import { Controller } from '../../server/controller.js';
import type { SshLauncher } from '../../server/launchers/ssh/launcher.js';
import { nonode, remoteProcesses, sshdSessionPids } from '../fixtures/index.js';
import type { NoNodeFixture } from '../fixtures/index.js';
import { rejection, until } from '../support/async.js';

let fx: NoNodeFixture;
const dirs: string[] = [];
beforeAll(async () => {
  fx = await nonode();
}, 300_000);
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const cache = () => join(fx.home, '.cache', 'flotilla');
const clearCache = () => rmSync(cache(), { recursive: true, force: true });
const runtimes = () => {
  try {
    return readdirSync(join(cache(), 'runtime')).filter((n) => /^[0-9a-f]{64}$/.test(n));
  } catch {
    return [];
  }
};
const agentsLeft = async () => (await remoteProcesses(fx.user)).filter((p) => p.cmd.includes('.cache/flotilla/agent-'));

function pool(extra: Record<string, unknown> = {}) {
  return { launcher: 'ssh' as const, hosts: [fx.hostAlias], agentsPerHost: 2, slots: 1, sshConfig: fx.sshConfig, knownHosts: fx.knownHosts, ...extra };
}

/** Runs a small map on the pool; returns where its agents' node lives, the runtime uploads and the lanes' runtime. */
async function runOnce(extra: Record<string, unknown> = {}, agents = 2) {
  const fl = await connect({ pools: { nn: pool(extra) }, waitForAgents: agents, waitForAgentsTimeoutMs: 120_000 });
  try {
    const out = await fl.map([1, 2, 3, 4], (x) => ({ y: x * 10, node: process.execPath, version: process.version }), { pool: 'nn' });
    const launcher = fl.controller!.pools.get('nn')!.launcher as SshLauncher;
    const lanes = (await fl.agents()).lanes.filter((l) => l.pool === 'nn');
    return { out, uploads: launcher.runtimeUploads, bytes: launcher.runtimeBytes, lanes, sha: lanes[0]?.runtime?.sha256 };
  } finally {
    await fl.close();
  }
}

describe('SSH pools on a host without Node', { timeout: 180_000 }, () => {
  it('the fixture host really has no node on its PATH', async () => {
    const r = await execa('ssh', ['-F', fx.sshConfig, fx.hostAlias, 'command -v node || command -v nodejs; echo "PATH=$PATH"'], { reject: false });
    expect(r.stdout).toMatch(/^PATH=/); // nothing printed before: neither was found
    expect(r.stdout).not.toMatch(/node/);
  });

  it('runs a job with a provided runtime uploaded once, shared by racing connections; a second connect uploads nothing', async () => {
    clearCache();
    // 9 agents: two connections to the host (8 sessions each at most) race to upload; the host's lock makes it one.
    const cold = await runOnce({ agentsPerHost: 9 }, 9);
    expect(cold.out.map((o) => o.y)).toEqual([10, 20, 30, 40]);
    const [sha] = runtimes();
    expect(runtimes()).toHaveLength(1);
    expect(cold.out.every((o) => o.node === join(cache(), 'runtime', sha!, 'node'))).toBe(true);
    expect(cold.out[0]!.version).toBe(process.version); // the controller's own node, as the platforms match
    expect(cold.uploads).toBe(1);
    expect(cold.bytes).toBeGreaterThan(0);
    expect(cold.bytes).toBeLessThan(statSync(process.execPath).size); // compressed on the wire
    expect(cold.lanes.length).toBe(9);
    expect(cold.lanes.every((l) => l.runtime?.source === 'provided' && l.runtime.sha256 === sha && l.runtime.version === process.version)).toBe(true);
    const warm = await runOnce();
    expect(warm.uploads).toBe(0);
    expect(warm.out.every((o) => o.node === join(cache(), 'runtime', sha!, 'node'))).toBe(true);
    await until(async () => (await agentsLeft()).length === 0, 10_000);
  });

  it('runs detached agents (which outlive the session) on the provided runtime too', async () => {
    const run = await runOnce({ detached: true });
    expect(run.out.map((o) => o.y)).toEqual([10, 20, 30, 40]);
    expect(run.out.every((o) => o.node === join(cache(), 'runtime', run.sha!, 'node'))).toBe(true);
    await until(async () => (await agentsLeft()).length === 0, 15_000); // close() still stops them
  });

  it('an upload cut off mid-way leaves no lock and no partial file: the next connection uploads at once', async () => {
    clearCache();
    const rt = await selfRuntime();
    const h = resolveHost(fx.hostAlias, loadSshConfig(fx.sshConfig), { knownHosts: fx.knownHosts });
    const dir = join(cache(), 'runtime', rt.sha256);
    const first = await openConnection(h, {});
    first.on('error', () => {});
    const cut = ensureRuntime(first, fx.hostAlias, rt).then(() => 'finished', (e: Error) => e.message);
    await until(async () => existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.tmp')), 30_000);
    for (const pid of await sshdSessionPids(fx)) process.kill(pid, 'SIGKILL'); // the connection drops mid-transfer
    expect(await cut).toMatch(/nonode: /);
    await until(async () => !existsSync(`${dir}.lock`), 10_000);
    const second = await openConnection(h, {});
    try {
      const r = await ensureRuntime(second, fx.hostAlias, rt);
      expect(r).toMatchObject({ uploaded: true, version: process.version });
      expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    } finally {
      second.end();
    }
  });

  it('detects a damaged runtime on the host by its hash and replaces it', async () => {
    const { sha } = await runOnce();
    const file = join(cache(), 'runtime', sha!, 'node');
    const size = statSync(file).size;
    truncateSync(file, Math.floor(size / 2));
    const again = await runOnce();
    expect(again.uploads).toBe(1);
    expect(statSync(file).size).toBe(size);
    expect(again.out.map((o) => o.y)).toEqual([10, 20, 30, 40]);
  });
});

describe('SSH pools on a firewalled node without Node', { timeout: 180_000 }, () => {
  it('uploads the runtime once over the connection whose tunnel its agents dial back through', async () => {
    const fw = await nonode({ fw: true });
    const probe = await execa('ssh', ['-F', fw.sshConfig, fw.hostAlias, 'command -v node || command -v nodejs; hostname -I; echo "PATH=$PATH"'], { reject: false });
    expect(probe.stdout).not.toMatch(/node/);
    expect(probe.stdout).toContain('10.200.0.2'); // really inside the namespace
    clearCache(); // the same user and home as the loopback host
    const once = async () => {
      const fl = await connect({ pools: { fw: { launcher: 'ssh', hosts: [fw.hostAlias], agentsPerHost: 2, slots: 1, sshConfig: fw.sshConfig, knownHosts: fw.knownHosts, tunnel: 'auto' } }, waitForAgents: 2, waitForAgentsTimeoutMs: 120_000 });
      try {
        const out = await fl.map(['a', 'b', 'c'], (s) => `${s.toUpperCase()} ${process.execPath}`, { pool: 'fw' });
        const status = (await fl.agents()).pools.find((p) => p.name === 'fw')!;
        expect(status.hosts).toMatchObject([{ host: fw.hostAlias, via: 'tunnel', runtime: { source: 'provided' } }]);
        return { out, uploads: (fl.controller!.pools.get('fw')!.launcher as SshLauncher).runtimeUploads };
      } finally {
        await fl.close();
      }
    };
    const cold = await once();
    expect(cold.out.map((o) => o.split(' ')[0])).toEqual(['A', 'B', 'C']);
    expect(cold.out.every((o) => /\/\.cache\/flotilla\/runtime\/[0-9a-f]{64}\/node$/.test(o))).toBe(true);
    expect(cold.uploads).toBe(1);
    expect((await once()).uploads).toBe(0);
  });
});

describe('SSH pools on a host whose Node is too old', { timeout: 180_000 }, () => {
  const setup = () => `export PATH=${fx.node18}/bin:$PATH`;

  it("runtime 'auto' provides a Node, since the host's is 18", async () => {
    const r = await execa('ssh', ['-F', fx.sshConfig, fx.hostAlias, `${setup()} && node -v`]);
    expect(r.stdout).toMatch(/^v18\./);
    const run = await runOnce({ setup: setup() });
    expect(run.out.every((o) => o.version === process.version && o.node.includes('/.cache/flotilla/runtime/'))).toBe(true);
    expect(run.lanes.every((l) => l.runtime?.source === 'provided')).toBe(true);
  });

  it("runtime 'host' refuses, naming the host and both versions", async () => {
    const err = await rejection(connect({ pools: { nn: pool({ setup: setup(), runtime: 'host', agentsPerHost: 1 }) }, waitForAgents: 1 }));
    expect(err.message).toMatch(/nonode: node v18\.\d+\.\d+ \(.*node18\/bin\/node\) is too old: flotilla agents need Node >= 20/);
    expect(err.message).toContain(`this controller runs ${process.version}`);
    expect(err.message).toContain("runtime: 'auto'");
  });
});

describe('SSH pools with a runtime given by path', { timeout: 180_000 }, () => {
  it('uses a node binary given by path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-rt-'));
    dirs.push(dir);
    const file = join(dir, 'node');
    copyFileSync(process.execPath, file);
    clearCache();
    const run = await runOnce({ runtime: file });
    expect(run.uploads).toBe(1);
    expect(run.out.every((o) => o.version === process.version && o.node.includes('/.cache/flotilla/runtime/'))).toBe(true);
    expect(run.lanes[0]!.runtime).toMatchObject({ source: 'provided', origin: file, version: process.version });
  });

  it.each(['tar.gz', 'tar.xz'])('uses an official tarball (.%s) given by path', async (ext) => {
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-rt-'));
    dirs.push(dir);
    const top = `node-${process.version}-linux-${process.arch}`;
    mkdirSync(join(dir, top, 'bin'), { recursive: true });
    copyFileSync(process.execPath, join(dir, top, 'bin', 'node'));
    const tarball = join(dir, `${top}.${ext}`);
    // The fastest presets: the test is about the layout, not the ratio.
    await execa('tar', ['-C', dir, ext === 'tar.gz' ? '-czf' : '-cJf', tarball, top], { env: { GZIP: '-1', XZ_OPT: '-0 -T0' } });
    rmSync(join(dir, top), { recursive: true });
    clearCache();
    const run = await runOnce({ runtime: tarball });
    expect(run.uploads).toBe(1);
    expect(run.out.every((o) => o.version === process.version)).toBe(true);
    expect(run.lanes[0]!.runtime).toMatchObject({ source: 'provided', origin: tarball, version: process.version });
  });

  it('refuses a runtime path that does not exist, naming it', async () => {
    const err = await rejection(connect({ pools: { nn: pool({ runtime: '/no/such/node-v22.1.0-linux-x64.tar.xz', agentsPerHost: 1 }) }, waitForAgents: 1 }));
    expect(err.message).toContain('runtime /no/such/node-v22.1.0-linux-x64.tar.xz does not exist');
  });
});

describe('cleaning a host\'s cache', { timeout: 180_000 }, () => {
  it('removes the bundles and runtimes no agent uses, keeps those in use (also by a process of another controller), from the API and the CLI', async () => {
    const { sha } = await runOnce(); // the current bundle and runtime are there
    const uid = statSync(fx.home).uid;
    const put = (rel: string, bytes: Buffer | string) => {
      const file = join(cache(), rel);
      mkdirSync(join(file, '..'), { recursive: true });
      writeFileSync(file, bytes, { mode: 0o755 });
      chownSync(file, uid, uid);
      chownSync(join(file, '..'), uid, uid);
    };
    const old = '0'.repeat(64);
    const busy = '1'.repeat(64);
    const killBusy = async () => {
      for (const p of await remoteProcesses(fx.user)) if (p.cmd.includes(`runtime/${busy}/node`)) process.kill(p.pid, 'SIGKILL');
    };
    await killBusy(); // left by an earlier run
    rmSync(join(cache(), 'runtime', busy), { recursive: true, force: true });
    put(`runtime/${old}/node`, 'an old runtime');
    put('agent-0123456789abcdef.mjs', 'an old bundle');
    // A runtime another controller's agent still runs: a process on the host names it.
    put(`runtime/${busy}/node`, '');
    copyFileSync(join(cache(), 'runtime', sha!, 'node'), join(cache(), 'runtime', busy, 'node'));
    const sleeper = execa('ssh', ['-F', fx.sshConfig, fx.hostAlias, `exec "$HOME/.cache/flotilla/runtime/${busy}/node" -e "setTimeout(() => {}, 60000)"`], { reject: false });
    await until(async () => (await remoteProcesses(fx.user)).some((p) => p.cmd.includes(`runtime/${busy}/node`)), 10_000);

    const fl = await connect({ pools: { nn: pool({ agentsPerHost: 1 }) }, waitForAgents: 1 });
    try {
      const r = await fl.pruneCache({ host: fx.hostAlias });
      const removed = r.removed.map((x) => x.path);
      expect(removed).toEqual(expect.arrayContaining(['.cache/flotilla/agent-0123456789abcdef.mjs', `.cache/flotilla/runtime/${old}`]));
      expect(removed).not.toContain(`.cache/flotilla/runtime/${sha}`);
      expect(removed).not.toContain(`.cache/flotilla/runtime/${busy}`);
      expect(r.kept).toEqual(expect.arrayContaining([`.cache/flotilla/runtime/${sha}`, `.cache/flotilla/runtime/${busy}`]));
      expect(r.kept.some((k) => /agent-[0-9a-f]{16}\.mjs$/.test(k))).toBe(true);
      expect(existsSync(join(cache(), 'runtime', sha!, 'node'))).toBe(true);
      expect(await fl.map([5], (x) => x + 1, { pool: 'nn' })).toEqual([6]); // its agents go on
      const unknown = await rejection(fl.pruneCache({ host: 'nowhere' }));
      expect(unknown.code).toBe('NOT_FOUND');
      expect(unknown.message).toContain('no SSH or SLURM pool of this controller reaches host "nowhere" (its SSH hosts: nonode)');
    } finally {
      await fl.close();
      await killBusy(); // the remote process, not only our ssh client
      sleeper.kill();
      await sleeper;
    }

    // The CLI, against a controller that holds the pool but has no agent running: only the bundle stays.
    const state = mkdtempSync(join(tmpdir(), 'flotilla-prune-'));
    dirs.push(state);
    const controller = await Controller.start({ stateDir: state, log: () => {}, pools: { nn: pool({ min: 0, max: 1 }) } });
    try {
      const cli = join(import.meta.dirname, '../../dist/server/cli.js');
      const out = await execa(process.execPath, [cli, 'cache', 'prune', '--host', fx.hostAlias, '--url', controller.url, '--token-file', controller.tokenFile!, '--json']);
      const r = JSON.parse(out.stdout) as { removed: { path: string }[]; kept: string[] };
      expect(r.removed.map((x) => x.path)).toEqual(expect.arrayContaining([`.cache/flotilla/runtime/${sha}`, `.cache/flotilla/runtime/${busy}`]));
      expect(r.kept.some((k) => /agent-[0-9a-f]{16}\.mjs$/.test(k))).toBe(true);
      expect(runtimes()).not.toContain(sha);
    } finally {
      await controller.close();
    }
  });
});
