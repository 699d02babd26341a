/**
 * SSH benchmark: agents started over SSH on the fixtures' loopback sshd (127.0.0.1:2222, user
 * hpcuser), next to the OpenSSH CLI measured in the same run. Prints figures and a compact table,
 * writes test/bench/results/ssh-latest.json. A script, not a test: run it as root (the fixtures
 * need root, and a cold start deletes hpcuser's bundle cache).
 *
 *   npm run build && npx tsx test/bench/ssh.bench.ts
 *        [--only baseline,breakdown,ready,paths,netns] [--reps 3] [--calls 500] [--tasks 20000]
 *        [--breakdown-reps 7] [--tput-reps 5]
 *
 * Phases:
 *   baseline   `ssh -F <cfg> testssh true` (connection set-up; also with the curve25519 key
 *              exchange ssh2 uses instead of OpenSSH's default sntrup761x25519) and
 *              `... node -e 0` (plus a remote Node start), spawn to exit.
 *   breakdown  the SSH launcher's own steps, one by one on a fresh ssh2 connection: connect +
 *              auth, an exec of `true`, the Node check, a bare Node start, loading the agent
 *              bundle (1, and 8 at once), the bundle check (cached) and upload (cache cleared),
 *              the direct-dial probe of `tunnel: 'auto'`, and opening the reverse tunnel. Where
 *              the ready time goes.
 *   ready      connect() until 1 agent and until 8 agents are connected (agentsPerHost 1 and 8,
 *              slots 1, tunnel 'never'), cold (~hpcuser/.cache/flotilla removed first: the bundle
 *              is uploaded) and warm (cached), and warm with tunnel 'auto' and 'always'; the
 *              launcher's bundle uploads per session (cold 1, warm 0), when its host connection
 *              was ready and its execs accepted (SshLauncher's connectOnce/start are wrapped from
 *              here to note the times), and the CPU each agent process had used by then.
 *   paths      one controller, pools of 2 agents on the same host: `direct` (tunnel 'never',
 *              agents dial the controller's TCP port) and `tunnel` (tunnel 'always', through an
 *              ssh2 reverse forward). Latency of sequential one-item maps and throughput of tiny
 *              tasks (and this process's CPU per task), the pools measured in alternating blocks
 *              so machine load hits all of them.
 *   netns      the firewalled node (network namespace, reached only through the tunnel): time
 *              until 2 agents are ready, latency and throughput.
 *
 * +TCP_NODELAY: ssh2 leaves Nagle's algorithm on its socket. To measure the proposed fix
 * (client.setNoDelay(true) in server/launchers/ssh/connect.ts) in the same run without touching
 * core code, breakdown, ready, paths and netns also run against a `<alias>-nodelay` Host alias
 * (a private copy of the fixture's ssh_config; same server, ServerAliveInterval 4 instead of 5),
 * and ssh2's Client#connect is wrapped here to set TCP_NODELAY on connections with that keepalive.
 *
 * Caution: the cold runs delete ~hpcuser/.cache/flotilla, which an SSH test running at the same
 * moment would be using. The script exits by itself and checks that no agent is left running as
 * hpcuser (`ps -u hpcuser`, zombies aside).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import ssh2 from 'ssh2';
import { connect } from '../../client/index.js';
import type { Session } from '../../client/session.js';
import type { PoolOptions } from '../../server/pool-options.js';
import { agentBundlePath } from '../../server/bundle.js';
import { SshLauncher } from '../../server/launchers/ssh/launcher.js';
import { RemoteHost } from '../../server/launchers/remote/host.js';
import { openConnection } from '../../server/launchers/ssh/connect.js';
import { loadSshConfig, resolveHost } from '../../server/launchers/ssh/resolve.js';
import type { ResolvedHost } from '../../server/launchers/ssh/resolve.js';
import { agentBundle, canDial, ensureBundle, run as sshRun } from '../../server/launchers/ssh/remote.js';
import { probeHost } from '../../server/runtime/probe.js';
import { openTunnel } from '../../server/launchers/ssh/tunnel.js';
import { netns, remoteProcesses, sshd } from '../fixtures/index.js';
import type { NetnsFixture, SshFixture, SshTarget } from '../fixtures/index.js';
import { fmt, textTable, times as x } from './report.js';
import type { TextRow as Row } from './report.js';
import { alternatePools, cpuMs, latencyStat, printVs, samples, stat, tempDir, timeCommand } from './measure.js';
import type { LatencyStat, Stat } from './measure.js';
import { banner, exitWhenDone, machineEnv, onlyPhases, phaseRunner, positive, printFailures, writeResults } from './results.js';
import { median, nowUs, within } from './stats.js';

const PHASES = ['baseline', 'breakdown', 'ready', 'paths', 'netns'] as const;
type Phase = (typeof PHASES)[number];

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    reps: { type: 'string', default: '3' },
    calls: { type: 'string', default: '500' },
    tasks: { type: 'string', default: '20000' },
    'breakdown-reps': { type: 'string', default: '7' },
    'tput-reps': { type: 'string', default: '5' },
  },
});
const only = onlyPhases(PHASES, args.only);
const reps = positive('reps', args.reps);
const calls = positive('calls', args.calls);
const tasks = positive('tasks', args.tasks);
const breakdownReps = positive('breakdown-reps', args['breakdown-reps']);
const tputReps = positive('tput-reps', args['tput-reps']);

// ---------------------------------------------------------------------------------------------
// Fixtures and the remote side

const loadAtStart = banner('SSH');

{
  const others = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).split('\n').filter((l) => /vitest|\.bench\.ts/.test(l) && !l.includes(String(process.pid)) && !/ssh\.bench\.ts/.test(l));
  if (others.length) console.log(`  note: other test or benchmark processes are running (${others.length}, e.g. ${others[0]!.trim().slice(0, 100)}); SSH tests share hpcuser's bundle cache and these CPUs`);
}
const tFx = nowUs();
const fx: SshFixture = await sshd();
const ns: NetnsFixture | undefined = only.has('netns') ? await netns() : undefined;
console.log(`fixtures up in ${fmt((nowUs() - tFx) / 1e3, 'ms')}: ${fx.user}@${fx.host}:${fx.port}${ns ? `, netns ${ns.hostAlias} (${ns.host})` : ''}`);

const home = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${fx.user}:`))?.split(':')[5];
if (!home) throw new Error(`no home folder for ${fx.user} in /etc/passwd`);
const cacheDir = join(home, '.cache', 'flotilla');
const bundle = agentBundle(agentBundlePath());
console.log(`agent bundle ${agentBundlePath()}: ${fmt(bundle.bytes.length / 1024, 'KiB')}, hash ${bundle.hash}; remote cache ${cacheDir}`);
const clearCache = () => rmSync(cacheDir, { recursive: true, force: true });

// The proposed fix, applied from outside: TCP_NODELAY on ssh2's socket (see the report). ssh2
// leaves Nagle's algorithm on, so a small SSH packet written while another is unacknowledged
// waits for the peer's delayed ACK (40 ms on Linux). To compare both in the same run, a second
// Host alias of the same server, `<alias>-nodelay`, differs only in its ServerAliveInterval (4 s);
// connections ssh2 opens with that keepalive get setNoDelay(true).
const NODELAY_KEEPALIVE_MS = 4000;
{
  const proto = (ssh2 as unknown as { Client: { prototype: Record<string, (...a: unknown[]) => unknown> } }).Client.prototype;
  const orig = proto.connect!;
  proto.connect = function (this: { setNoDelay(on: boolean): unknown }, ...a: unknown[]) {
    const r = orig.apply(this, a);
    if ((a[0] as { keepaliveInterval?: number } | undefined)?.keepaliveInterval === NODELAY_KEEPALIVE_MS) this.setNoDelay(true);
    return r;
  };
}
const tmp = tempDir('flotilla-ssh-bench-');
/** `target` plus its `-nodelay` alias, in a private copy of its ssh_config. */
function withNoDelayAlias<T extends SshTarget>(target: T): T & { nodelayAlias: string } {
  const text = readFileSync(target.sshConfig, 'utf8');
  const block = new RegExp(`^Host ${target.hostAlias}\\s*\\n((?:[ \\t]+.*\\n?)*)`, 'm').exec(text);
  if (!block) throw new Error(`no Host ${target.hostAlias} block in ${target.sshConfig}`);
  const body = block[1]!.replace(/^\s*ServerAliveInterval.*\n?/im, '').replace(/\n?$/, '\n');
  const nodelayAlias = `${target.hostAlias}-nodelay`;
  const file = join(tmp, `${target.hostAlias}.ssh_config`);
  writeFileSync(file, `${text.replace(/\n?$/, '\n')}\nHost ${nodelayAlias}\n${body}  ServerAliveInterval ${NODELAY_KEEPALIVE_MS / 1000}\n`);
  return { ...target, sshConfig: file, nodelayAlias };
}
const lab = withNoDelayAlias(fx);
const labNd = { ...lab, hostAlias: lab.nodelayAlias };

/** Agent processes running as the remote user (zombies left out). */
const remoteAgents = async () => (await remoteProcesses(fx.user)).filter((p) => p.cmd.includes('.cache/flotilla/agent-'));
const agentsAtStart = (await remoteAgents()).length;
if (agentsAtStart) console.log(`  note: ${agentsAtStart} agent(s) already run as ${fx.user} (another session?); the leftover check below counts them too`);

/** Waits until no more than `n` agents run as the remote user; returns how long that took, ms. */
async function agentsGone(n = agentsAtStart, timeoutMs = 15_000): Promise<number> {
  const t0 = nowUs();
  while ((await remoteAgents()).length > n) {
    if (nowUs() - t0 > timeoutMs * 1e3) throw new Error(`agents still running as ${fx.user} ${timeoutMs} ms after close: ${(await remoteAgents()).map((p) => p.pid).join(', ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return (nowUs() - t0) / 1e3;
}

// ---------------------------------------------------------------------------------------------
// Instrumenting the launcher from outside (no core code changed): the once-per-connection
// preparation (connect, Node check, bundle, tunnel) and each agent's exec being accepted.

interface Marks {
  t0: number;
  /** [start, end] of each connectOnce, ms after t0. */
  prepare: [number, number][];
  /** When each agent's exec channel was accepted, ms after t0. */
  exec: number[];
}
let marks: Marks | undefined;
{
  const proto = SshLauncher.prototype as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const hostProto = RemoteHost.prototype as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const connectOnce = hostProto.connectOnce!;
  const start = proto.start!;
  if (typeof connectOnce !== 'function' || typeof start !== 'function') throw new Error('SshLauncher changed: no connectOnce/start to instrument');
  hostProto.connectOnce = async function (this: unknown, ...a: unknown[]) {
    const m = marks;
    const t = nowUs();
    try {
      return await connectOnce.apply(this, a);
    } finally {
      m?.prepare.push([(t - m.t0) / 1e3, (nowUs() - m.t0) / 1e3]);
    }
  };
  proto.start = async function (this: unknown, ...a: unknown[]) {
    const m = marks;
    const r = await start.apply(this, a);
    m?.exec.push((nowUs() - m.t0) / 1e3);
    return r;
  };
}

// ---------------------------------------------------------------------------------------------
// Helpers

const { phase, errors } = phaseRunner<Phase>(only);

/**
 * connect() and wait for `lanes` agent slots. Not connect({ waitForAgents }): when that wait
 * fails, connect() rejects without closing its embedded controller, and the agents it started
 * keep running (and hold this process open). See the report.
 */
async function session(pools: Record<string, PoolOptions>, lanes: number): Promise<Session> {
  const fl = await connect({ pools });
  try {
    await fl.controller!.waitForLanes(lanes, { timeoutMs: 60_000 });
    return fl;
  } catch (err) {
    await fl.close();
    throw err;
  }
}

function sshPool(target: Pick<SshTarget, 'hostAlias' | 'sshConfig' | 'knownHosts'>, extra: Partial<Extract<PoolOptions, { launcher: 'ssh' }>>): PoolOptions {
  return { launcher: 'ssh', hosts: [target.hostAlias], agentsPerHost: 2, slots: 1, sshConfig: target.sshConfig, knownHosts: target.knownHosts, ...extra };
}

const launcherOf = (fl: Session, pool: string) => fl.controller!.pools.get(pool)!.launcher as SshLauncher;

// ---------------------------------------------------------------------------------------------
// baseline: the OpenSSH CLI

interface Baseline {
  sshTrue: Stat;
  /** The same with the key exchange ssh2 uses (curve25519) instead of OpenSSH 9's default sntrup761x25519. */
  sshTrueCurve25519: Stat;
  sshNode: Stat;
  netnsSshTrue?: Stat;
  netnsSshNode?: Stat;
}
const baseline = await phase('baseline', async (): Promise<Baseline> => {
  const n = Math.max(5, reps);
  const cli = async (t: Pick<SshTarget, 'sshConfig' | 'hostAlias'>, what: string, cmd: string[], opts: string[] = []) => {
    const argv = ['-F', t.sshConfig, ...opts, t.hostAlias, ...cmd];
    await timeCommand('ssh', argv, 30_000); // warm-up: page cache, sshd
    const xs: number[] = [];
    for (let i = 0; i < n; i++) xs.push(await timeCommand('ssh', argv, 30_000));
    const s = stat(xs);
    console.log(`  ${`ssh -F <cfg> ${opts.join(' ')}${opts.length ? ' ' : ''}${t.hostAlias} ${what}`.padEnd(72)} median ${fmt(s.medianMs, 'ms').padStart(8)} ${samples(xs)}`);
    return s;
  };
  const out: Baseline = {
    sshTrue: await cli(fx, 'true', ['true']),
    sshTrueCurve25519: await cli(fx, 'true', ['true'], ['-o', 'KexAlgorithms=curve25519-sha256']),
    sshNode: await cli(fx, 'node -e 0', ['node', '-e', '0']),
  };
  if (ns) {
    out.netnsSshTrue = await cli(ns, 'true', ['true']);
    out.netnsSshNode = await cli(ns, 'node -e 0', ['node', '-e', '0']);
  }
  return out;
});

// ---------------------------------------------------------------------------------------------
// breakdown: the launcher's steps one by one, with its own functions, as is and with TCP_NODELAY

const STEPS = ['connect', 'execTrue', 'checkNode', 'nodeE0', 'bundleCold', 'bundleWarm', 'bundleLoad', 'bundleLoad8', 'canDial', 'tunnel', 'end'] as const;
type Step = (typeof STEPS)[number];
const STEP_NAMES: Record<Step, string> = {
  connect: 'ssh2 connect + key exchange + auth',
  execTrue: 'exec `true` (session channel + shell)',
  checkNode: 'host probe (uname, libc, df, `node -v`)',
  nodeE0: 'exec `node -e 0`',
  bundleCold: 'ensureBundle, cache cleared (SFTP, mkdir, upload, rename)',
  bundleWarm: 'ensureBundle, cached (SFTP open + stat)',
  bundleLoad: 'exec node <bundle> (loads it, exits: no credentials)',
  bundleLoad8: 'the same, 8 at once on the connection',
  canDial: "direct-dial probe of tunnel 'auto' (a node -e)",
  tunnel: 'reverse tunnel (forwardIn)',
  end: 'connection end',
};
type Breakdown = Record<'asIs' | 'noDelay', Record<Step, Stat>>;
const breakdown = await phase('breakdown', async (): Promise<Breakdown> => {
  const config = loadSshConfig(lab.sshConfig);
  const hosts = { asIs: resolveHost(lab.hostAlias, config, { knownHosts: lab.knownHosts }), noDelay: resolveHost(labNd.hostAlias, config, { knownHosts: lab.knownHosts }) };
  if (hosts.noDelay.keepaliveMs !== NODELAY_KEEPALIVE_MS || hosts.asIs.keepaliveMs === NODELAY_KEEPALIVE_MS) {
    throw new Error(`the aliases do not tell the variants apart: keepalive ${hosts.asIs.keepaliveMs} ms as is, ${hosts.noDelay.keepaliveMs} ms with -nodelay`);
  }
  const per = { asIs: {} as Record<Step, number[]>, noDelay: {} as Record<Step, number[]> };
  for (const v of ['asIs', 'noDelay'] as const) for (const s of STEPS) per[v][s] = [];
  const once = async (h: ResolvedHost): Promise<Record<Step, number>> => {
    const got: Partial<Record<Step, number>> = {};
    const step = async <T>(s: Step, f: () => Promise<T>): Promise<T> => {
      const t = nowUs();
      const r = await f();
      got[s] = (nowUs() - t) / 1e3;
      return r;
    };
    const client = await step('connect', () => openConnection(h, {}));
    try {
      await step('execTrue', () => sshRun(client, 'true'));
      await step('checkNode', () => probeHost(client, h.spec, 'node', undefined));
      await step('nodeE0', () => sshRun(client, 'node -e 0'));
      clearCache();
      const cold = await step('bundleCold', () => ensureBundle(client, agentBundlePath()));
      if (!cold.uploaded) throw new Error('ensureBundle did not upload after the cache was cleared');
      const warm = await step('bundleWarm', () => ensureBundle(client, agentBundlePath()));
      if (warm.uploaded) throw new Error('ensureBundle uploaded although the bundle was cached');
      const load = async () => {
        const r = await sshRun(client, `node "$HOME/${warm.path}"`);
        if (!/credentials/.test(r.stderr)) throw new Error(`the bundle without credentials said: ${r.stderr.trim().slice(-300)}`);
      };
      await step('bundleLoad', load);
      await step('bundleLoad8', () => Promise.all(Array.from({ length: 8 }, load)));
      await step('canDial', () => canDial(client, 'node', '127.0.0.1', 9)); // refused at once: the probe costs a node start
      await step('tunnel', async () => (await openTunnel(client, { host: '127.0.0.1', port: 9 })).close());
    } finally {
      await step('end', () => new Promise<void>((r) => (client.once('close', () => r()), client.end())));
    }
    return got as Record<Step, number>;
  };
  for (let i = 0; i < breakdownReps + 1; i++) {
    for (const v of i % 2 ? (['noDelay', 'asIs'] as const) : (['asIs', 'noDelay'] as const)) {
      const got = await once(hosts[v]);
      if (i === 0) continue; // warm-up
      for (const s of STEPS) per[v][s].push(got[s]);
    }
  }
  const out = { asIs: {}, noDelay: {} } as Breakdown;
  for (const v of ['asIs', 'noDelay'] as const) for (const s of STEPS) out[v][s] = stat(per[v][s]);
  console.log(`  ${'step (medians of ' + breakdownReps + ')'.padEnd(0)}`.padEnd(64) + 'as is'.padStart(10) + '  +TCP_NODELAY'.padStart(14) + '   samples as is | +nodelay');
  for (const s of STEPS) {
    console.log(`  ${STEP_NAMES[s].padEnd(62)}${fmt(out.asIs[s].medianMs, 'ms').padStart(10)}${fmt(out.noDelay[s].medianMs, 'ms').padStart(14)}   ${samples(out.asIs[s].samplesMs)} | ${samples(out.noDelay[s].samplesMs)}`);
  }
  for (const v of ['asIs', 'noDelay'] as const) {
    const o = out[v];
    console.log(
      `  => ${v === 'asIs' ? 'as is' : '+TCP_NODELAY'}: warm preparation of a host (connect + Node check + cached bundle) ~${fmt(o.connect.medianMs + o.checkNode.medianMs + o.bundleWarm.medianMs, 'ms')}, ` +
        `+ ${fmt(o.bundleCold.medianMs - o.bundleWarm.medianMs, 'ms')} cold, + ${fmt(o.canDial.medianMs, 'ms')} with tunnel 'auto', + ${fmt(o.tunnel.medianMs, 'ms')} for a tunnel; ` +
        `then an agent: node + bundle ~${fmt(o.bundleLoad.medianMs, 'ms')}, 8 at once ~${fmt(o.bundleLoad8.medianMs, 'ms')}`,
    );
  }
  return out;
});

// ---------------------------------------------------------------------------------------------
// ready: connect() until the first and until all agents are connected

interface ReadyRun {
  /** connect() returned (controller listening, pools started), ms. */
  connectMs: number;
  /** When the k-th lane connected, ms after connect() was called (index 0 = first). */
  lanesMs: number[];
  uploads: number;
  /** The launcher's per-host preparation, [start, end] ms. */
  prepareMs: [number, number][];
  /** When each agent's exec was accepted, ms. */
  execMs: number[];
  via: string | undefined;
  /** CPU time (user + system, all threads) each agent process had used when the last lane connected, ms. */
  agentCpuMs: number[];
  closeMs: number;
  /** From close() returning until no agent ran as the remote user any more, ms. */
  goneMs: number;
}
interface ReadySpec {
  name: string;
  agents: number;
  cold: boolean;
  tunnel: 'never' | 'auto' | 'always';
  noDelay: boolean;
}
interface ReadyCase extends ReadySpec {
  runs: ReadyRun[];
  firstMs: Stat;
  allMs: Stat;
  uploads: number[];
  /** Medians: host prepared, first and last exec accepted, CPU per agent at ready, ms. */
  preparedMs: number;
  agentCpuMs: number;
  execFirstMs: number;
  execLastMs: number;
}

async function readyOnce(c: Omit<ReadySpec, 'name'>): Promise<ReadyRun> {
  await agentsGone();
  if (c.cold) clearCache();
  const m: Marks = { t0: nowUs(), prepare: [], exec: [] };
  marks = m;
  const t0 = m.t0;
  const fl = await connect({ pools: { lab: sshPool(c.noDelay ? labNd : lab, { agentsPerHost: c.agents, tunnel: c.tunnel }) } });
  const connectMs = (nowUs() - t0) / 1e3;
  try {
    const lanesMs: number[] = new Array(c.agents).fill(NaN);
    await within(
      Promise.all(Array.from({ length: c.agents }, (_, k) => fl.controller!.waitForLanes(k + 1, { pool: 'lab', timeoutMs: 60_000 }).then(() => (lanesMs[k] = (nowUs() - t0) / 1e3)))),
      65_000,
      `${c.agents} SSH agents ready`,
    );
    const agentCpuMs = (await remoteAgents()).map((p) => cpuMs(p.pid)).filter((v) => v !== undefined);
    const launcher = launcherOf(fl, 'lab');
    const via = launcher.status()[0]?.via;
    marks = undefined;
    const t1 = nowUs();
    await within(fl.close(), 30_000, 'session close()');
    const closeMs = (nowUs() - t1) / 1e3;
    const goneMs = await agentsGone();
    return { connectMs, lanesMs, uploads: launcher.uploads, prepareMs: m.prepare, execMs: m.exec, via, agentCpuMs, closeMs, goneMs };
  } catch (err) {
    marks = undefined;
    await fl.close().catch(() => {});
    throw err;
  }
}

const ready = await phase('ready', async (): Promise<ReadyCase[]> => {
  const specs: ReadySpec[] = [
    { name: '1 agent, cold', agents: 1, cold: true, tunnel: 'never', noDelay: false },
    { name: '1 agent, warm', agents: 1, cold: false, tunnel: 'never', noDelay: false },
    { name: '8 agents, cold', agents: 8, cold: true, tunnel: 'never', noDelay: false },
    { name: '8 agents, warm', agents: 8, cold: false, tunnel: 'never', noDelay: false },
    { name: "8 agents, warm, tunnel 'auto'", agents: 8, cold: false, tunnel: 'auto', noDelay: false },
    { name: "8 agents, warm, tunnel 'always'", agents: 8, cold: false, tunnel: 'always', noDelay: false },
    { name: '1 agent, cold, +TCP_NODELAY', agents: 1, cold: true, tunnel: 'never', noDelay: true },
    { name: '1 agent, warm, +TCP_NODELAY', agents: 1, cold: false, tunnel: 'never', noDelay: true },
    { name: '8 agents, warm, +TCP_NODELAY', agents: 8, cold: false, tunnel: 'never', noDelay: true },
  ];
  await readyOnce({ agents: 1, cold: false, tunnel: 'never', noDelay: false }); // warm-up: modules, page cache, sshd
  const runs: ReadyRun[][] = specs.map(() => []);
  // Case after case within each repetition, so a burst of load elsewhere does not hit one case only.
  for (let r = 0; r < reps; r++) for (const [i, c] of specs.entries()) runs[i]!.push(await readyOnce(c));
  const out: ReadyCase[] = specs.map((c, i) => {
    const rs = runs[i]!;
    return {
      ...c,
      runs: rs,
      firstMs: stat(rs.map((r) => r.lanesMs[0]!)),
      allMs: stat(rs.map((r) => r.lanesMs.at(-1)!)),
      uploads: rs.map((r) => r.uploads),
      preparedMs: median(rs.map((r) => r.prepareMs.at(-1)?.[1] ?? NaN)),
      execFirstMs: median(rs.map((r) => Math.min(...r.execMs))),
      execLastMs: median(rs.map((r) => Math.max(...r.execMs))),
      agentCpuMs: median(rs.flatMap((r) => r.agentCpuMs)),
    };
  });
  for (const c of out) {
    const rs = c.runs;
    console.log(
      `  ${c.name.padEnd(34)} first ${fmt(c.firstMs.medianMs, 'ms').padStart(7)} ${samples(c.firstMs.samplesMs)}` +
        (c.agents > 1 ? `, all ${c.agents} ${fmt(c.allMs.medianMs, 'ms').padStart(7)} ${samples(c.allMs.samplesMs)}` : '') +
        `; uploads ${c.uploads.join(',')}${c.uploads.some((u) => u !== (c.cold ? 1 : 0)) ? ` (expected ${c.cold ? 1 : 0}: did another process use ${fx.user}'s cache meanwhile?)` : ''}; via ${rs[0]?.via ?? '?'}`,
    );
    console.log(
      `      host prepared at ${fmt(c.preparedMs, 'ms')} (connections per run: ${rs.map((r) => r.prepareMs.length).join(',')}), execs accepted ${fmt(c.execFirstMs, 'ms')}..${fmt(c.execLastMs, 'ms')}, ` +
        `lanes ${rs.length ? samples(rs[Math.floor(rs.length / 2)]!.lanesMs) : ''}; CPU per agent by then ${fmt(c.agentCpuMs, 'ms')} (x${c.agents} = ${fmt((c.agentCpuMs * c.agents) / Math.max(1, c.allMs.medianMs - c.execFirstMs), '')} CPUs busy from exec to ready); close ${fmt(median(rs.map((r) => r.closeMs)), 'ms')}, agents gone ${fmt(median(rs.map((r) => r.goneMs)), 'ms')} later`,
    );
  }
  return out;
});

// ---------------------------------------------------------------------------------------------
// paths: direct vs tunnel, one controller, alternating blocks

interface SshLatencyStat extends LatencyStat {
  /** Calls over 30 ms: a 40 ms delayed-ACK stall shows up here. */
  over30ms: number;
}
interface ThroughputStat {
  tasks: number;
  medianTasksPerS: number;
  runsTasksPerS: number[];
  /** CPU this process (controller, and ssh2 for the tunnel) spent per task, median over runs, us. */
  controllerCpuUsPerTask: number;
}
interface PathResult {
  latency: SshLatencyStat;
  throughput: ThroughputStat;
}

/** Latency and throughput of each pool, measured in alternating blocks (order rotating). */
async function comparePools(fl: Session, pools: string[]): Promise<Record<string, PathResult>> {
  const { latency, tput } = await alternatePools(fl, pools, { calls, blocks: 5, tasks, tputReps });
  return Object.fromEntries(
    pools.map((p) => {
      const runs = tput[p]!;
      const xs = latency[p]!;
      const throughput: ThroughputStat = { tasks, medianTasksPerS: median(runs.map((r) => r.tasksPerS)), runsTasksPerS: runs.map((r) => r.tasksPerS), controllerCpuUsPerTask: median(runs.map((r) => r.cpuUsPerTask)) };
      return [p, { latency: { ...latencyStat(xs), over30ms: xs.filter((v) => v > 30_000).length }, throughput }];
    }),
  );
}

function showPaths(r: Record<string, PathResult>) {
  for (const [p, v] of Object.entries(r)) {
    console.log(
      `  ${p.padEnd(15)} latency (${v.latency.calls} one-item maps): median ${fmt(v.latency.medianUs, 'us').padStart(8)}, p99 ${fmt(v.latency.p99Us, 'us').padStart(9)}, max ${fmt(v.latency.maxUs, 'us').padStart(9)}, >30 ms: ${v.latency.over30ms}; ` +
        `throughput (${v.throughput.tasks} tiny tasks): median ${fmt(v.throughput.medianTasksPerS, 'tasks/s')} [${v.throughput.runsTasksPerS.map((x) => fmt(x)).join(', ')}], controller CPU ${v.throughput.controllerCpuUsPerTask.toFixed(1)} us/task`,
    );
  }
}

const paths = await phase('paths', async () => {
  await agentsGone();
  const fl = await session({ direct: sshPool(lab, { tunnel: 'never' }), tunnel: sshPool(lab, { tunnel: 'always' }), 'tunnel-nodelay': sshPool(labNd, { tunnel: 'always' }) }, 6);
  try {
    const via = Object.fromEntries(['direct', 'tunnel', 'tunnel-nodelay'].map((p) => [p, launcherOf(fl, p).status()[0]?.via]));
    if (via.direct !== 'direct' || via.tunnel !== 'tunnel' || via['tunnel-nodelay'] !== 'tunnel') throw new Error(`pools did not take the intended paths: ${JSON.stringify(via)}`);
    const r = await comparePools(fl, ['direct', 'tunnel', 'tunnel-nodelay']);
    showPaths(r);
    const d = r.direct!;
    for (const p of ['tunnel', 'tunnel-nodelay']) printVs(p, 'direct', r[p]!, d);
    return r;
  } finally {
    await fl.close();
    await agentsGone();
  }
});

// ---------------------------------------------------------------------------------------------
// netns: the firewalled node, through the tunnel only

const netnsResult = await phase('netns', async () => {
  if (!ns) throw new Error('netns fixture not up');
  const fw = withNoDelayAlias(ns);
  const fwNd = { ...fw, hostAlias: fw.nodelayAlias };
  // Ready time of one pool alone first; then both pools side by side for latency and throughput.
  const readySamples: number[] = [];
  for (let i = 0; i < reps; i++) {
    await agentsGone();
    const t0 = nowUs();
    const one = await session({ fw: sshPool(fw, { tunnel: 'always' }) }, 2);
    readySamples.push((nowUs() - t0) / 1e3);
    await one.close();
  }
  await agentsGone();
  const readyMs = median(readySamples);
  console.log(`  2 agents ready (warm, tunnel): median ${fmt(readyMs, 'ms')} ${samples(readySamples)}`);
  const fl = await session({ fw: sshPool(fw, { tunnel: 'always' }), 'fw-nodelay': sshPool(fwNd, { tunnel: 'always' }) }, 4);
  try {
    const via = ['fw', 'fw-nodelay'].map((p) => launcherOf(fl, p).status()[0]?.via);
    if (via.some((v) => v !== 'tunnel')) throw new Error(`the netns pools are not on the tunnel: ${via.join(', ')}`);
    const r = await comparePools(fl, ['fw', 'fw-nodelay']);
    showPaths(r);
    return { readyMs, readySamplesMs: readySamples, fw: r.fw!, fwNoDelay: r['fw-nodelay']! };
  } finally {
    await fl.close();
    await agentsGone();
  }
});

// ---------------------------------------------------------------------------------------------
// Summary

const rows: Row[] = [];
const ms = (v: number | undefined, name: string) => (v === undefined ? '-' : `${fmt(v, 'ms')} ${name}`);
const sshNode = baseline?.sshNode.medianMs;
if (baseline) {
  rows.push({ figure: 'ssh true (OpenSSH CLI)', value: fmt(baseline.sshTrue.medianMs, 'ms'), baseline: '-', ratio: '-' });
  rows.push({ figure: 'ssh -o KexAlgorithms=curve25519-sha256 true', value: fmt(baseline.sshTrueCurve25519.medianMs, 'ms'), baseline: ms(baseline.sshTrue.medianMs, 'ssh true'), ratio: x(baseline.sshTrueCurve25519.medianMs, baseline.sshTrue.medianMs) });
  rows.push({ figure: 'ssh node -e 0 (OpenSSH CLI)', value: fmt(baseline.sshNode.medianMs, 'ms'), baseline: ms(baseline.sshTrue.medianMs, 'ssh true'), ratio: x(baseline.sshNode.medianMs, baseline.sshTrue.medianMs) });
}
if (breakdown) {
  const b = breakdown.asIs, n = breakdown.noDelay;
  rows.push({ figure: 'ssh2 connect + exec true', value: fmt(b.connect.medianMs + b.execTrue.medianMs, 'ms'), baseline: ms(baseline?.sshTrue.medianMs, 'ssh true'), ratio: x(b.connect.medianMs + b.execTrue.medianMs, baseline?.sshTrue.medianMs) });
  rows.push({ figure: 'ssh2 connect + exec true, +TCP_NODELAY', value: fmt(n.connect.medianMs + n.execTrue.medianMs, 'ms'), baseline: ms(b.connect.medianMs + b.execTrue.medianMs, 'as is'), ratio: x(n.connect.medianMs + n.execTrue.medianMs, b.connect.medianMs + b.execTrue.medianMs) });
  const up = (o: Record<Step, Stat>) => o.bundleCold.medianMs - o.bundleWarm.medianMs;
  rows.push({ figure: 'bundle upload (cold - cached ensureBundle)', value: fmt(up(b), 'ms'), baseline: '-', ratio: '-' });
  rows.push({ figure: 'bundle upload, +TCP_NODELAY', value: fmt(up(n), 'ms'), baseline: ms(up(b), 'as is'), ratio: x(up(n), up(b)) });
  rows.push({ figure: 'cached bundle check (SFTP open + stat)', value: fmt(b.bundleWarm.medianMs, 'ms'), baseline: ms(n.bundleWarm.medianMs, '+TCP_NODELAY'), ratio: x(b.bundleWarm.medianMs, n.bundleWarm.medianMs) });
  rows.push({ figure: 'reverse tunnel open (forwardIn)', value: fmt(b.tunnel.medianMs, 'ms'), baseline: ms(n.tunnel.medianMs, '+TCP_NODELAY'), ratio: x(b.tunnel.medianMs, n.tunnel.medianMs) });
  rows.push({ figure: '8 x node <bundle> at once (exec)', value: fmt(b.bundleLoad8.medianMs, 'ms'), baseline: ms(b.bundleLoad.medianMs, '1 alone'), ratio: x(b.bundleLoad8.medianMs, b.bundleLoad.medianMs) });
}
const readyAsIs = new Map((ready ?? []).filter((c) => !c.noDelay).map((c) => [`${c.agents}/${c.cold}/${c.tunnel}`, c]));
for (const c of ready ?? []) {
  // As-is cases against `ssh node -e 0`; +TCP_NODELAY cases against the same case as is.
  const ref = c.noDelay ? readyAsIs.get(`${c.agents}/${c.cold}/${c.tunnel}`) : undefined;
  const base = (v: (k: ReadyCase) => number) => (ref ? { baseline: ms(v(ref), 'as is'), ratio: x(v(c), v(ref)) } : { baseline: ms(sshNode, 'ssh node -e 0'), ratio: x(v(c), sshNode) });
  rows.push({ figure: `ready: first agent, ${c.name}`, value: fmt(c.firstMs.medianMs, 'ms'), ...base((k) => k.firstMs.medianMs) });
  if (c.agents > 1) rows.push({ figure: `ready: all ${c.agents} agents, ${c.name}`, value: fmt(c.allMs.medianMs, 'ms'), ...base((k) => k.allMs.medianMs) });
  if (c.tunnel === 'never' && !c.noDelay) rows.push({ figure: `uploads per session, ${c.name}`, value: c.uploads.join(', '), baseline: `expect ${c.cold ? 1 : 0}`, ratio: c.uploads.every((u) => u === (c.cold ? 1 : 0)) ? 'ok' : 'WRONG' });
}
const pathRows = (label: string, r: PathResult, ref: PathResult | undefined, refName: string) => {
  const b = (v: number | undefined, unit: string) => (v === undefined ? '-' : `${fmt(v, unit)} ${refName}`);
  rows.push({ figure: `latency median, ${label}`, value: fmt(r.latency.medianUs, 'us'), baseline: b(ref?.latency.medianUs, 'us'), ratio: x(r.latency.medianUs, ref?.latency.medianUs) });
  rows.push({ figure: `latency p99, ${label}`, value: fmt(r.latency.p99Us, 'us'), baseline: b(ref?.latency.p99Us, 'us'), ratio: x(r.latency.p99Us, ref?.latency.p99Us) });
  rows.push({ figure: `throughput ${tasks} tasks, ${label}`, value: fmt(r.throughput.medianTasksPerS, 'tasks/s'), baseline: b(ref?.throughput.medianTasksPerS, 'tasks/s'), ratio: x(r.throughput.medianTasksPerS, ref?.throughput.medianTasksPerS) });
};
if (paths) {
  pathRows('direct', paths.direct!, undefined, '');
  pathRows('tunnel', paths.tunnel!, paths.direct, 'direct');
  pathRows('tunnel +TCP_NODELAY', paths['tunnel-nodelay']!, paths.direct, 'direct');
}
if (netnsResult) {
  rows.push({ figure: 'netns: 2 agents ready, warm, tunnel', value: fmt(netnsResult.readyMs, 'ms'), baseline: ms(baseline?.netnsSshNode?.medianMs, 'ssh node -e 0'), ratio: x(netnsResult.readyMs, baseline?.netnsSshNode?.medianMs) });
  pathRows('netns tunnel', netnsResult.fw, paths?.tunnel, 'loopback tunnel');
  pathRows('netns tunnel +TCP_NODELAY', netnsResult.fwNoDelay, netnsResult.fw, 'netns as is');
}
console.log(`\n== summary (ratio: value / baseline; medians of ${reps} runs, latency over ${calls} calls)\n${textTable(rows)}`);

// No agent may be left running as the remote user.
let leftover: { pid: number; cmd: string }[] = [];
try {
  await agentsGone(agentsAtStart, 10_000);
} catch {
  /* reported below */
}
leftover = await remoteAgents();
const remoteAll = await remoteProcesses(fx.user);
console.log(`\nleft running as ${fx.user}: ${leftover.length} agent(s)${leftover.length ? ` (${leftover.map((p) => `${p.pid} ${p.cmd}`).join('; ')})` : ''}; ${remoteAll.length} process(es) in all (zombies aside)${remoteAll.length ? `: ${remoteAll.map((p) => p.cmd).join('; ')}` : ''}`);
if (leftover.length > agentsAtStart) errors.leftover = `${leftover.length} agent(s) still running as ${fx.user}`;
printFailures(errors);

if (only.size === PHASES.length) {
  writeResults('ssh-latest.json', {
    env: { ...machineEnv(), loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadavg()[0] },
    options: { reps, calls, tasks },
    bundle: { bytes: bundle.bytes.length, hash: bundle.hash },
    summary: rows,
    baseline,
    breakdown,
    ready,
    paths,
    netns: netnsResult,
    leftover,
    errors,
  });
}

exitWhenDone('ssh.bench', errors);
