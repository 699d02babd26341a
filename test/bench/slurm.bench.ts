/**
 * SLURM benchmark: agents inside SLURM jobs of the fixtures' single-node cluster (partition
 * debug, 16 declared CPUs), next to plain sbatch/srun jobs measured in the same run. Prints
 * figures and a compact table, writes test/bench/results/slurm-latest.json. A script, not a test:
 * run it as root (the fixtures need root; local pools submit as root, the relay pool as hpcuser
 * through the sshd fixture).
 *
 *   npm run build && npx tsx test/bench/slurm.bench.ts
 *        [--only baseline,ready,paths] [--reps 3] [--agents 16] [--calls 300] [--tasks 10000]
 *        [--tput-reps 3]
 *
 * Phases:
 *   baseline   plain SLURM, no flotilla: `sbatch --wait` of a script running `true`, of one
 *              running `node -e 0`, and `sbatch --array=0-<agents-1> --wait` of `node -e 0`
 *              (spawn to exit). The scripts also print `date +%s%N` before and after their
 *              payload, and slurmctld's / slurmd's logs (ms timestamps) say when each job was
 *              taken, allocated and launched, so submit -> finished is also known without
 *              sbatch's own polling (sbatch --wait first looks after 2 s). Plus `srun true` and
 *              `srun node -e 0` (interactive allocation: no batch scheduling pass, no polling).
 *   ready      connect({ pools: { bench1 | bench<agents>: { launcher: 'slurm', agents, slots: 1,
 *              resources: { time: '10m', mem: '100M' }, graceMs: 3000, pollSeconds: 1 } },
 *              waitForAgents }) until it resolves, for 1 agent and for <agents> agents in ONE
 *              array, alternating, --reps times each (after one uncounted warm-up). Split:
 *              connect -> 'slurm: submitted array' (the controller's log line), -> first agent
 *              ready, -> all ready; and per array element from the SLURM logs and the agent's
 *              own log: sbatch -> allocated (scheduler), -> launched (slurmd), -> `dialing`
 *              (slurmstepd, TaskProlog, bash, node start, bundle load), -> lane connected
 *              (handshake). Then close() until the array has left the queue.
 *   paths      one controller, two pools of 2 agents (slots 1) in SLURM jobs: `bench-direct`
 *              (agents dial the controller) and `bench-relay` (via the sshd fixture's host
 *              alias: sbatch over SSH as hpcuser, agents dial a relay on the login node that
 *              pipes into an ssh2 reverse tunnel, `tunnel: 'always'`). Latency of --calls
 *              sequential one-item maps and throughput of --tasks tiny tasks, in alternating
 *              blocks; ratio relay/direct. Also the time until each pool had its 2 agents, and the
 *              CPU per task of the controller, the agents, the relay and the sshd session. As a
 *              reference, a third pool `bench-sshtunnel` (launcher ssh, same sshd, 2 agents,
 *              tunnel 'always'): the relay path without the relay and without SLURM.
 *
 * The scheduling pass: slurmctld allocates batch jobs in a periodic pass (~1 s apart), so a job
 * waits 0..1 s depending on when in the second it arrives. Run k of n (baseline sbatch runs and
 * ready runs alike) is timed to wait (k + 0.5)/n of a period (167, 500, 833 ms for 3 runs), so
 * medians carry the average wait and compare fairly: a `true` job (slurmbench-phase) submitted
 * just before each run gives the phase. Each run reports the wait it got. `sbatch --wait` itself
 * first looks at its job after 2 s, then after 8 s more: its figure is sbatch's polling, not SLURM.
 *
 * Shared CPUs: before each run the script waits (up to 60 s) until the node has as many idle
 * CPUs as the run needs; a ready run that started without them is left out of the medians (kept
 * in the JSON as `contended`) and tried once more at the end. Other engineers' jobs and tests
 * share the 2 real cores: look at the load average printed at the start.
 *
 * Instrumented from outside, no core code changed: Scheduler#addLane (when each lane
 * connected, of which agent), SlurmLauncher#launch/#submit (when the pool asked, when the
 * gathered batch went out) and the SLURM shells' run() (how long each command took); CPU times
 * from /proc (agents found by SLURM_ARRAY_JOB_ID in their environment).
 *
 * Shared cluster: only jobs named flotilla-bench1, flotilla-bench<agents>, flotilla-bench-direct,
 * flotilla-bench-relay and slurmbench-* are ours. The script exits by itself; at the end it lists
 * any of those left in the queue (squeue) and cancels only job ids it submitted itself.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connect } from '../../client/index.js';
import type { Session } from '../../client/session.js';
import type { PoolOptions } from '../../server/pool-options.js';
import { Scheduler } from '../../server/scheduler.js';
import type { Lane } from '../../server/lane.js';
import { LocalShell, SshShell } from '../../server/launchers/shell.js';
import { SlurmLauncher as SlurmLauncherClass } from '../../server/launchers/slurm/launcher.js';
import { slurm, sshd } from '../fixtures/index.js';
import type { SlurmFixture, SshFixture } from '../fixtures/index.js';
import { fmt, textTable, times as x } from './report.js';
import type { TextRow as Row } from './report.js';
import { alternatePools, cpuMs, latencyStat, printVs, samples, stat, tempDir, timeCommand } from './measure.js';
import type { LatencyStat, Stat } from './measure.js';
import { banner, exitWhenDone, machineEnv, onlyPhases, phaseRunner, positive, printFailures, writeResults } from './results.js';
import { median, nowUs, within } from './stats.js';

type SlurmLauncher = SlurmLauncherClass;

const PHASES = ['baseline', 'ready', 'paths'] as const;
type Phase = (typeof PHASES)[number];

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    reps: { type: 'string', default: '3' },
    agents: { type: 'string', default: '16' },
    calls: { type: 'string', default: '300' },
    tasks: { type: 'string', default: '10000' },
    'tput-reps': { type: 'string', default: '3' },
  },
});
const only = onlyPhases(PHASES, args.only);
const reps = positive('reps', args.reps);
const many = positive('agents', args.agents);
const calls = positive('calls', args.calls);
const tasks = positive('tasks', args.tasks);
const tputReps = positive('tput-reps', args['tput-reps']);

const POOL1 = 'bench1';
const POOLN = `bench${many}`;
const POOL_DIRECT = 'bench-direct';
const POOL_RELAY = 'bench-relay';
/** An SSH pool (no SLURM) through the same sshd's reverse tunnel: the relay path minus the relay. */
const POOL_TUNNEL = 'bench-sshtunnel';
const BASE_PREFIX = 'slurmbench-';
/** Job names of ours: the pools' (flotilla-<pool>) and the baseline's. */
const isOurName = (name: string) => [POOL1, POOLN, POOL_DIRECT, POOL_RELAY].some((p) => name === `flotilla-${p}`) || name.startsWith(BASE_PREFIX);
/** Job (array) ids this run submitted: the only ones it may cancel. */
const submitted = new Set<string>();

// ---------------------------------------------------------------------------------------------
// Fixtures

const loadAtStart = banner('SLURM');
const tFx = nowUs();
const fx: SlurmFixture = await slurm();
const ssh: SshFixture | undefined = only.has('paths') ? await sshd() : undefined;
console.log(`fixtures up in ${fmt((nowUs() - tFx) / 1e3, 'ms')}: SLURM partition ${fx.partition} on ${fx.node} (${fx.cpus} CPUs declared, ${availableParallelism()} real)${ssh ? `, sshd ${ssh.user}@${ssh.host}:${ssh.port} (${ssh.hostAlias})` : ''}`);
if (fx.cpus < many) console.log(`  note: the node declares ${fx.cpus} CPUs; an array of ${many} one-CPU agents will not all run at once`);

const sched = (() => {
  try {
    const conf = execFileSync('scontrol', ['show', 'config'], { encoding: 'utf8' });
    const get = (k: string) => new RegExp(`^${k}\\s*=\\s*(.*)$`, 'm').exec(conf)?.[1]?.trim();
    return { schedulerType: get('SchedulerType'), schedulerParameters: get('SchedulerParameters'), version: get('SLURM_VERSION') };
  } catch {
    return {};
  }
})();
console.log(`SLURM ${sched.version ?? '?'}, ${sched.schedulerType ?? '?'} (${sched.schedulerParameters ?? 'default parameters'})`);

interface QueueJob {
  jobId: string;
  name: string;
  user: string;
  state: string;
}
/** Every job in the queue, all users, array elements one by one. */
async function queue(): Promise<QueueJob[]> {
  const out = await new Promise<string>((resolve, reject) =>
    execFile('squeue', ['-h', '-r', '-a', '-o', '%i|%j|%u|%T'], { timeout: 15_000 }, (err, stdout, stderr) => (err ? reject(new Error(`squeue: ${stderr || err.message}`)) : resolve(stdout))),
  );
  return out
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const first = l.indexOf('|'), last = l.lastIndexOf('|'), mid = l.lastIndexOf('|', last - 1);
      return { jobId: l.slice(0, first), name: l.slice(first + 1, mid), user: l.slice(mid + 1, last), state: l.slice(last + 1) };
    });
}
const arrayOf = (jobId: string) => jobId.split('_')[0]!;
/** Idle CPUs of the node right now (sinfo %C: allocated/idle/other/total). */
function idleCpus(): number {
  try {
    return Number(execFileSync('sinfo', ['-h', '-n', fx.node, '-o', '%C'], { encoding: 'utf8' }).trim().split('/')[1]);
  } catch {
    return NaN;
  }
}
{
  const others = (await queue()).filter((j) => !isOurName(j.name));
  const ours = (await queue()).filter((j) => isOurName(j.name));
  console.log(`queue at start: ${others.length} job(s) of others${others.length ? ` (${[...new Set(others.map((j) => `${j.name}/${j.user}`))].join(', ')})` : ''}, idle CPUs ${idleCpus()}/${fx.cpus}`);
  if (ours.length) console.log(`  note: ${ours.length} job(s) with our names already queued (an earlier run?): ${ours.map((j) => `${j.jobId} ${j.name} ${j.state}`).join('; ')}`);
}

/** Waits until `ids` (array or job ids) have left the queue; ms it took. */
async function leftQueue(ids: string[], timeoutMs = 30_000): Promise<number> {
  const t0 = nowUs();
  const set = new Set(ids);
  for (;;) {
    const left = (await queue()).filter((j) => set.has(arrayOf(j.jobId)));
    if (left.length === 0) return (nowUs() - t0) / 1e3;
    if (nowUs() - t0 > timeoutMs * 1e3) throw new Error(`still queued ${timeoutMs} ms later: ${left.map((j) => `${j.jobId} ${j.state}`).join(', ')}`);
    await sleep(100);
  }
}
/** Waits (up to 60 s) until `n` CPUs are idle, so a run is not measuring someone else's jobs. */
async function cpusFree(n: number): Promise<number> {
  const t0 = Date.now();
  let idle = idleCpus();
  while (!(idle >= n) && Date.now() - t0 < 60_000) {
    await sleep(250);
    idle = idleCpus();
  }
  if (!(idle >= n)) console.log(`  note: only ${idle} CPU(s) idle after 60 s (others' jobs); the run may wait in the queue`);
  return idle;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// SLURM's logs: when slurmctld took a job, allocated it, and slurmd launched it (ms resolution)

const ctldLog = join(fx.logDir, 'slurmctld.log');
const slurmdLog = join(fx.logDir, `slurmd-${fx.node}.log`);
/** A SLURM log timestamp `[2026-11-21T07:16:00.084]` (local time) as epoch ms. */
const logTime = (s: string) => new Date(s).getTime();

interface ElementTimes {
  /** Array element index (undefined for a plain job). */
  task: number | undefined;
  /** SLURM's own job id of the element. */
  rawId: string;
  allocated?: number;
  launched?: number;
  completed?: number;
}
interface JobTimes {
  submitted?: number;
  elements: ElementTimes[];
}
/** Times of job `id` (a plain job or an array) from slurmctld's and slurmd's logs, epoch ms. */
function slurmTimes(id: string): JobTimes {
  const out: JobTimes = { elements: [] };
  let ctld = '', slurmd = '';
  try {
    ctld = readFileSync(ctldLog, 'utf8');
    slurmd = readFileSync(slurmdLog, 'utf8');
  } catch (err) {
    console.log(`  note: cannot read the SLURM logs (${(err as Error).message}); no scheduler split`);
    return out;
  }
  const el = new Map<string, ElementTimes>();
  const element = (task: string | undefined, rawId: string) => {
    let e = el.get(rawId);
    if (!e) el.set(rawId, (e = { task: task === undefined ? undefined : Number(task), rawId }));
    return e;
  };
  const sub = new RegExp(`^\\[([^\\]]+)\\] _slurm_rpc_submit_batch_job: JobId=${id} `, 'm').exec(ctld);
  if (sub) out.submitted = logTime(sub[1]!);
  // `sched: Allocate JobId=66_0(67) NodeList=...`, `sched: Allocate JobId=74 NodeList=...`, or the backfill scheduler's `Started JobId=...`
  const alloc = new RegExp(`^\\[([^\\]]+)\\] (?:sched: Allocate|sched/backfill: _start_job: Started) JobId=${id}(?:_(\\d+)\\((\\d+)\\))?[ ,]`, 'gm');
  for (const m of ctld.matchAll(alloc)) element(m[2], m[3] ?? id).allocated ??= logTime(m[1]!);
  const done = new RegExp(`^\\[([^\\]]+)\\] _job_complete: JobId=${id}(?:_(\\d+)\\((\\d+)\\))? done`, 'gm');
  for (const m of ctld.matchAll(done)) element(m[2], m[3] ?? id).completed ??= logTime(m[1]!);
  for (const e of el.values()) {
    const m = new RegExp(`^\\[([^\\]]+)\\] Launching batch job ${e.rawId} for`, 'm').exec(slurmd);
    if (m) e.launched = logTime(m[1]!);
  }
  out.elements = [...el.values()].sort((a, b) => (a.task ?? 0) - (b.task ?? 0));
  return out;
}

// ---------------------------------------------------------------------------------------------
// slurmctld schedules batch jobs in a periodic pass (~1 s apart here, see the baseline's probe):
// a job waits from 0 to 1 s for the next one, depending only on when in the second it arrived.
// So that baseline and flotilla runs are comparable, run k of n is timed to wait (k + 0.5)/n of
// a period: 167, 500 and 833 ms for 3 runs (median: half a period, the average wait).

/**
 * When the next scheduling passes come: submits a `true` job now and returns when slurmctld
 * allocated it (epoch ms, from its log), and the period. A fresh reference each time, since the
 * passes drift (~2 ms a second here) and event-driven allocations (a job ending frees CPUs for a
 * pending one) are not on the grid.
 */
const PASS_PERIOD_MS = 1002;
let lastProbe: number | undefined;
async function passClock(): Promise<{ last: number; periodMs: number } | undefined> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const id = execFileSync('sbatch', ['--parsable', `--job-name=${BASE_PREFIX}phase`, '--output=/dev/null', '--time=1', '--mem=100M', '--chdir=/tmp', '--wrap=true'], { encoding: 'utf8' }).trim().split(';')[0]!;
    submitted.add(id);
    await leftQueue([id], 15_000);
    const last = slurmTimes(id).elements[0]?.allocated;
    if (last === undefined) return undefined;
    // On the grid of the previous probe (a minute or less ago)? Else an event-driven pass took it: probe again.
    const prev = lastProbe;
    lastProbe = last;
    if (prev !== undefined && last - prev < 60_000) {
      const off = (last - prev) % PASS_PERIOD_MS;
      if (Math.min(off, PASS_PERIOD_MS - off) > 60) continue;
    }
    return { last, periodMs: PASS_PERIOD_MS };
  }
  return lastProbe === undefined ? undefined : { last: lastProbe, periodMs: PASS_PERIOD_MS };
}
/**
 * Sleeps so that a submission reaching slurmctld `leadMs` from now waits `waitMs` for the next
 * scheduling pass. Returns the wait planned, NaN when the passes are unknown.
 */
async function atSchedPhase(waitMs: number, leadMs: number): Promise<number> {
  const c = await passClock();
  if (!c) return NaN;
  const arrival = Date.now() + leadMs;
  const p = c.periodMs;
  await sleep((((c.last - arrival - waitMs) % p) + 2 * p) % p);
  return waitMs;
}
const plannedWait = (k: number, n: number) => Math.round((1000 * (k + 0.5)) / n);

// ---------------------------------------------------------------------------------------------
// Instrumenting from outside: lanes as they connect, and the SLURM shells' commands

interface LaneMark {
  us: number;
  wall: number;
  pool: string;
  agentId: string;
}
const laneMarks: LaneMark[] = [];
{
  const proto = Scheduler.prototype as unknown as { addLane(lane: Lane): void };
  const addLane = proto.addLane;
  if (typeof addLane !== 'function') throw new Error('Scheduler changed: no addLane to instrument');
  proto.addLane = function (this: Scheduler, lane: Lane) {
    laneMarks.push({ us: nowUs(), wall: Date.now(), pool: lane.pool, agentId: lane.agentId });
    return addLane.call(this, lane);
  };
}
/** When the pool first asked the SLURM launcher for an agent (hrtime us), per run. */
let firstLaunchUs: number | undefined;
{
  const proto = SlurmLauncherClass.prototype as unknown as { launch(...a: unknown[]): unknown };
  const launch = proto.launch;
  if (typeof launch !== 'function') throw new Error('SlurmLauncher changed: no launch to instrument');
  proto.launch = function (this: unknown, ...a: unknown[]) {
    firstLaunchUs ??= nowUs();
    return launch.apply(this, a);
  };
  const proto2 = SlurmLauncherClass.prototype as unknown as { submit(...a: unknown[]): Promise<unknown> };
  const submit = proto2.submit;
  if (typeof submit !== 'function') throw new Error('SlurmLauncher changed: no submit to instrument');
  proto2.submit = function (this: unknown, ...a: unknown[]) {
    submitUs ??= nowUs();
    return submit.apply(this, a);
  };
}
/** When the launcher's gathered batch went to submit() (hrtime us), per run. */
let submitUs: number | undefined;
interface CommandMark {
  us: number;
  ms: number;
  where: 'local' | 'ssh';
  cmd: string;
}
const commandMarks: CommandMark[] = [];
for (const [Cls, where] of [[LocalShell, 'local'], [SshShell, 'ssh']] as const) {
  const proto = Cls.prototype as unknown as { run(cmd: string, input?: string): Promise<unknown> };
  const run = proto.run;
  proto.run = async function (this: unknown, cmd: string, input?: string) {
    const t = nowUs();
    try {
      return await run.call(this, cmd, input);
    } finally {
      commandMarks.push({ us: t, ms: (nowUs() - t) / 1e3, where, cmd: cmd.split(' ')[0]! });
    }
  };
}

// ---------------------------------------------------------------------------------------------
// Helpers

const { phase, errors } = phaseRunner<Phase>(only);
const show = (label: string, s: Stat, width = 58) => console.log(`  ${label.padEnd(width)} median ${fmt(s.medianMs, 'ms').padStart(9)} ${samples(s.samplesMs)}`);
const minOf = (xs: (number | undefined)[]) => Math.min(...xs.filter((x): x is number => x !== undefined && !Number.isNaN(x)));
const maxOf = (xs: (number | undefined)[]) => Math.max(...xs.filter((x): x is number => x !== undefined && !Number.isNaN(x)));
const medOf = (xs: (number | undefined)[]) => median(xs.filter((x): x is number => x !== undefined && !Number.isNaN(x)));
const fin = (x: number) => (Number.isFinite(x) ? x : NaN);

/** CPU used so far by each agent process of SLURM array `jobId` on this machine, ms. */
function agentCpu(jobId: string): number[] {
  return agentPids([jobId]).map(cpuMs).filter((c): c is number => c !== undefined);
}
/** PIDs of the agent processes of SLURM arrays `jobIds` on this machine. */
function agentPids(jobIds: string[]): number[] {
  const out: number[] = [];
  for (const line of execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).split('\n')) {
    const m = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (!m || !/agent[-\w]*\.mjs\S* --detached/.test(m[2]!)) continue; // dist/agent.mjs, or the login node's cached agent-<hash>.mjs
    try {
      const env = readFileSync(`/proc/${m[1]}/environ`, 'utf8').split('\0');
      if (!jobIds.some((id) => env.includes(`SLURM_ARRAY_JOB_ID=${id}`))) continue;
    } catch {
      continue;
    }
    out.push(Number(m[1]));
  }
  return out;
}

/** PID of the process listening on 127.0.0.1:`port` (ss -ltnp), if any. */
function listenerPid(port: string): number | undefined {
  try {
    const out = execFileSync('ss', ['-Hltnp', `sport = :${port}`], { encoding: 'utf8' });
    const m = /pid=(\d+)/.exec(out);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
function ppidOf(pid: number): number | undefined {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(f.slice(f.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

const tmp = tempDir('flotilla-slurm-bench-');

// ---------------------------------------------------------------------------------------------
// baseline: plain sbatch / srun

interface BatchRun {
  jobId: string;
  /** Spawn of sbatch until it printed the job id, ms. */
  submitMs: number;
  /** Spawn until sbatch --wait exited, ms. */
  waitMs: number;
  /** Spawn until slurmctld allocated the (first, last) element, ms (its log, 1 ms resolution). */
  allocFirstMs: number;
  allocLastMs: number;
  /** Spawn until slurmd launched the (first, last) element, ms. */
  launchFirstMs: number;
  launchLastMs: number;
  /** Spawn until the script's payload started (first element) and ended (last element), ms (date +%s%N in the job). */
  startFirstMs: number;
  startLastMs: number;
  endLastMs: number;
  /** Payload run time (end - start), median over elements, ms. */
  payloadMs: number;
  /** slurmctld took the job -> allocated (first element): the wait for the scheduling pass, ms; and the wait this run was timed for. */
  schedWaitMs: number;
  plannedWaitMs?: number;
}
interface BatchCase {
  name: string;
  runs: BatchRun[];
  waitMs: Stat;
  submitMs: Stat;
  allocFirstMs: Stat;
  launchFirstMs: Stat;
  startFirstMs: Stat;
  startLastMs: Stat;
  endLastMs: Stat;
  payloadMs: Stat;
}

/** `sbatch --wait [--array=0-(n-1)]` of a script running `payload`; times as above. */
async function sbatchWait(tag: string, payload: string, n: number): Promise<BatchRun> {
  const dir = mkdtempSync(join(tmp, `${tag}-`));
  const script = join(dir, 'job.sh');
  writeFileSync(script, `#!/bin/sh\necho "start $(date +%s%N)"\n${payload}\necho "end $(date +%s%N)"\n`, { mode: 0o755 });
  const argv = ['--wait', '--parsable', `--job-name=${BASE_PREFIX}${tag}`, `--output=${dir}/%A_%a.out`, '--time=1', '--mem=100M', `--chdir=${dir}`, ...(n > 1 ? [`--array=0-${n - 1}`] : []), script];
  const wall0 = Date.now();
  const t0 = nowUs();
  let submitMs = NaN;
  let jobId = '';
  await new Promise<void>((resolve, reject) => {
    const child = spawn('sbatch', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    const timer = setTimeout(() => child.kill('SIGTERM'), 120_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d;
      const m = /^(\d+)/.exec(out);
      if (m && !jobId) {
        jobId = m[1]!;
        submitted.add(jobId);
        submitMs = (nowUs() - t0) / 1e3;
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.on('close', (code) => {
      clearTimeout(timer);
      code === 0 && jobId ? resolve() : reject(new Error(`sbatch ${argv.join(' ')}: exit ${code}: ${err.trim()}`));
    });
  });
  const waitMs = (nowUs() - t0) / 1e3;
  const st: { start: number; end: number }[] = [];
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.out'))) {
    const text = readFileSync(join(dir, f), 'utf8');
    const start = Number(/start (\d+)/.exec(text)?.[1]) / 1e6, end = Number(/end (\d+)/.exec(text)?.[1]) / 1e6;
    st.push({ start: start - wall0, end: end - wall0 });
  }
  if (st.length !== n) throw new Error(`sbatch job ${jobId}: ${st.length} of ${n} outputs in ${dir}`);
  const t = slurmTimes(jobId);
  const rel = (x: number | undefined) => (x === undefined ? undefined : x - wall0);
  return {
    jobId,
    submitMs,
    waitMs,
    allocFirstMs: fin(minOf(t.elements.map((e) => rel(e.allocated)))),
    allocLastMs: fin(maxOf(t.elements.map((e) => rel(e.allocated)))),
    launchFirstMs: fin(minOf(t.elements.map((e) => rel(e.launched)))),
    launchLastMs: fin(maxOf(t.elements.map((e) => rel(e.launched)))),
    startFirstMs: minOf(st.map((s) => s.start)),
    startLastMs: maxOf(st.map((s) => s.start)),
    endLastMs: maxOf(st.map((s) => s.end)),
    payloadMs: medOf(st.map((s) => s.end - s.start)),
    schedWaitMs: t.submitted === undefined ? NaN : fin(minOf(t.elements.map((e) => e.allocated))) - t.submitted,
  };
}

function batchCase(name: string, runs: BatchRun[]): BatchCase {
  const s = (k: keyof BatchRun) => stat(runs.map((r) => r[k] as number));
  return { name, runs, waitMs: s('waitMs'), submitMs: s('submitMs'), allocFirstMs: s('allocFirstMs'), launchFirstMs: s('launchFirstMs'), startFirstMs: s('startFirstMs'), startLastMs: s('startLastMs'), endLastMs: s('endLastMs'), payloadMs: s('payloadMs') };
}

interface Baseline {
  sbatchTrue: BatchCase;
  sbatchNode: BatchCase;
  sbatchArrayNode: BatchCase;
  srunTrue: Stat;
  srunNode: Stat;
  /** Sub-second phase of slurmctld's allocations of the runs above (ms after the whole second). */
  allocPhaseMs: number[];
  /** `true` submitted at 8 phases of the second: how long each waited to be allocated. */
  schedProbe: SchedProbe[];
}
interface SchedProbe {
  /** ms past the whole second sbatch was spawned. */
  submitPhaseMs: number;
  /** spawn -> allocated (slurmctld log), ms. */
  allocatedMs: number;
  allocPhaseMs: number;
}
const baseline = await phase('baseline', async (): Promise<Baseline> => {
  await cpusFree(many);
  await timeCommand('node', ['-e', '0'], 60_000); // page cache
  const cases: [string, string, number][] = [
    ['true', 'true', 1],
    ['node', 'node -e 0', 1],
    [`array${many}-node`, 'node -e 0', many],
  ];
  const runs: BatchRun[][] = cases.map(() => []);
  for (let r = 0; r < reps; r++) {
    for (const [i, [tag, payload, n]] of cases.entries()) {
      const planned = await atSchedPhase(plannedWait(r, reps), 8);
      const run = await sbatchWait(tag, payload, n);
      run.plannedWaitMs = planned;
      runs[i]!.push(run);
    }
  }
  const [sbatchTrue, sbatchNode, sbatchArrayNode] = cases.map(([tag, payload, n], i) => batchCase(`sbatch${n > 1 ? ` --array=0-${n - 1}` : ''} --wait: ${payload}`, runs[i]!));
  for (const c of [sbatchTrue!, sbatchNode!, sbatchArrayNode!]) {
    console.log(`  ${c.name}`);
    show('  sbatch --wait, spawn -> exit', c.waitMs);
    show('  spawn -> job id printed (slurmctld took it)', c.submitMs);
    show('  spawn -> allocated (slurmctld log; first element)', c.allocFirstMs);
    show('  spawn -> launched (slurmd log; first element)', c.launchFirstMs);
    show('  spawn -> payload started (first element)', c.startFirstMs);
    if (c === sbatchArrayNode) show('  spawn -> payload started (last element)', c.startLastMs);
    show(`  spawn -> payload ended (${c === sbatchArrayNode ? 'last element' : 'finished'})`, c.endLastMs);
    show('  payload run time (date to date)', c.payloadMs);
    show('  slurmctld took it -> allocated (wait for the pass)', stat(c.runs.map((r) => r.schedWaitMs)));
  }
  const srun = async (what: string[]) => {
    const xs: number[] = [];
    for (let r = 0; r < Math.max(reps, 3); r++) xs.push(await timeCommand('srun', ['-Q', `--job-name=${BASE_PREFIX}srun`, '--time=1', '--mem=100M', '--chdir=/tmp', ...what], 60_000));
    return stat(xs);
  };
  const srunTrue = await srun(['true']);
  const srunNode = await srun(['node', '-e', '0']);
  show('srun true, spawn -> exit', srunTrue);
  show('srun node -e 0, spawn -> exit', srunNode);
  const allocPhaseMs = runs.flat().flatMap((r) => {
    const t = slurmTimes(r.jobId);
    return t.elements.map((e) => (e.allocated === undefined ? NaN : e.allocated % 1000)).slice(0, 1);
  });
  console.log(`  allocations of the runs above happened at ${samples(allocPhaseMs)} ms past the second`);
  // When in the second a batch job is submitted decides how long it waits for slurmctld's
  // scheduling pass: submit `true` at 8 phases of the wall-clock second, no --wait.
  const probe: SchedProbe[] = [];
  for (let k = 0; k < 8; k++) {
    const phase = k * 125;
    await sleep((phase - (Date.now() % 1000) + 2000) % 1000);
    const wall0 = Date.now();
    const id = execFileSync('sbatch', ['--parsable', `--job-name=${BASE_PREFIX}probe`, '--output=/dev/null', '--time=1', '--mem=100M', '--chdir=/tmp', '--wrap=true'], { encoding: 'utf8' }).trim().split(';')[0]!;
    submitted.add(id);
    await leftQueue([id], 15_000);
    const t = slurmTimes(id);
    const e = t.elements[0];
    probe.push({ submitPhaseMs: wall0 % 1000, allocatedMs: e?.allocated === undefined ? NaN : e.allocated - wall0, allocPhaseMs: e?.allocated === undefined ? NaN : e.allocated % 1000 });
  }
  console.log(`  scheduling pass: sbatch at ms ${probe.map((p) => p.submitPhaseMs).join(', ')} of the second -> allocated after ${samples(probe.map((p) => p.allocatedMs))} ms (at ms ${samples(probe.map((p) => p.allocPhaseMs))}); median ${fmt(median(probe.map((p) => p.allocatedMs)), 'ms')}`);
  return { sbatchTrue: sbatchTrue!, sbatchNode: sbatchNode!, sbatchArrayNode: sbatchArrayNode!, srunTrue, srunNode, allocPhaseMs, schedProbe: probe };
});

// ---------------------------------------------------------------------------------------------
// ready: connect() with waitForAgents until it resolves

function slurmPool(agents: number, extra: Partial<Extract<PoolOptions, { launcher: 'slurm' }>> = {}): PoolOptions {
  return { launcher: 'slurm', agents, slots: 1, resources: { time: '10m', mem: '100M' }, graceMs: 3000, pollSeconds: 1, ...extra };
}
const launcherOf = (fl: Session, pool: string) => fl.controller!.pools.get(pool)!.launcher as SlurmLauncher;
/** The launcher's job elements and their agents (a private map: this is instrumentation). */
function elementsOf(fl: Session, pool: string): { key: string; agentId: string; log: string }[] {
  const m = (launcherOf(fl, pool) as unknown as { elements?: Map<string, { key: string; agentId: string; log: string }> }).elements;
  if (!(m instanceof Map)) throw new Error('SlurmLauncher changed: no elements map to read');
  return [...m.values()].map((e) => ({ key: e.key, agentId: e.agentId, log: e.log }));
}
/** When the agent's log says it started (`dialing ...`), epoch ms; and the URL it dialled. */
function agentStarted(log: string): { at: number; url: string } | undefined {
  try {
    const m = /^\[flotilla-agent ([^\]]+)\] .*dialing (\S+)/m.exec(readFileSync(log, 'utf8'));
    return m ? { at: new Date(m[1]!).getTime(), url: m[2]! } : undefined;
  } catch {
    return undefined;
  }
}

interface ElementSplit {
  key: string;
  /** ms after the controller's 'submitted array' log line (negative: before it). */
  allocatedMs: number;
  launchedMs: number;
  dialingMs: number;
  readyMs: number;
}
interface ReadyRun {
  agents: number;
  jobId: string;
  idleCpusBefore: number;
  /** connect() called -> resolved, ms. */
  totalMs: number;
  /** connect() -> the 'slurm: submitted array' log line, ms. */
  submittedMs: number;
  /** connect() -> the pool's first launch() (controller started, pools created), ms. */
  firstLaunchMs: number;
  /** connect() -> the gathered launches went to the launcher's submit(), ms. */
  submitCalledMs: number;
  /** Shell commands close() ran: command -> [count, total ms]. */
  closeCommands: Record<string, [number, number]>;
  /** CPU each agent process had used when connect() resolved, ms (user + system, all threads). */
  agentCpuMs: number[];
  /** CPU this process (controller) used from connect() to resolved, ms. */
  controllerCpuMs: number;
  /** The launcher's commands before that line: [command, ms]. */
  commands: [string, number][];
  /** sbatch returned -> first / last lane connected, ms. */
  firstReadyMs: number;
  allReadyMs: number;
  /** slurmctld took the job (its log) -> the controller's log line, ms: how long sbatch + rm took after slurmctld had it. */
  ctldSubmitToLineMs: number;
  /** slurmctld took the array -> first element allocated: the wait for the scheduling pass, ms; and the wait this run was timed for. */
  schedWaitMs: number;
  plannedWaitMs: number;
  elements: ElementSplit[];
  closeMs: number;
  /** From close() returning until the array left the queue, ms. */
  goneMs: number;
}

async function readyOnce(pool: string, agents: number, waitMs?: number, leadMs = 60): Promise<ReadyRun> {
  const idleCpusBefore = await cpusFree(agents);
  const plannedWaitMs = waitMs === undefined ? NaN : await atSchedPhase(waitMs, leadMs);
  const lines: { us: number; wall: number; line: string }[] = [];
  laneMarks.length = 0;
  commandMarks.length = 0;
  firstLaunchUs = undefined;
  submitUs = undefined;
  const cpu0 = process.cpuUsage();
  const t0 = nowUs();
  const fl = await connect({
    pools: { [pool]: slurmPool(agents) },
    waitForAgents: agents,
    controller: { log: (line) => lines.push({ us: nowUs(), wall: Date.now(), line }) },
  });
  const totalMs = (nowUs() - t0) / 1e3;
  const cpu = process.cpuUsage(cpu0);
  const controllerCpuMs = (cpu.user + cpu.system) / 1e3;
  let jobId = '';
  try {
    const sub = lines.find((l) => /slurm: submitted array/.test(l.line));
    if (!sub) throw new Error(`no 'slurm: submitted array' log line; log: ${lines.map((l) => l.line).join(' | ')}`);
    jobId = /submitted array (\d+)/.exec(sub.line)![1]!;
    submitted.add(jobId);
    const agentCpuMs = agentCpu(jobId);
    const firstLaunchMs = firstLaunchUs === undefined ? NaN : (firstLaunchUs - t0) / 1e3;
    const submitCalledMs = submitUs === undefined ? NaN : (submitUs - t0) / 1e3;
    const els = elementsOf(fl, pool);
    const lanes = laneMarks.filter((l) => l.pool === pool);
    if (lanes.length < agents) throw new Error(`${lanes.length} lanes seen, ${agents} expected`);
    const firstReadyMs = (Math.min(...lanes.map((l) => l.us)) - sub.us) / 1e3;
    const allReadyMs = (Math.max(...lanes.map((l) => l.us)) - sub.us) / 1e3;
    const commands = commandMarks.filter((c) => c.us < sub.us).map((c): [string, number] => [c.cmd, c.ms]);
    const t1 = nowUs();
    await within(fl.close(), 30_000, 'session close()');
    const closeMs = (nowUs() - t1) / 1e3;
    const closeCommands: Record<string, [number, number]> = {};
    for (const c of commandMarks.filter((c) => c.us >= t1)) {
      const e = (closeCommands[c.cmd] ??= [0, 0]);
      e[0]++;
      e[1] += c.ms;
    }
    const goneMs = await leftQueue([jobId]);
    // Logs are complete now.
    const times = slurmTimes(jobId);
    const byTask = new Map(times.elements.map((e) => [e.task, e]));
    const elements = els.map((e): ElementSplit => {
      const t = byTask.get(Number(e.key.split('_')[1]));
      const lane = lanes.find((l) => l.agentId === e.agentId);
      const d = agentStarted(e.log);
      const rel = (x: number | undefined) => (x === undefined ? NaN : x - sub.wall);
      return { key: e.key, allocatedMs: rel(t?.allocated), launchedMs: rel(t?.launched), dialingMs: rel(d?.at), readyMs: lane ? (lane.us - sub.us) / 1e3 : NaN };
    });
    const ctldSubmitToLineMs = times.submitted === undefined ? NaN : sub.wall - times.submitted;
    const schedWaitMs = times.submitted === undefined ? NaN : fin(minOf(times.elements.map((e) => e.allocated))) - times.submitted;
    return { agents, jobId, idleCpusBefore, totalMs, submittedMs: (sub.us - t0) / 1e3, firstLaunchMs, submitCalledMs, closeCommands, schedWaitMs, plannedWaitMs, agentCpuMs, controllerCpuMs, commands, firstReadyMs, allReadyMs, ctldSubmitToLineMs, elements, closeMs, goneMs };
  } catch (err) {
    await fl.close().catch(() => {});
    if (jobId) await leftQueue([jobId]).catch(() => {});
    throw err;
  }
}

interface ReadyCase {
  agents: number;
  pool: string;
  runs: ReadyRun[];
  totalMs: Stat;
  submittedMs: Stat;
  firstReadyMs: Stat;
  allReadyMs: Stat;
  /** Medians over runs of each run's first / median / last element, ms after the log line. */
  allocated: { first: number; last: number };
  launched: { first: number; last: number };
  dialing: { first: number; median: number; last: number };
  /** Per element, median over all elements of all runs: launched -> dialing, dialing -> lane ready, ms. */
  launchToDialingMs: number;
  dialingToReadyMs: number;
  closeMs: number;
  goneMs: number;
  firstLaunchMs: number;
  /** Median CPU per agent at ready, and the controller's CPU until ready, ms. */
  agentCpuMs: number;
  controllerCpuMs: number;
  errors: string[];
  /** Runs left out of the medians: they started with fewer idle CPUs than agents. */
  contended: ReadyRun[];
}

const ready = await phase('ready', async (): Promise<ReadyCase[]> => {
  try {
    const w = await readyOnce(POOL1, 1); // warm-up: modules, page cache, the bundle
    console.log(`  warm-up (1 agent, not counted): ${fmt(w.totalMs, 'ms')}`);
  } catch (err) {
    console.log(`  warm-up failed: ${(err as Error).message}`);
  }
  const specs = [
    { pool: POOL1, agents: 1 },
    { pool: POOLN, agents: many },
  ];
  const runs: ReadyRun[][] = specs.map(() => []);
  const errs: string[][] = specs.map(() => []);
  // connect() -> slurmctld has the array, so the run can be timed to its planned wait.
  const lead = (i: number) => {
    const xs = runs[i]!.map((r) => r.submittedMs - r.ctldSubmitToLineMs).filter(Number.isFinite);
    return xs.length ? median(xs) : specs[i]!.agents > 1 ? 110 : 50;
  };
  // A run that had to wait for others' jobs gets one more try at the end, with the same planned wait.
  const plan: { i: number; r: number }[] = [];
  for (let r = 0; r < reps; r++) for (const i of specs.keys()) plan.push({ i, r });
  for (let k = 0; k < plan.length; k++) {
    const { i, r } = plan[k]!;
    const s = specs[i]!;
    const label = `${String(s.agents).padStart(2)} agent(s) run ${r + 1}${k >= reps * specs.length ? ' (again)' : ''}`;
    try {
      const run = await readyOnce(s.pool, s.agents, plannedWait(r, reps), lead(i));
      if (run.idleCpusBefore < s.agents && k < reps * specs.length) plan.push({ i, r });
      runs[i]!.push(run);
      console.log(
        `  ${label}: ready ${fmt(run.totalMs, 'ms')} (idle CPUs before ${run.idleCpusBefore}; waited ${fmt(run.schedWaitMs, 'ms')} for the pass, planned ${fmt(run.plannedWaitMs, 'ms')}); submitted at ${fmt(run.submittedMs, 'ms')}, then first ${fmt(run.firstReadyMs, 'ms')}, all ${fmt(run.allReadyMs, 'ms')}; ` +
          `allocated +${fmt(medOf(run.elements.map((e) => e.allocatedMs)), 'ms')}, launched +${fmt(minOf(run.elements.map((e) => e.launchedMs)), 'ms')}..${fmt(maxOf(run.elements.map((e) => e.launchedMs)), 'ms')}, dialing +${fmt(minOf(run.elements.map((e) => e.dialingMs)), 'ms')}..${fmt(maxOf(run.elements.map((e) => e.dialingMs)), 'ms')}; ` +
          `close ${fmt(run.closeMs, 'ms')}, off the queue ${fmt(run.goneMs, 'ms')} later`,
      );
    } catch (err) {
      errs[i]!.push((err as Error).message);
      console.log(`  ${label} FAILED: ${(err as Error).message}`);
    }
  }
  const out = specs.map((s, i): ReadyCase => {
    // A run that started while others' jobs held CPUs it needed measured their jobs, not ours:
    // left out of the medians when there is any other run (still in the JSON, `contended`).
    const clean = runs[i]!.filter((r) => r.idleCpusBefore >= s.agents);
    const rs = clean.length ? clean : runs[i]!;
    const contended = runs[i]!.filter((r) => !rs.includes(r));
    const el = (f: (e: ElementSplit) => number) => rs.map((r) => r.elements.map(f));
    const per = (xs: number[][], f: (v: number[]) => number) => median(xs.map(f).filter((v) => Number.isFinite(v)));
    return {
      ...s,
      runs: rs,
      totalMs: stat(rs.map((r) => r.totalMs)),
      submittedMs: stat(rs.map((r) => r.submittedMs)),
      firstReadyMs: stat(rs.map((r) => r.firstReadyMs)),
      allReadyMs: stat(rs.map((r) => r.allReadyMs)),
      allocated: { first: per(el((e) => e.allocatedMs), minOf), last: per(el((e) => e.allocatedMs), maxOf) },
      launched: { first: per(el((e) => e.launchedMs), minOf), last: per(el((e) => e.launchedMs), maxOf) },
      dialing: { first: per(el((e) => e.dialingMs), minOf), median: per(el((e) => e.dialingMs), medOf), last: per(el((e) => e.dialingMs), maxOf) },
      launchToDialingMs: medOf(rs.flatMap((r) => r.elements.map((e) => e.dialingMs - e.launchedMs))),
      dialingToReadyMs: medOf(rs.flatMap((r) => r.elements.map((e) => e.readyMs - e.dialingMs))),
      closeMs: median(rs.map((r) => r.closeMs)),
      goneMs: median(rs.map((r) => r.goneMs)),
      firstLaunchMs: median(rs.map((r) => r.firstLaunchMs)),
      agentCpuMs: medOf(rs.flatMap((r) => r.agentCpuMs)),
      controllerCpuMs: median(rs.map((r) => r.controllerCpuMs)),
      errors: errs[i]!,
      contended,
    };
  });
  for (const c of out) {
    const short = c.runs.filter((r) => r.idleCpusBefore < c.agents).length;
    console.log(
      `  -- ${c.agents} agent(s) in one array, medians of ${c.runs.length} run(s)` +
        (c.contended.length ? ` (left out: ${c.contended.length} run(s) started with fewer idle CPUs than agents, others' jobs: ready ${c.contended.map((r) => fmt(r.totalMs, 'ms')).join(', ')})` : '') +
        (short ? ` (all runs started with fewer idle CPUs than agents: others' jobs)` : ''),
    );
    show('connect() -> resolved (all ready)', c.totalMs);
    show("connect() -> 'slurm: submitted array' (sbatch returned)", c.submittedMs);
    show('sbatch returned -> first agent ready', c.firstReadyMs);
    show(`sbatch returned -> all ${c.agents} ready`, c.allReadyMs);
    const cmds = c.runs[0]?.commands.map(([cmd, ms]) => `${cmd} ${fmt(ms, 'ms')}`).join(', ');
    console.log(`    before the log line: controller start until the first launch() ${fmt(c.firstLaunchMs, 'ms')}, submit() at ${fmt(median(c.runs.map((r) => r.submitCalledMs)), 'ms')}, then (run 1) ${cmds || 'no shell commands'}; slurmctld took the job ${fmt(median(c.runs.map((r) => r.ctldSubmitToLineMs)), 'ms')} before the line`);
    console.log(
      `    per element, ms after the line: allocated ${fmt(c.allocated.first)}..${fmt(c.allocated.last)} (scheduler), launched by slurmd ${fmt(c.launched.first)}..${fmt(c.launched.last)}, ` +
        `agent dialing ${fmt(c.dialing.first)}..${fmt(c.dialing.last)} (median ${fmt(c.dialing.median)}); launched -> dialing ${fmt(c.launchToDialingMs, 'ms')} (stepd, prolog, bash, node + bundle), dialing -> lane ${fmt(c.dialingToReadyMs, 'ms')} (lane worker thread start, dial, handshake)`,
    );
    console.log(
      `    CPU at ready: ${fmt(c.agentCpuMs, 'ms')} per agent (x${c.agents} = ${fmt(c.agentCpuMs * c.agents, 'ms')} on ${availableParallelism()} real cores), controller ${fmt(c.controllerCpuMs, 'ms')}; close() ${fmt(c.closeMs, 'ms')} (run 1 ran ${Object.entries(c.runs[0]?.closeCommands ?? {}).map(([k, [n, t]]) => `${n} ${k} ${fmt(t, 'ms')}`).join(', ') || 'no commands'}), array off the queue ${fmt(c.goneMs, 'ms')} after that`,
    );
  }
  return out;
});

// ---------------------------------------------------------------------------------------------
// paths: direct vs relay, one controller, alternating blocks

interface ThroughputStat {
  tasks: number;
  medianTasksPerS: number;
  runsTasksPerS: number[];
  /** CPU this process (controller, and ssh2 for the relay's tunnel) spent per task, median over runs, us. */
  controllerCpuUsPerTask: number;
  /** CPU per task of the pool's agent processes, and (relay) of the relay process and the sshd session carrying the tunnel, median over runs, us. */
  agentsCpuUsPerTask: number;
  relayCpuUsPerTask?: number;
  sshdCpuUsPerTask?: number;
}
interface PathResult {
  readyMs: number;
  dialed: string[];
  latency: LatencyStat;
  throughput: ThroughputStat;
}

const paths = await phase('paths', async (): Promise<Record<string, PathResult>> => {
  if (!ssh) throw new Error('sshd fixture not up');
  await cpusFree(4);
  const pools = [POOL_DIRECT, POOL_RELAY, POOL_TUNNEL];
  laneMarks.length = 0;
  const t0 = nowUs();
  const fl = await connect({
    pools: {
      [POOL_DIRECT]: slurmPool(2),
      [POOL_RELAY]: slurmPool(2, { via: ssh.hostAlias, relayListen: '127.0.0.1:0', ssh: { sshConfig: ssh.sshConfig, knownHosts: ssh.knownHosts, tunnel: 'always' } }),
      // Reference, not SLURM: 2 agents started over SSH on the same sshd, dialling through the same kind of reverse tunnel, no relay.
      [POOL_TUNNEL]: { launcher: 'ssh', hosts: [ssh.hostAlias], agentsPerHost: 2, slots: 1, sshConfig: ssh.sshConfig, knownHosts: ssh.knownHosts, tunnel: 'always' },
    },
    controller: { log: (line) => (/slurm: submitted array (\d+)/.test(line) ? submitted.add(/submitted array (\d+)/.exec(line)![1]!) : undefined) },
  });
  const slurmPools = [POOL_DIRECT, POOL_RELAY];
  const jobIds = () => slurmPools.flatMap((p) => elementsOf(fl, p).map((e) => arrayOf(e.key)));
  let ids: string[] = [];
  try {
    const readyMs: Record<string, number> = {};
    await Promise.all(pools.map((p) => fl.controller!.waitForLanes(2, { pool: p, timeoutMs: 60_000 }).then(() => (readyMs[p] = (nowUs() - t0) / 1e3))));
    ids = [...new Set(jobIds())];
    // Which address each pool's agents dialled: the controller's port, or the relay's.
    const controllerPort = new URL(fl.controller!.agentUrl).port;
    const dialed: Record<string, string[]> = Object.fromEntries(slurmPools.map((p) => [p, elementsOf(fl, p).map((e) => agentStarted(e.log)?.url ?? '?')]));
    const sshVia = (fl.controller!.pools.get(POOL_TUNNEL)!.launcher as unknown as { status(): { via?: string }[] }).status().map((h) => h.via ?? '?');
    if (!sshVia.every((v) => v === 'tunnel')) throw new Error(`the ${POOL_TUNNEL} pool is not on the tunnel: ${sshVia.join(', ')}`);
    dialed[POOL_TUNNEL] = sshVia.map((v) => `(ssh ${v})`);
    if (!dialed[POOL_DIRECT]!.every((u) => u.includes(`:${controllerPort}/`))) throw new Error(`direct agents did not dial the controller (:${controllerPort}): ${dialed[POOL_DIRECT]!.join(', ')}`);
    if (!dialed[POOL_RELAY]!.every((u) => u !== '?' && !u.includes(`:${controllerPort}/`))) throw new Error(`relay agents dialled the controller, not a relay: ${dialed[POOL_RELAY]!.join(', ')}`);
    console.log(`  2+2 agents: ${pools.map((p) => `${p} ready ${fmt(readyMs[p], 'ms')}, dialled ${[...new Set(dialed[p])].join(' ')}`).join('; ')}`);
    // Processes to watch: each pool's agents; the relay (listening on the port the relay agents
    // dialled) and its parent, the sshd session of the controller's SSH connection.
    const watch: Record<string, Record<string, number[]>> = {};
    for (const p of slurmPools) watch[p] = { agents: agentPids([...new Set(elementsOf(fl, p).map((e) => arrayOf(e.key)))]) };
    watch[POOL_TUNNEL] = { agents: fl.controller!.pools.get(POOL_TUNNEL)!.status().running ? [...fl.controller!.scheduler.lanes].filter((l) => l.pool === POOL_TUNNEL).map((l) => l.hello.pid) : [] };
    const relayPid = listenerPid(new URL(dialed[POOL_RELAY]![0]!).port);
    const sshdPid = relayPid === undefined ? undefined : ppidOf(relayPid);
    if (relayPid !== undefined) watch[POOL_RELAY]!.relay = [relayPid];
    if (sshdPid !== undefined) watch[POOL_RELAY]!.sshd = [sshdPid];
    console.log(`  watching CPU of: ${pools.map((p) => `${p} ${Object.entries(watch[p]!).map(([k, v]) => `${k} ${v.join(',')}`).join(', ')}`).join('; ')}${sshdPid ? ` (sshd session: ${readFileSync(`/proc/${sshdPid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim()})` : ''}`);

    const { latency: lat, tput } = await alternatePools(fl, pools, { calls, blocks: 6, tasks, tputReps, watch });
    const out: Record<string, PathResult> = {};
    for (const p of pools) {
      const rs = tput[p]!;
      out[p] = {
        readyMs: readyMs[p]!,
        dialed: dialed[p]!,
        latency: latencyStat(lat[p]!),
        throughput: {
          tasks,
          medianTasksPerS: median(rs.map((r) => r.tasksPerS)),
          runsTasksPerS: rs.map((r) => r.tasksPerS),
          controllerCpuUsPerTask: median(rs.map((r) => r.cpuUsPerTask)),
          agentsCpuUsPerTask: median(rs.map((r) => r.others.agents ?? NaN)),
          ...(watch[p]!.relay ? { relayCpuUsPerTask: median(rs.map((r) => r.others.relay ?? NaN)) } : {}),
          ...(watch[p]!.sshd ? { sshdCpuUsPerTask: median(rs.map((r) => r.others.sshd ?? NaN)) } : {}),
        },
      };
      const v = out[p]!;
      console.log(
        `  ${p.padEnd(13)} latency (${v.latency.calls} one-item maps): median ${fmt(v.latency.medianUs, 'us').padStart(8)}, p99 ${fmt(v.latency.p99Us, 'us').padStart(9)}, max ${fmt(v.latency.maxUs, 'us').padStart(9)}; ` +
          `throughput (${tasks} tiny tasks): median ${fmt(v.throughput.medianTasksPerS, 'tasks/s')} [${v.throughput.runsTasksPerS.map((x) => fmt(x)).join(', ')}], CPU per task: controller ${v.throughput.controllerCpuUsPerTask.toFixed(1)} us, agents ${v.throughput.agentsCpuUsPerTask.toFixed(1)} us` +
          (v.throughput.relayCpuUsPerTask !== undefined ? `, relay ${v.throughput.relayCpuUsPerTask.toFixed(1)} us` : '') +
          (v.throughput.sshdCpuUsPerTask !== undefined ? `, sshd ${v.throughput.sshdCpuUsPerTask.toFixed(1)} us` : ''),
      );
    }
    const d = out[POOL_DIRECT]!;
    for (const p of [POOL_RELAY, POOL_TUNNEL]) printVs(p, POOL_DIRECT, out[p]!, d);
    return out;
  } finally {
    ids = [...new Set([...ids, ...(() => {
      try {
        return jobIds();
      } catch {
        return [];
      }
    })()])];
    await within(fl.close(), 30_000, 'session close()').catch((err) => console.log(`  close failed: ${(err as Error).message}`));
    if (ids.length) await leftQueue(ids).catch((err) => console.log(`  ${(err as Error).message}`));
  }
});

// ---------------------------------------------------------------------------------------------
// Summary

const rows: Row[] = [];
const row = (figure: string, v: number | undefined, unit: string, b?: number, bName = '') => rows.push({ figure, value: fmt(v, unit), baseline: b === undefined ? '-' : `${fmt(b, unit)} ${bName}`.trim(), ratio: x(v, b) });
if (baseline) {
  const b = baseline;
  row('sbatch --wait true (spawn -> exit)', b.sbatchTrue.waitMs.medianMs, 'ms');
  row('sbatch true: submit -> finished (in-job date)', b.sbatchTrue.endLastMs.medianMs, 'ms', b.sbatchTrue.waitMs.medianMs, 'sbatch --wait');
  row('sbatch true: submit -> allocated (slurmctld)', b.sbatchTrue.allocFirstMs.medianMs, 'ms');
  row('sbatch --wait node -e 0', b.sbatchNode.waitMs.medianMs, 'ms', b.sbatchTrue.waitMs.medianMs, 'sbatch --wait true');
  row('sbatch node -e 0: submit -> finished', b.sbatchNode.endLastMs.medianMs, 'ms', b.sbatchTrue.endLastMs.medianMs, 'true job');
  row(`sbatch --array=0-${many - 1} --wait node -e 0`, b.sbatchArrayNode.waitMs.medianMs, 'ms', b.sbatchNode.waitMs.medianMs, '1 job');
  row(`array ${many} node -e 0: submit -> last finished`, b.sbatchArrayNode.endLastMs.medianMs, 'ms', b.sbatchNode.endLastMs.medianMs, '1 job');
  row('sbatch true: submit -> allocated, 8 phases', median(b.schedProbe.map((p) => p.allocatedMs)), 'ms', Math.max(...b.schedProbe.map((p) => p.allocatedMs)), 'worst');
  row('srun true', b.srunTrue.medianMs, 'ms');
  row('srun node -e 0', b.srunNode.medianMs, 'ms', b.srunTrue.medianMs, 'srun true');
}
const r1 = ready?.find((c) => c.agents === 1), rN = ready?.find((c) => c.agents === many);
for (const c of [r1, rN]) {
  if (!c || c.runs.length === 0) continue;
  const one = c.agents === 1;
  const ref = one ? baseline?.sbatchNode : baseline?.sbatchArrayNode;
  row(`ready: ${c.agents} agent(s), connect -> resolved`, c.totalMs.medianMs, 'ms', ref?.endLastMs.medianMs, one ? 'node -e 0 job' : `array ${many} node -e 0`);
  row(
    `ready ${c.agents}: same, minus the wait for the scheduling pass`,
    median(c.runs.map((r) => r.totalMs - minOf(r.elements.map((e) => e.allocatedMs)))),
    'ms',
    ref ? median(ref.runs.map((r) => r.endLastMs - r.allocFirstMs)) : undefined,
    one ? 'node -e 0 job, same' : 'array, same',
  );
  row(`ready ${c.agents}: connect -> sbatch returned`, c.submittedMs.medianMs, 'ms', baseline?.sbatchTrue.submitMs.medianMs, 'sbatch CLI');
  row(`ready ${c.agents}: sbatch -> first agent ready`, c.firstReadyMs.medianMs, 'ms', ref ? ref.startFirstMs.medianMs - ref.submitMs.medianMs : undefined, 'job start');
  if (!one) row(`ready ${c.agents}: sbatch -> all ready`, c.allReadyMs.medianMs, 'ms', ref ? ref.endLastMs.medianMs - ref.submitMs.medianMs : undefined, 'last node -e 0 end');
  row(`ready ${c.agents}: wait for the scheduling pass`, median(c.runs.map((r) => r.schedWaitMs)), 'ms', ref ? median(ref.runs.map((r) => r.schedWaitMs)) : undefined, 'same in baseline');
  row(`ready ${c.agents}: sbatch -> allocated (first)`, c.allocated.first, 'ms');
  row(`ready ${c.agents}: launched -> agent dialing`, c.launchToDialingMs, 'ms', ref ? ref.startFirstMs.medianMs - ref.launchFirstMs.medianMs + ref.payloadMs.medianMs : undefined, 'launch->node -e 0 end');
  row(`ready ${c.agents}: dialing -> lane (worker + handshake)`, c.dialingToReadyMs, 'ms');
  row(`ready ${c.agents}: CPU per agent at ready`, c.agentCpuMs, 'ms', one ? undefined : r1?.agentCpuMs, '1 agent');
}
if (r1?.runs.length && rN?.runs.length) row(`ready: ${many} agents vs 1`, rN.totalMs.medianMs, 'ms', r1.totalMs.medianMs, '1 agent');
if (paths) {
  const d = paths[POOL_DIRECT]!, r = paths[POOL_RELAY]!;
  row('paths: 2 agents ready, direct', d.readyMs, 'ms');
  row('paths: 2 agents ready, relay (via ssh)', r.readyMs, 'ms', d.readyMs, 'direct');
  row('latency median, direct', d.latency.medianUs, 'us');
  row('latency median, relay', r.latency.medianUs, 'us', d.latency.medianUs, 'direct');
  row('latency p99, direct', d.latency.p99Us, 'us');
  row('latency p99, relay', r.latency.p99Us, 'us', d.latency.p99Us, 'direct');
  row(`throughput ${tasks} tasks, direct`, d.throughput.medianTasksPerS, 'tasks/s');
  row(`throughput ${tasks} tasks, relay`, r.throughput.medianTasksPerS, 'tasks/s', d.throughput.medianTasksPerS, 'direct');
  const cpuAll = (t: ThroughputStat) => t.controllerCpuUsPerTask + t.agentsCpuUsPerTask + (t.relayCpuUsPerTask ?? 0) + (t.sshdCpuUsPerTask ?? 0);
  row('CPU per task (all processes), direct', cpuAll(d.throughput), 'us');
  row('CPU per task (all processes), relay', cpuAll(r.throughput), 'us', cpuAll(d.throughput), 'direct');
  const t = paths[POOL_TUNNEL];
  if (t) {
    row('ref: latency median, ssh pool via tunnel', t.latency.medianUs, 'us', d.latency.medianUs, 'direct');
    row('ref: throughput, ssh pool via tunnel', t.throughput.medianTasksPerS, 'tasks/s', d.throughput.medianTasksPerS, 'direct');
    row('relay latency median vs tunnel alone', r.latency.medianUs, 'us', t.latency.medianUs, 'ssh tunnel');
  }
}
console.log(`\n== summary (ratio: value / baseline; medians of ${reps} runs${ready?.some((c) => c.contended.length) ? ', ready: contended runs left out' : ''}; latency over ${calls} calls)\n${textTable(rows)}`);

// ---------------------------------------------------------------------------------------------
// Nothing of ours may be left in the queue.

let leftover: QueueJob[] = [];
{
  const t0 = Date.now();
  for (;;) {
    leftover = (await queue()).filter((j) => isOurName(j.name));
    if (leftover.length === 0 || Date.now() - t0 > 15_000) break;
    await sleep(250);
  }
  const cancel = [...new Set(leftover.map((j) => arrayOf(j.jobId)).filter((id) => submitted.has(id)))];
  if (cancel.length) {
    console.log(`cancelling jobs this run submitted and left behind: ${cancel.join(' ')}`);
    try {
      execFileSync('scancel', cancel);
    } catch (err) {
      console.log(`  scancel failed: ${(err as Error).message}`);
    }
  }
  console.log(
    `\nqueue at the end (squeue, names flotilla-{${[POOL1, POOLN, POOL_DIRECT, POOL_RELAY].join(',')}}, ${BASE_PREFIX}*): ${leftover.length} job(s)${leftover.length ? `: ${leftover.map((j) => `${j.jobId} ${j.name} ${j.user} ${j.state}${submitted.has(arrayOf(j.jobId)) ? '' : ' (not submitted by this run)'}`).join('; ')}` : ''}; ${submitted.size} job(s)/array(s) submitted by this run`,
  );
  if (leftover.some((j) => submitted.has(arrayOf(j.jobId)))) errors.leftover = `${leftover.length} job(s) of ours still queued 15 s after the end`;
}
printFailures(errors);

if (only.size === PHASES.length) {
  writeResults('slurm-latest.json', {
    env: { ...machineEnv(), loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadavg()[0], slurm: sched, slurmCpus: fx.cpus },
    options: { reps, agents: many, calls, tasks, tputReps },
    summary: rows,
    baseline,
    ready,
    paths,
    leftover,
    submitted: [...submitted],
    errors,
  });
}

exitWhenDone('slurm.bench', errors);
