/**
 * The agent swarm: thousands of agents on one controller. A few load-generator processes
 * (swarm/agent-host.ts) each hold thousands of agent connections that run the real handshake and
 * sealed frames (the agent's protocol code) and answer tiny tasks; one controller process
 * (swarm/controller-host.ts) issues their keys and dispatches to them. Measures:
 *  - the controller's memory per connected agent (RSS and JS heap, after a GC, before vs after),
 *  - how fast agents join (handshakes/s, all generators dialing at once),
 *  - the controller's CPU with every agent connected and idle: heartbeats (each agent's every
 *    5 s, the controller's pings) as % of one core,
 *  - dispatch throughput: one map of tiny tasks over all agents.
 * Loopback only; each generator dials from its own 127.0.0.x address. `ulimit -n` is raised for
 * the children it starts.
 *
 *   npm run bench:swarm [-- --agents 10000 --procs 4 --tasks 200000 --reps 3 --idle 10 --profile DIR]
 *
 * --profile DIR writes CPU profiles (`--cpu-prof`) of the controller and of each generator, one
 * of the controller's idle window alone (controller-idle.cpuprofile) and one of each map
 * (controller-map-N.cpuprofile; profiling adds to the CPU per task these runs print).
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { TARGETS, fmt, table } from './report.js';
import type { Row } from './report.js';
import { banner, exitWhenDone, machineEnv, positive, printFailures, writeResults } from './results.js';
import { median } from './stats.js';

const { values: args } = parseArgs({
  options: {
    agents: { type: 'string', default: '10000' },
    procs: { type: 'string', default: '4' },
    tasks: { type: 'string', default: '200000' },
    reps: { type: 'string', default: '3' },
    idle: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '16' },
    profile: { type: 'string' },
  },
});
const agents = positive('agents', args.agents);
const procs = positive('procs', args.procs);
const tasks = positive('tasks', args.tasks);
const reps = positive('reps', args.reps);
const idleS = positive('idle', args.idle);
const concurrency = positive('concurrency', args.concurrency);
const FDS = agents + 4096;
if (args.profile) mkdirSync(args.profile, { recursive: true });
const prof = (name: string) => (args.profile ? ['--cpu-prof', `--cpu-prof-dir=${args.profile}/${name}`] : []);

banner('agent swarm', `${agents} agents in ${procs} processes`);
const errors: Record<string, string> = {};

/** Starts `file` under tsx with its descriptor limit raised, with an IPC channel. */
function start(file: string, nodeArgs: string[] = []): ChildProcess {
  const script = fileURLToPath(new URL(file, import.meta.url));
  const raise = `ulimit -Hn ${FDS} 2>/dev/null; ulimit -n ${FDS} 2>/dev/null || ulimit -n $(ulimit -Hn); exec "$0" "$@"`;
  const child = spawn('bash', ['-c', raise, process.execPath, ...nodeArgs, '--import', 'tsx', script], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.on('error', (err) => console.error(`${file}: ${err.message}`));
  return child;
}

/** The next IPC message of type `t` from `child`. */
function next<T>(child: ChildProcess, t: string, timeoutMs = 600_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no ${t} from the ${child.pid} child within ${timeoutMs} ms`)), timeoutMs);
    const onMsg = (m: { t: string; message?: string }) => {
      if (m.t === t) done(undefined, m as T);
      else if (m.t === 'error') done(new Error(m.message));
    };
    const onExit = (code: number | null) => done(new Error(`child ${child.pid} exited (${code}) before ${t}`));
    function done(err?: Error, v?: T) {
      clearTimeout(timer);
      child.off('message', onMsg);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(v!);
    }
    child.on('message', onMsg);
    child.once('exit', onExit);
  });
}

interface Measured {
  rssBytes: number;
  heapUsed: number;
  /** The controller's CPU time before the measurement's own GC and lane listing, and after them (us). */
  cpuUs: number;
  cpuEndUs: number;
  lanes: number;
}

const ctl = start('./swarm/controller-host.ts', ['--expose-gc', ...prof('controller')]);
const hosts: ChildProcess[] = [];
let result: Record<string, unknown> = {};
try {
  await next(ctl, 'started', 60_000);
  ctl.send({ t: 'issue', n: agents });
  const { url, creds } = await next<{ url: string; creds: unknown[] }>(ctl, 'issued');
  for (let i = 0; i < procs; i++) hosts.push(start('./swarm/agent-host.ts', prof('generators')));
  await new Promise((r) => setTimeout(r, 1500)); // let the generators load before timing the joins
  ctl.send({ t: 'measure' });
  const before = await next<Measured>(ctl, 'measured');

  // Joining: every generator dials its share at once, `concurrency` handshakes in flight each.
  const t0 = performance.now();
  const per = Math.ceil(agents / procs);
  hosts.forEach((h, i) => h.send({ t: 'connect', url, creds: creds.slice(i * per, (i + 1) * per), concurrency, localAddress: `127.0.0.${10 + i}` }));
  const joined = await Promise.all(hosts.map((h) => next<{ n: number; failed: number; ms: number }>(h, 'connected')));
  const joinS = (performance.now() - t0) / 1e3;
  const connected = joined.reduce((a, j) => a + j.n, 0);
  const failed = joined.reduce((a, j) => a + j.failed, 0);
  console.log(`  ${connected} agents joined in ${joinS.toFixed(1)} s: ${fmt(connected / joinS, 'handshakes/s')}${failed ? ` (${failed} dials failed)` : ''}`);

  // Idle: only heartbeats and pings. Memory after a GC; CPU over the window.
  await new Promise((r) => setTimeout(r, 2000));
  ctl.send({ t: 'measure' });
  const idle0 = await next<Measured>(ctl, 'measured');
  if (args.profile) (ctl.send({ t: 'profile' }), await next(ctl, 'profiling'));
  await new Promise((r) => setTimeout(r, idleS * 1000));
  if (args.profile) (ctl.send({ t: 'profile', file: `${args.profile}/controller-idle.cpuprofile` }), await next(ctl, 'profiling'));
  ctl.send({ t: 'measure' });
  const idle1 = await next<Measured>(ctl, 'measured');
  const heartbeatCore = (idle1.cpuUs - idle0.cpuEndUs) / 1e6 / idleS;
  // CPU time is what a loaded machine does not distort: the controller's per handshake (less
  // the idle rate over the 2 s settle), and the handshake rate it implies for one free core.
  const joinCpuUs = (idle0.cpuUs - before.cpuEndUs - heartbeatCore * 2e6) / Math.max(1, connected);
  console.log(`  controller CPU per handshake: ${fmt(joinCpuUs, 'us')} (one free core: ${fmt(1e6 / joinCpuUs, 'handshakes/s')})`);
  const perAgentKiB = (idle0.rssBytes - before.rssBytes) / 1024 / Math.max(1, idle0.lanes);
  const heapPerAgentKiB = (idle0.heapUsed - before.heapUsed) / 1024 / Math.max(1, idle0.lanes);
  console.log(`  controller: ${idle0.lanes} lanes; RSS ${(before.rssBytes / 2 ** 20).toFixed(0)} -> ${(idle0.rssBytes / 2 ** 20).toFixed(0)} MiB = ${perAgentKiB.toFixed(1)} KiB per agent (JS heap ${heapPerAgentKiB.toFixed(1)} KiB)`);
  console.log(`  controller CPU while ${idle0.lanes} agents idle (heartbeats, pings) over ${idleS} s: ${(heartbeatCore * 100).toFixed(1)}% of a core`);

  // Dispatch: one map of tiny tasks over every agent.
  const rates: number[] = [], cpuPerTask: number[] = [];
  /** Tasks and run frames the generators have received so far. */
  const received = async () => {
    hosts.forEach((h) => h.send({ t: 'stats' }));
    const s = await Promise.all(hosts.map((h) => next<{ tasks: number; runFrames: number }>(h, 'stats')));
    return { tasks: s.reduce((a, x) => a + x.tasks, 0), frames: s.reduce((a, x) => a + x.runFrames, 0) };
  };
  let seen = await received();
  for (let r = 0; r < reps; r++) {
    ctl.send({ t: 'measure' });
    const m0 = await next<Measured>(ctl, 'measured');
    if (args.profile) (ctl.send({ t: 'profile' }), await next(ctl, 'profiling'));
    ctl.send({ t: 'map', tasks });
    const { seconds } = await next<{ seconds: number }>(ctl, 'mapped');
    if (args.profile) (ctl.send({ t: 'profile', file: `${args.profile}/controller-map-${r + 1}.cpuprofile` }), await next(ctl, 'profiling'));
    ctl.send({ t: 'measure' });
    const m1 = await next<Measured>(ctl, 'measured');
    rates.push(tasks / seconds);
    cpuPerTask.push((m1.cpuUs - m0.cpuEndUs) / tasks);
    const now = await received();
    const perFrame = (now.tasks - seen.tasks) / Math.max(1, now.frames - seen.frames);
    seen = now;
    console.log(`  map of ${tasks} tiny tasks over ${idle0.lanes} agents: ${fmt(tasks / seconds, 'tasks/s')}; controller CPU ${cpuPerTask.at(-1)!.toFixed(1)} us per task (one free core: ${fmt(1e6 / cpuPerTask.at(-1)!, 'tasks/s')}); ${perFrame.toFixed(1)} tasks per frame`);
  }
  // The generators share this machine's cores with the controller, so the wall-clock rate is
  // theirs as much as its own; its CPU per task says what one free core dispatches. The first
  // map runs before the function's duration is known (fewer tasks per frame): the rest count,
  // for both figures.
  const known = cpuPerTask.length > 1 ? cpuPerTask.slice(1) : cpuPerTask;
  const dispatch = median(rates.length > 1 ? rates.slice(1) : rates);
  const freeCoreRate = 1e6 / median(known);
  const rows: Row[] = [
    { figure: 'controller memory per connected agent (RSS)', unit: 'KiB', value: perAgentKiB, baseline: undefined, baselineName: '', better: 'lower', target: TARGETS.swarmKiBPerAgent, reference: `JS heap ${heapPerAgentKiB.toFixed(1)} KiB per agent` },
    { figure: `agents joining (${connected} at once)`, unit: 'handshakes/s', value: connected / joinS, baseline: undefined, baselineName: '', better: 'higher', reference: `controller CPU ${fmt(joinCpuUs, 'us')} per handshake` },
    { figure: `dispatch with ${connected} agents connected`, unit: 'tasks/s', value: dispatch, baseline: undefined, baselineName: '', better: 'higher', target: TARGETS.swarmTasksPerS, reference: `maps after the first; the first ${fmt(rates[0]!, 'tasks/s')}` },
    { figure: `the same, one free core (1 / controller CPU per task)`, unit: 'tasks/s', value: freeCoreRate, baseline: undefined, baselineName: '', better: 'higher', target: TARGETS.swarmTasksPerS, reference: `maps after the first: ${known.map((c) => c.toFixed(1)).join(', ')} us per task` },
    { figure: `heartbeats of ${connected} agents, controller CPU`, unit: '% of a core', value: heartbeatCore * 100, baseline: undefined, baselineName: '', better: 'lower', target: TARGETS.swarmIdleCorePct },
  ];
  console.log(`\n${table(rows)}`);
  result = { agents, procs, connected, failed, joinSeconds: joinS, handshakesPerS: connected / joinS, controller: { before, idle0, idle1 }, perAgentKiB, heapPerAgentKiB, heartbeatCoreFraction: heartbeatCore, joinCpuUsPerHandshake: joinCpuUs, dispatchTasksPerS: dispatch, freeCoreTasksPerS: freeCoreRate, rates, controllerCpuUsPerTask: cpuPerTask, tasks };
} catch (err) {
  errors.swarm = (err as Error).stack ?? String(err);
} finally {
  for (const h of hosts) if (h.connected) h.send({ t: 'close' });
  if (ctl.connected) ctl.send({ t: 'close' });
  await Promise.all([...hosts, ctl].map((c) => (c.exitCode !== null ? undefined : new Promise((r) => { setTimeout(() => (c.kill('SIGKILL'), r(undefined)), 10_000).unref(); c.once('exit', r); }))));
}
writeResults('swarm-latest.json', { env: machineEnv(), ...result, errors });
printFailures(errors);
exitWhenDone('agent-swarm.ts', errors);
