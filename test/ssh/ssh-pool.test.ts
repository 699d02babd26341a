/**
 * SSH pools against a real OpenSSH server on loopback and a firewalled node in a network
 * namespace (test/fixtures). Agents run as the fixtures' user `hpcuser`, so its process list is
 * the remote side's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../../client/index.js';
import { Controller } from '../../server/controller.js';
import type { SshLauncher } from '../../server/launchers/ssh/launcher.js';
import { netns, remoteProcesses, sshd } from '../fixtures/index.js';
import type { NetnsFixture, SshFixture } from '../fixtures/index.js';
import { rejection, until, within } from '../support/async.js';

let fx: SshFixture;
let ns: NetnsFixture;
const dirs: string[] = [];
beforeAll(async () => {
  fx = await sshd();
  ns = await netns();
}, 120_000);
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/**
 * SSH agents still running as the remote user. SLURM tests run agents (and relays) as the same
 * user at the same time: those carry SLURM_JOB_ID or --relay and are not ours.
 */
const remoteAgents = async () =>
  (await remoteProcesses(fx.user)).filter((p) => {
    if (!p.cmd.includes('.cache/flotilla/agent-') || p.cmd.includes('--relay')) return false;
    try {
      return !readFileSync(`/proc/${p.pid}/environ`, 'utf8').includes('SLURM_JOB_ID=');
    } catch {
      return false; // gone meanwhile
    }
  });

function lab(extra: Record<string, unknown> = {}) {
  return { launcher: 'ssh' as const, hosts: [fx.hostAlias], agentsPerHost: 2, slots: 1, sshConfig: fx.sshConfig, knownHosts: fx.knownHosts, ...extra };
}

describe('SSH pools', () => {
  it('runs a job on agents started over the loopback sshd, and leaves no process there after close', async () => {
    const fl = await connect({ pools: { lab: lab() }, waitForAgents: 2 });
    try {
      const out = await fl.map([1, 2, 3, 4, 5, 6], (x) => ({ x: x * x, uid: process.getuid!() }), { pool: 'lab' });
      expect(out.map((o) => o.x)).toEqual([1, 4, 9, 16, 25, 36]);
      const uid = Number(readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${fx.user}:`))!.split(':')[2]);
      expect(out.every((o) => o.uid === uid)).toBe(true); // ran as the remote user, not as us
      expect((await remoteAgents()).length).toBe(2);
    } finally {
      await fl.close();
    }
    await until(async () => (await remoteAgents()).length === 0, 10_000);
  });

  it('uploads the agent once per host and reuses the cached copy', async () => {
    const home = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${fx.user}:`))!.split(':')[5]!;
    rmSync(join(home, '.cache', 'flotilla'), { recursive: true, force: true });
    const uploads = async () => {
      const fl = await connect({ pools: { lab: lab() }, waitForAgents: 2 });
      try {
        return (fl.controller!.pools.get('lab')!.launcher as SshLauncher).uploads;
      } finally {
        await fl.close();
      }
    };
    expect(await uploads()).toBe(1); // cold: one upload serves both agents of the host
    expect(await uploads()).toBe(0); // warm: the cached copy, found by its content hash
  });

  it('reaches a firewalled node only through the reverse tunnel, and the direct path is blocked', async () => {
    const state = mkdtempSync(join(tmpdir(), 'flotilla-ssh-'));
    dirs.push(state);
    // The controller listens where the node could reach it, were it not for the firewall.
    const controller = await Controller.start({
      host: ns.hostIp,
      tls: 'self-signed', // clients beyond loopback only over TLS; agents dial the same port in the clear
      stateDir: state,
      log: () => {},
      pools: { fw: { launcher: 'ssh', hosts: [ns.hostAlias], slots: 1, sshConfig: ns.sshConfig, knownHosts: ns.knownHosts, tunnel: 'auto' } },
    });
    try {
      const port = new URL(controller.agentUrl).port;
      const direct = await ns.run(['node', '-e', `require('net').connect(${port}, '${ns.hostIp}').on('connect', () => process.exit(0)).on('error', (e) => { console.error(e.code); process.exit(3); })`], { timeoutMs: 5_000 });
      expect(direct.exitCode).toBe(3); // refused by the node's firewall
      await controller.waitForLanes(1, { pool: 'fw', timeoutMs: 30_000 });
      const status = controller.agents().pools.find((p) => p.name === 'fw')!;
      expect(status.hosts).toMatchObject([{ host: ns.hostAlias, via: 'tunnel' }]);
      const fl = await connect({ url: controller.url, token: controller.token, fingerprint: controller.fingerprint });
      try {
        // The pool's only agent is on the node: these results came back through the tunnel.
        expect(await fl.map(['a', 'b', 'c'], (s) => s.toUpperCase(), { pool: 'fw' })).toEqual(['A', 'B', 'C']);
      } finally {
        await fl.close();
      }
    } finally {
      await controller.close();
    }
  });

  it('finishes a job with every result once when the SSH connection is killed mid-job', async () => {
    const fl = await connect({ pools: { lab: lab() }, waitForAgents: 2 });
    try {
      const n = 40;
      const job = fl.map(Array.from({ length: n }, (_, i) => i), async (x) => {
        await new Promise((r) => setTimeout(r, 60));
        return x * 2;
      }, { pool: 'lab', retries: 5 });
      const seen = new Map<number, number>();
      let killed = false;
      for await (const r of job) {
        expect(r.ok).toBe(true);
        seen.set(r.index, (seen.get(r.index) ?? 0) + 1);
        if (!killed && seen.size >= 6) {
          killed = true;
          // The sshd process serving this connection is the parent of the agents it started.
          const agentPid = (await fl.agents()).lanes.find((l) => l.pool === 'lab')!.pid;
          const sessionPid = Number(readFileSync(`/proc/${agentPid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
          expect(readFileSync(`/proc/${sessionPid}/cmdline`, 'utf8')).toMatch(/^sshd/);
          process.kill(sessionPid, 'SIGKILL');
        }
      }
      expect(killed).toBe(true);
      expect(seen.size).toBe(n);
      expect([...seen.values()].every((c) => c === 1)).toBe(true);
      expect(await job).toEqual(Array.from({ length: n }, (_, i) => i * 2));
    } finally {
      await fl.close();
    }
    await until(async () => (await remoteAgents()).length === 0, 10_000);
  });
});

describe('SSH pools: many agents on a host', () => {
  it('spreads a host\'s agents over connections of at most 8 sessions (sshd\'s MaxSessions is 10 by default)', async () => {
    const fl = await connect({ pools: { lab: lab({ agentsPerHost: 10 }) }, waitForAgents: 10 });
    try {
      const hosts = (await fl.agents()).pools.find((p) => p.name === 'lab')!.hosts as { host: string; running: number; connected: boolean }[];
      expect(hosts.map((h) => h.running).sort()).toEqual([5, 5]);
      expect(hosts.every((h) => h.connected && h.host === fx.hostAlias)).toBe(true);
      expect(await fl.map(Array.from({ length: 20 }, (_, i) => i), (x) => x * 2, { pool: 'lab' })).toEqual(Array.from({ length: 20 }, (_, i) => i * 2));
      expect(fl.controller!.logs.read().some((l) => /pid \d+: 1 slot\(s\), dialing/.test(l.line))).toBe(true); // agents' stderr reaches the controller
    } finally {
      await fl.close();
    }
    await until(async () => (await remoteAgents()).length === 0, 10_000);
  });
});

describe('SSH pools: clear errors', () => {
  it('refuses an unknown host key, naming the host and its fingerprint', async () => {
    const empty = join(mkdtempSync(join(tmpdir(), 'flotilla-kh-')), 'known_hosts');
    dirs.push(join(empty, '..'));
    writeFileSync(empty, '');
    const err = await rejection(connect({ pools: { lab: lab({ knownHosts: empty, agentsPerHost: 1 }) }, waitForAgents: 1 }));
    expect(err.code).toBe('LAUNCH_FAILED');
    expect(err.message).toContain(`unknown host key for [127.0.0.1]:2222 (${fx.hostKeyFingerprint})`);
  });

  it('refuses a changed host key', async () => {
    const other = join(mkdtempSync(join(tmpdir(), 'flotilla-kh-')), 'known_hosts');
    dirs.push(join(other, '..'));
    writeFileSync(other, '[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOyGDiAn0bQMPQ9M1bXl8oRyh6Nd7dLe3T/l4t9G3bDH\n');
    const err = await rejection(connect({ pools: { lab: lab({ knownHosts: other, agentsPerHost: 1 }) }, waitForAgents: 1 }));
    expect(err.message).toContain(`HOST KEY CHANGED for [127.0.0.1]:2222: it offered ${fx.hostKeyFingerprint}`);
  });

  it('names the user a host refused', async () => {
    const err = await rejection(connect({ pools: { lab: lab({ hosts: ['nobody-here@127.0.0.1:2222'], identityFile: fx.identityFile, agentsPerHost: 1 }) }, waitForAgents: 1 }));
    expect(err.message).toMatch(/nobody-here@127\.0\.0\.1:2222 refused user nobody-here/);
  });

  it("runs agents after the pool's setup, in the same shell (exec applies to node, not to the setup)", async () => {
    const fl = await connect({ pools: { lab: lab({ setup: 'export FLOTILLA_SETUP_SEEN=yes', agentsPerHost: 1 }) }, waitForAgents: 1 });
    try {
      expect(await fl.map([1], () => process.env.FLOTILLA_SETUP_SEEN, { pool: 'lab' })).toEqual(['yes']);
    } finally {
      await fl.close();
    }
  });

  it("says when node is missing on the remote and the pool's runtime is 'host'", async () => {
    const err = await rejection(connect({ pools: { lab: lab({ node: '/opt/no-such-node/bin/node', runtime: 'host', agentsPerHost: 1 }) }, waitForAgents: 1 }));
    expect(err.message).toMatch(/testssh: node not found \(looked for `\/opt\/no-such-node\/bin\/node`\)/);
  });

  it('keeps using the hosts that work when one refuses', async () => {
    const fl = await connect({ pools: { lab: lab({ hosts: [fx.hostAlias, 'nobody-here@127.0.0.1:2222'], identityFile: fx.identityFile, agentsPerHost: 1 }) } });
    try {
      expect(await within(Promise.resolve(fl.map([1, 2, 3], (x) => x + 1, { pool: 'lab' })), 20_000, 'map on the working host')).toEqual([2, 3, 4]);
      const hosts = (await fl.agents()).pools.find((p) => p.name === 'lab')!.hosts as { host: string; failure?: string }[];
      expect(hosts.find((h) => h.host.startsWith('nobody-here'))?.failure).toMatch(/refused user nobody-here/);
    } finally {
      await fl.close();
    }
  });
});


describe('SSH pools: the ways in', () => {
  it('reaches a host behind a bastion (ProxyJump), with its agents tunnelled back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-jump-'));
    dirs.push(dir);
    const known = join(dir, 'known_hosts');
    writeFileSync(known, readFileSync(fx.knownHosts, 'utf8') + readFileSync(ns.knownHosts, 'utf8'));
    const config = join(dir, 'ssh_config');
    writeFileSync(
      config,
      [
        'Host bastion',
        `  HostName ${fx.host}`,
        `  Port ${fx.port}`,
        `  User ${fx.user}`,
        `  IdentityFile ${fx.identityFile}`,
        'Host inner',
        `  HostName ${ns.nodeIp}`,
        `  User ${ns.user}`,
        `  IdentityFile ${ns.identityFile}`,
        '  ProxyJump bastion',
        '',
      ].join('\n'),
    );
    const fl = await connect({ pools: { far: { launcher: 'ssh', hosts: ['inner'], slots: 1, sshConfig: config, knownHosts: known } }, waitForAgents: 1 });
    try {
      expect(await fl.map([20, 22], (x) => x + 1, { pool: 'far' })).toEqual([21, 23]);
      expect((await fl.agents()).pools.find((p) => p.name === 'far')!.hosts).toMatchObject([{ host: 'inner', via: 'tunnel' }]);
    } finally {
      await fl.close();
    }
  });

  it('says how to give the passphrase of an encrypted key, and uses it when given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-key-'));
    dirs.push(dir);
    const key = join(dir, 'id_locked');
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'open sesame', '-C', 'flotilla-locked-key', '-f', key]);
    const pub = readFileSync(`${key}.pub`, 'utf8').trim();
    const home = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${fx.user}:`))!.split(':')[5]!;
    const authorized = join(home, '.ssh', 'authorized_keys');
    const before = readFileSync(authorized, 'utf8');
    writeFileSync(authorized, before + pub + '\n');
    try {
      const hosts = [`${fx.user}@${fx.host}:${fx.port}`];
      const locked = await rejection(connect({ pools: { lab: { launcher: 'ssh', hosts, identityFile: key, knownHosts: fx.knownHosts, sshConfig: join(dir, 'none') } }, waitForAgents: 1 }));
      expect(locked.message).toContain(`identity file ${key} is encrypted: give its passphrase as the pool's \`passphrase\` option or FLOTILLA_SSH_PASSPHRASE, or load it into ssh-agent`);
      const fl = await connect({ pools: { lab: { launcher: 'ssh', hosts, identityFile: key, passphrase: 'open sesame', knownHosts: fx.knownHosts, sshConfig: join(dir, 'none'), slots: 1 } }, waitForAgents: 1 });
      try {
        expect(await fl.map([1], (x) => x * 5, { pool: 'lab' })).toEqual([5]);
      } finally {
        await fl.close();
      }
    } finally {
      writeFileSync(authorized, before);
    }
  });
});

describe('SSH pools: the relay on a login node', () => {
  it('lets a compute node that reaches only the login node connect through relay and tunnel', async () => {
    // The host plays the login node (its loopback sshd) and the laptop (the controller, on
    // 127.0.0.1: the namespace cannot reach it). The namespace is the compute node: its firewall
    // lets it dial only the login node's relay ports on 10.200.0.1.
    const fl = await connect({ pools: { lab: lab({ agentsPerHost: 1, tunnel: 'always' }) }, waitForAgents: 1 });
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-relay-'));
    dirs.push(dir);
    let compute: ReturnType<typeof execa> | undefined;
    try {
      const launcher = fl.controller!.pools.get('lab')!.launcher as SshLauncher;
      const relay = await launcher.startRelay(fx.hostAlias, `${ns.hostIp}:7811`);
      expect(relay.url).toBe(`ws://${ns.hostIp}:7811/agent`);
      const direct = await ns.run(['node', '-e', `require('net').connect(${new URL(fl.controller!.agentUrl).port}, '${ns.hostIp}').on('connect', () => process.exit(0)).on('error', () => process.exit(3))`], { timeoutMs: 5_000 });
      expect(direct.exitCode).toBe(3); // no direct path from the compute node to the controller
      const creds = fl.controller!.registry.issue('lab', relay.url, { slots: 1 });
      const file = join(dir, 'creds.json');
      writeFileSync(file, JSON.stringify(creds) + '\n', { mode: 0o600 });
      compute = execa('ip', ['netns', 'exec', ns.name, process.execPath, join(import.meta.dirname, '../../dist/agent.mjs'), '--credentials-file', file], { reject: false });
      await until(() => [...fl.controller!.scheduler.lanes].some((l) => l.agentId === creds.agentId), 15_000);
      const out = await fl.map(Array.from({ length: 8 }, (_, i) => i), async (x) => {
        await new Promise((r) => setTimeout(r, 30));
        return x;
      }, { pool: 'lab' });
      expect(out).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      const lane = [...fl.controller!.scheduler.lanes].find((l) => l.agentId === creds.agentId)!;
      expect(lane.completed).toBeGreaterThan(0); // tasks ran on the compute node, via the relay
      relay.stop();
    } finally {
      compute?.kill('SIGKILL');
      await compute;
      await fl.close();
    }
  });
});

describe('SSH pools: detached agents', () => {
  it('outlive a dropped connection and dial back in through the re-opened tunnel; close still ends them', async () => {
    const fl = await connect({ pools: { lab: lab({ detached: true, tunnel: 'always' }) }, waitForAgents: 2 });
    let pids: number[] = [];
    try {
      const pool = fl.controller!.pools.get('lab')!;
      pids = [...pool.handles.values()].map((h) => h.pid!).sort();
      expect(pids.length).toBe(2);
      const n = 30;
      const job = fl.map(Array.from({ length: n }, (_, i) => i), async (x) => {
        await new Promise((r) => setTimeout(r, 80));
        return x + 100;
      }, { pool: 'lab', retries: 5 });
      const seen = new Map<number, number>();
      let killed = false;
      for await (const r of job) {
        seen.set(r.index, (seen.get(r.index) ?? 0) + 1);
        if (!killed && seen.size >= 4) {
          killed = true;
          const sessionPid = Number(readFileSync(`/proc/${pids[0]}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
          expect(readFileSync(`/proc/${sessionPid}/cmdline`, 'utf8')).toMatch(/^sshd/);
          process.kill(sessionPid, 'SIGKILL');
        }
      }
      expect(seen.size).toBe(n);
      expect([...seen.values()].every((c) => c === 1)).toBe(true);
      expect(await job).toEqual(Array.from({ length: n }, (_, i) => i + 100));
      // The same two processes did the work before and after the drop: none was started again.
      expect([...pool.handles.values()].map((h) => h.pid!).sort()).toEqual(pids);
      for (const pid of pids) expect(() => process.kill(pid, 0)).not.toThrow(); // still the same processes
    } finally {
      await fl.close();
    }
    await until(async () => (await remoteAgents()).length === 0, 10_000);
  });
});

describe('SSH pools: ssh-agent and new host keys', () => {
  it('logs in through ssh-agent (SSH_AUTH_SOCK) with no identity file configured', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-agent-'));
    dirs.push(dir);
    const sock = join(dir, 'agent.sock');
    const agent = execa('ssh-agent', ['-D', '-a', sock], { reject: false });
    const saved = process.env.SSH_AUTH_SOCK;
    try {
      await until(() => existsSync(sock), 5_000);
      await execa('ssh-add', [fx.identityFile], { env: { SSH_AUTH_SOCK: sock } });
      process.env.SSH_AUTH_SOCK = sock;
      const hosts = [`${fx.user}@${fx.host}:${fx.port}`];
      // No ssh_config, no identityFile, no default keys for this user: only the agent can log in.
      const fl = await connect({ pools: { lab: { launcher: 'ssh', hosts, knownHosts: fx.knownHosts, sshConfig: join(dir, 'none'), slots: 1 } }, waitForAgents: 1 });
      try {
        expect(await fl.map([2], (x) => x ** 10, { pool: 'lab' })).toEqual([1024]);
      } finally {
        await fl.close();
      }
    } finally {
      if (saved === undefined) delete process.env.SSH_AUTH_SOCK;
      else process.env.SSH_AUTH_SOCK = saved;
      agent.kill();
      await agent;
    }
  });

  it('records an unknown host key when new keys are accepted, and checks it from then on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-accept-'));
    dirs.push(dir);
    const known = join(dir, 'known_hosts');
    const fl = await connect({ pools: { lab: lab({ knownHosts: known, acceptNewHostKeys: true, agentsPerHost: 1 }) }, waitForAgents: 1 });
    await fl.close();
    const line = readFileSync(known, 'utf8').trim();
    expect(line).toBe(`[${fx.host}]:${fx.port} ${fx.hostPublicKey.split(' ').slice(0, 2).join(' ')}`);
    const again = await connect({ pools: { lab: lab({ knownHosts: known, agentsPerHost: 1 }) }, waitForAgents: 1 });
    await again.close();
  });
});
