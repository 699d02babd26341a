/**
 * Core benchmark: the cost of one submission, one round trip, one agent and one big map, on 2
 * local agents (one slot each) over the encrypted channel, each next to a baseline measured in
 * the same run: a raw `ws` echo between this process and a plain `node` child (round trip,
 * pipelined message rate), a bare `node` child connecting a WebSocket (start, memory). Prints
 * one table with ratios and targets, writes test/bench/results/core-latest.json.
 *
 *   npx tsx test/bench/core.bench.ts [--only baseline,ready,latency,call,singles,remote,throughput,durable,dashboard,memory,seal]
 *        [--reps 3] [--dist] [--profile DIR]
 *
 * Every phase but `seal` (a minute of full-core crypto) runs by default. `remote` maps through
 * a client over WebSocket to a CLI controller process (2 local agents).
 * --dist runs the compiled dist/ instead of the TypeScript sources. --profile DIR writes a CPU
 * profile of the controller process per phase (only the measured part) and has the agents
 * write theirs (run through node-cpu-prof.sh: whole life, one file per thread); summarize with cpu-profile-summary.mjs.
 */
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { runSealBench } from './seal.bench.js';
import { echoPartner, echoSpawnTimer, runWsBaseline } from './ws-baseline.js';
import type { WsBaselineResult } from './ws-baseline.js';
import { measureLatency, measureReady, measureThroughput } from './flotilla-bench.js';
import { measureCall, measureManySingles } from './submissions.js';
import type { CallResult, ManyResult } from './submissions.js';
import { bareNodeWsRss, idleAgentRss } from './agent-memory.js';
import { startCliController } from './cli-controller.js';
import { cpuMs, tempDir } from './measure.js';
import type { Connect, LatencyResult, ReadyResult, ThroughputResult } from './flotilla-bench.js';
import { PhaseProfiler } from './profiler.js';
import { countFrames } from './frame-counter.js';
import type { FrameStats } from './frame-counter.js';
import { median, nowUs } from './stats.js';
import { TARGETS, fmt, ratio, table, verdict } from './report.js';
import type { Row } from './report.js';
import { banner, exitWhenDone, machineEnv, onlyPhases, phaseRunner, printFailures, readResults, writeResults } from './results.js';
import type { ConnectOptions } from '../../client/connect.js';
import { openDashboard } from './dashboard-viewer.js';

const PHASES = ['baseline', 'ready', 'latency', 'call', 'singles', 'remote', 'throughput', 'durable', 'dashboard', 'memory', 'seal'] as const;
type Phase = (typeof PHASES)[number];

const { values: args } = parseArgs({
  options: { only: { type: 'string' }, reps: { type: 'string', default: '3' }, dist: { type: 'boolean', default: false }, profile: { type: 'string' } },
});
const only = onlyPhases(PHASES, args.only ?? PHASES.filter((p) => p !== 'seal').join(','));
const reps = Number(args.reps);
if (!Number.isInteger(reps) || reps < 1) throw new Error(`--reps must be a positive integer, got ${args.reps}`);
const profileDir = args.profile ? resolve(args.profile) : undefined;

// Source maps let the profiler point at TypeScript lines; enable them before the API loads.
if (profileDir) process.setSourceMapsEnabled(true);
const codeBase = new URL(args.dist ? '../../dist/' : '../../', import.meta.url);
const api = (args.dist ? await import(new URL('client/index.js', codeBase).href) : await import('../../client/index.js')) as typeof import('../../client/index.js');
const connect: Connect = api.connect;
const profiler = profileDir ? new PhaseProfiler(profileDir) : undefined;

/** The benchmark's session shape; when profiling, agents of this phase write CPU profiles too. */
function sessionOptions(phase: string, agents = 2, extra: Partial<ConnectOptions> = {}): ConnectOptions {
  const prof = profileDir && {
    node: fileURLToPath(new URL('./node-cpu-prof.sh', import.meta.url)),
    env: { BENCH_NODE: process.execPath, BENCH_CPU_PROF_DIR: join(profileDir, `agents-${phase}`) },
  };
  return { pools: { local: { launcher: 'local', agents, slots: 1, ...prof } }, waitForAgents: agents, ...extra };
}

async function profiled<T>(name: string, f: () => Promise<T>): Promise<T> {
  await profiler?.start();
  try {
    return await f();
  } finally {
    const file = await profiler?.stop(name);
    if (file) console.log(`  profile: ${file}`);
  }
}

const { phase, errors } = phaseRunner<Phase>(only);

const loadAtStart = banner('core', args.dist ? 'dist/' : 'sources via tsx');

/**
 * One diagnostic (untimed) pass with the controller's frames counted. Counting patches the
 * controller's classes, which the bundled dist/ does not export: with --dist it is skipped.
 */
async function framesDuring(f: () => Promise<unknown>): Promise<FrameStats | undefined> {
  if (args.dist) {
    await f();
    return undefined;
  }
  const counter = await countFrames(codeBase);
  try {
    await f();
  } catch (err) {
    counter.stop();
    throw err;
  }
  return counter.stop();
}
const showFrames = (what: string, n: number, f: FrameStats | undefined) =>
  f &&
  console.log(
    `  frames (${what}): to agents ${f.framesOut} (${(f.tasksSent / Math.max(1, f.runFrames)).toFixed(1)} tasks per run frame, ${(f.bytesOut / Math.max(1, f.framesOut)).toFixed(0)} B avg), ` +
      `from agents ${f.framesIn} (${(f.resultsReceived / Math.max(1, f.resFrames)).toFixed(1)} results per res frame, ${(f.bytesIn / Math.max(1, f.framesIn)).toFixed(0)} B avg); ${((f.framesOut + f.framesIn) / n).toFixed(2)} frames per task`,
  );

/**
 * Round trips repeated for WARM_MS before the measured ones. V8 optimizes hot code on background
 * threads; on a loaded machine those get little CPU, and the client's, controller's and agent's
 * code stays partly unoptimized for thousands of round trips (medians fell from ~450 to ~170 us
 * over the first 5,000 at load 16). The first 1,000 after a short warm-up are printed as well.
 */
const WARM_MS = 4_000;
async function warmUp(f: () => Promise<unknown>): Promise<void> {
  const end = performance.now() + WARM_MS;
  while (performance.now() < end) await f();
}

const baseline: WsBaselineResult | undefined = await phase('baseline', async () => {
  const b = await runWsBaseline({ children: 1, warmMs: WARM_MS });
  console.log(`  round trip (1000 sequential, 64 B): median ${fmt(b.rttMedianUs, 'us')}, p99 ${fmt(b.rttP99Us, 'us')}; cold (first 1000 after 200): median ${fmt(b.rttColdMedianUs, 'us')}`);
  console.log(`  pipelined (${b.pipelined.messages} msgs, window ${b.pipelined.window}): ${fmt(b.pipelinedMsgPerS, 'msg/s')}`);
  console.log(`  ${b.children} node children spawn-to-connected: median ${fmt(b.spawnToConnectedMs, 'ms')} [${b.spawnToConnectedSamplesMs.map((s) => s.toFixed(0)).join(', ')}]`);
  return b;
});

/** Sessions timed in the ready phase, each beside a bare child's start; the first (cold) loads the controller's code. */
const READY_REPS = 9;
const ready: ReadyResult | undefined = await phase('ready', async () => {
  // Each connect() beside a bare node child's spawn-to-connected taken just before it: the load
  // of a shared machine drifts between phases more than the difference being measured.
  const bare = await echoSpawnTimer();
  const r = await profiled('ready', () => measureReady(connect, sessionOptions('ready', 1), READY_REPS, () => bare.sample())).finally(() => bare.close());
  console.log(`  connect() until 1 agent (1 slot) ready: median ${fmt(r.medianMs, 'ms')} [${r.samplesMs.map((s) => s.toFixed(0)).join(', ')}] (close: ${r.closeMs.map((s) => s.toFixed(0)).join(', ')} ms)`);
  console.log(`    a bare node + ws child beside each: median ${fmt(median(r.bareMs!), 'ms')} [${r.bareMs!.map((s) => s.toFixed(0)).join(', ')}]; median of the paired ratios (the first, cold, left out) ${r.pairedRatio!.toFixed(2)}x`);
  console.log(`    of which until the agent process was up (supervisor dialing): median ${fmt(r.agentsUpMedianMs, 'ms')}; the rest is lane thread start, connect and handshake`);
  return r;
});

async function withSession<T>(name: string, f: (fl: import('../../client/session.js').Session) => Promise<T>, extra: Partial<ConnectOptions> = {}): Promise<T> {
  const fl = await connect(sessionOptions(name, 2, extra));
  try {
    return await f(fl);
  } finally {
    await fl.close();
  }
}

/** One operation's round trip timed in blocks alternating with blocks of a `ws` echo's. */
interface Paired {
  /** Median of the operation's block medians, and of the echo's, µs. */
  opUs: number;
  echoUs: number;
  /** The operation's block median over the echo's block median right before it, per block. */
  ratios: number[];
}

/**
 * `op`'s round trip (after the phase has warmed it) in `blocks` blocks of `n`, each right after
 * a block of `n` round trips of a `ws` echo with a plain `node` child: the ratio compares the
 * two in the same state of the machine, which a baseline taken minutes before does not.
 */
async function pairedWithEcho(op: (i: number) => Promise<unknown>, blocks = 10, n = 200): Promise<Paired> {
  const echo = await echoPartner();
  try {
    // Warm, as the operation is: 4 s of repetition, as the warm figures of the run have.
    for (const end = Date.now() + 4000; Date.now() < end; ) await echo.roundTrips(200);
    const opBlocks: number[] = [], echoBlocks: number[] = [];
    for (let b = 0; b < blocks; b++) {
      echoBlocks.push(median(await echo.roundTrips(n)));
      const t: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = nowUs();
        await op(i);
        t.push(nowUs() - t0);
      }
      opBlocks.push(median(t));
    }
    return { opUs: median(opBlocks), echoUs: median(echoBlocks), ratios: opBlocks.map((v, i) => v / echoBlocks[i]!) };
  } finally {
    await echo.close();
  }
}
const pairedText = (p: Paired) => `${fmt(p.opUs, 'us')} vs ws rtt ${fmt(p.echoUs, 'us')} in ${p.ratios.length} alternating blocks (per block ${p.ratios.map((r) => r.toFixed(2)).join(' ')})`;

const latency: (LatencyResult & { frames: FrameStats | undefined; cold: LatencyResult; paired: Paired }) | undefined = await phase('latency', () =>
  withSession('latency', async (fl) => {
    const cold = await measureLatency(fl, 1000, 200);
    console.log(`  cold: 1000 x await map([i], x => x) after 200: median ${fmt(cold.medianUs, 'us')}, p99 ${fmt(cold.p99Us, 'us')}`);
    await warmUp(() => measureLatency(fl, 0, 200)); // outside the profile
    const l = await profiled('latency', () => measureLatency(fl, 1000, 100));
    console.log(`  warm: 1000 x await map([i], x => x): median ${fmt(l.medianUs, 'us')}, p99 ${fmt(l.p99Us, 'us')}, mean ${fmt(l.meanUs, 'us')}`);
    console.log(`    of which map() -> submit acknowledged: median ${fmt(l.submitMedianUs, 'us')}; -> values: median ${fmt(l.resultMedianUs, 'us')}`);
    const frames = await framesDuring(() => measureLatency(fl, 100, 0));
    showFrames('100 calls', 100, frames);
    const paired = await pairedWithEcho(async (i) => (await fl.map([i], (x) => x))[0]);
    console.log(`  paired with a ws echo: ${pairedText(paired)}`);
    return { ...l, frames, cold, paired };
  }),
);

/** CPU time a call costs this process (client and controller) and the agents, µs, over `f`'s `calls`. */
async function cpuPerCall<T extends { calls: number }>(fl: import('../../client/session.js').Session, f: () => Promise<T>): Promise<T & { cpuUs: number; agentCpuUs: number | undefined }> {
  const pids = [...new Set((await fl.agents()).lanes.map((l) => l.pid))];
  const agentMs = () => {
    let sum = 0;
    for (const pid of pids) {
      const ms = cpuMs(pid);
      if (ms === undefined) return undefined; // gone: no figure
      sum += ms;
    }
    return sum;
  };
  const a0 = agentMs();
  const c0 = process.cpuUsage();
  const r = await f();
  const c = process.cpuUsage(c0);
  const a1 = agentMs();
  return { ...r, cpuUs: (c.user + c.system) / r.calls, agentCpuUs: a0 === undefined || a1 === undefined ? undefined : ((a1 - a0) * 1000) / r.calls };
}
const cpuText = (c: { cpuUs: number; agentCpuUs: number | undefined }) => `CPU a call: this process ${c.cpuUs.toFixed(1)} us, agents ${c.agentCpuUs?.toFixed(1) ?? 'n/a'} us`;

const call: (CallResult & { cpuUs: number; agentCpuUs: number | undefined; cold: CallResult; paired: Paired }) | undefined = await phase('call', () =>
  withSession('call', async (fl) => {
    const cold = await measureCall(fl, 1000, 200);
    console.log(`  cold: 1000 x await fl.call(fn, i) after 200: median ${fmt(cold.medianUs, 'us')}, p99 ${fmt(cold.p99Us, 'us')}`);
    await warmUp(() => measureCall(fl, 0, 200));
    const c = await profiled('call', () => measureCall(fl, 1000, 0));
    console.log(`  warm: 1000 x await fl.call(fn, i) of a registered x => x: median ${fmt(c.medianUs, 'us')}, p99 ${fmt(c.p99Us, 'us')}`);
    // A separate pass, long enough for /proc's 10 ms ticks to count an agent's share.
    const cpu = await cpuPerCall(fl, () => measureCall(fl, 3000, 0));
    console.log(`    ${cpuText(cpu)} (3000 more calls)`);
    const fn = await fl.functions.register('bench-identity', (x: number) => x);
    const paired = await pairedWithEcho((i) => fl.call(fn, i));
    console.log(`  paired with a ws echo: ${pairedText(paired)}`);
    return { ...c, cpuUs: cpu.cpuUs, agentCpuUs: cpu.agentCpuUs, cold, paired };
  }),
);

const showMany = (what: string, m: ManyResult) => {
  console.log(`  ${m.maps.toLocaleString('en-US')} single-task maps at once (Promise.all), ${what}: median ${fmt(m.medianPerS, 'tasks/s')} [${m.runsPerS.map((r) => Math.round(r).toLocaleString('en-US')).join(', ')}]`);
  const ctl = m.controllerCpuUsPerMap === undefined ? '' : `, the controller's ${m.controllerCpuUsPerMap.toFixed(1)} µs`;
  console.log(`    CPU per map (median of the runs): this process ${m.cpuUsPerMap.toFixed(1)} µs${ctl}`);
};

/**
 * 10,000 single-task maps at once, cold (the first runs after a 2,000-map warm-up) and warm
 * (after WARM_MS of the same, as the round trips are): a process that submits this way keeps
 * doing it, and its code is optimized by then. The summary judges the warm figure and shows the cold.
 */
type Many = ManyResult & { cold: ManyResult };
async function manySingles(what: string, profile: string, run: () => Promise<ManyResult>): Promise<Many> {
  const cold = await run();
  showMany(`${what}, cold`, cold);
  await warmUp(run);
  const warm = await profiled(profile, run);
  showMany(`${what}, warm`, warm);
  return { ...warm, cold };
}

const singles: Many | undefined = await phase('singles', () =>
  withSession('singles', async (fl) => {
    await measureManySingles(fl, 2_000, 1);
    return manySingles('embedded', 'singles', () => measureManySingles(fl, 10_000, reps));
  }),
);

const remote: Many | undefined = await phase('remote', async () => {
  const ctl = await startCliController({ profileDir: profileDir && join(profileDir, 'remote-controller') });
  try {
    const fl = await connect({ url: ctl.url, tokenFile: ctl.tokenFile, waitForAgents: 2 });
    try {
      await measureManySingles(fl, 2_000, 1);
      return await manySingles('remote client over WebSocket', 'remote-client', () => measureManySingles(fl, 10_000, reps, ctl.pid));
    } finally {
      await fl.close();
    }
  } finally {
    await ctl.stop();
  }
});

const throughput: { t10k: ThroughputResult; t100k: ThroughputResult; frames: FrameStats | undefined } | undefined = await phase('throughput', () =>
  withSession('throughput', async (fl) => {
    await measureThroughput(fl, 10_000, 1); // warm-up
    const show = (t: ThroughputResult) =>
      console.log(
        `  ${t.tasks} tiny tasks: median ${fmt(t.medianTasksPerS, 'tasks/s')} (best ${fmt(t.bestTasksPerS)}); runs ` +
          t.runs.map((r) => `${(r.seconds * 1e3).toFixed(0)} ms [map() ${r.mapCallMs.toFixed(0)} ms, submit ack ${r.submitMs.toFixed(0)} ms]`).join(', '),
      );
    const t10k = await profiled('throughput-10k', () => measureThroughput(fl, 10_000, reps));
    show(t10k);
    const t100k = await profiled('throughput-100k', () => measureThroughput(fl, 100_000, reps));
    show(t100k);
    const frames = await framesDuring(() => measureThroughput(fl, 100_000, 1));
    showFrames('one more 100k map, untimed', 100_000, frames);
    return { t10k, t100k, frames };
  }),
);
// The durable store's cost: 100k-task maps with the store on and off, alternated (two sessions
// open at once), so both see the same machine; the store-off rate of another phase would not.
const durable: { on: ThroughputResult; off: ThroughputResult } | undefined = await phase('durable', () =>
  withSession(
    'durable',
    (on) =>
      withSession('durable-off', async (off) => {
        // As many tasks before the measured maps as the throughput phase runs before its 100k maps.
        for (const fl of [on, off]) await measureThroughput(fl, 20_000, 2);
        const runs: Record<'on' | 'off', ThroughputResult[]> = { on: [], off: [] };
        for (let r = 0; r < reps; r++) {
          for (const mode of r % 2 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
            runs[mode].push(await profiled(`durable-100k-${mode}-${r}`, () => measureThroughput(mode === 'on' ? on : off, 100_000, 1)));
          }
        }
        const merge = (ts: ThroughputResult[]): ThroughputResult => {
          const rates = ts.map((t) => t.medianTasksPerS);
          return { tasks: 100_000, medianTasksPerS: median(rates), bestTasksPerS: Math.max(...rates), runs: ts.flatMap((t) => t.runs) };
        };
        const t = { on: merge(runs.on), off: merge(runs.off) };
        const list = (x: ThroughputResult) => x.runs.map((r) => Math.round(r.tasksPerS).toLocaleString('en-US')).join(', ');
        console.log(`  100000 tiny tasks, alternating: durable store on median ${fmt(t.on.medianTasksPerS, 'tasks/s')} [${list(t.on)}], off ${fmt(t.off.medianTasksPerS, 'tasks/s')} [${list(t.off)}]`);
        return t;
      }),
    { controller: { durable: true, stateDir: tempDir('flotilla-bench-durable-') } },
  ),
);

// The controller's cost with a dashboard open: 100k tiny tasks with and without a page reading
// the dashboard's stream, alternated in one session so both see the same machine.
const dashboard: { without: ThroughputResult; with: ThroughputResult; frames: number; bytes: number } | undefined = await phase('dashboard', () =>
  withSession('dashboard', async (fl) => {
    await measureThroughput(fl, 10_000, 1); // warm-up
    const without: ThroughputResult[] = [], withOne: ThroughputResult[] = [];
    let frames = 0, bytes = 0;
    for (let r = 0; r < reps; r++) {
      without.push(await measureThroughput(fl, 100_000, 1));
      const viewer = await openDashboard(fl.dashboardUrl());
      withOne.push(await measureThroughput(fl, 100_000, 1));
      viewer.close();
      frames += viewer.frames;
      bytes += viewer.bytes;
    }
    const merge = (ts: ThroughputResult[]): ThroughputResult => {
      const runs = ts.flatMap((t) => t.runs);
      const rates = runs.map((x) => x.tasksPerS).sort((a, b) => a - b);
      return { tasks: 100_000, medianTasksPerS: rates[Math.floor(rates.length / 2)]!, bestTasksPerS: rates.at(-1)!, runs };
    };
    const result = { without: merge(without), with: merge(withOne), frames, bytes };
    console.log(`  100k tiny tasks without a dashboard: median ${fmt(result.without.medianTasksPerS, 'tasks/s')}; with one open: median ${fmt(result.with.medianTasksPerS, 'tasks/s')} (${((result.with.medianTasksPerS / result.without.medianTasksPerS) * 100).toFixed(0)}%)`);
    console.log(`    the open page got ${(frames / reps).toFixed(0)} frames, ${(bytes / reps / 1024).toFixed(0)} KiB per 100k-task job`);
    return result;
  }),
);
profiler?.close();

const memory = await phase('memory', async () => {
  const bare = await bareNodeWsRss(3);
  const bareWorker = await bareNodeWsRss(3, true);
  // The same shape with ws loaded as the agent's bundle loads it: what Node itself holds.
  const floor = await bareNodeWsRss(3, true, true);
  const one = await idleAgentRss(connect, 1, 3, true);
  const three = await idleAgentRss(connect, 3, 1);
  const perExtra = { rss: (three.rss - one.rss) / 2, anon: (three.anon - one.anon) / 2 };
  const mib = (r: { rss: number; anon: number; nodeBinary: number }) => `${r.rss.toFixed(1)} MiB (${r.anon.toFixed(1)} private, ${r.nodeBinary.toFixed(1)} the node binary's shared pages)`;
  console.log(`  bare node + ws: ${mib(bare)}; the same + 1 worker thread with its own ws: ${mib(bareWorker)}`);
  console.log(`  the same, ws loaded as a bundle loads it (no ESM import of CommonJS): ${mib(floor)}`);
  console.log(`  idle agent, 1 slot: ${mib(one)}; ${one.reduced?.rss.toFixed(1)} MiB (${one.reduced?.anon.toFixed(1)} private) once V8 has shrunk its idle heaps (11 s)`);
  console.log(`  3 slots: ${three.rss.toFixed(1)} MiB (${three.anon.toFixed(1)} private) -> ${perExtra.rss.toFixed(1)} MiB per extra slot`);
  return { bare, bareWorker, floor, one, three, perExtra };
});

// Last: it is CPU-only, long (its 1 MiB tweetnacl case alone takes tens of seconds), and the
// figures above should not follow a minute of full-core crypto.
const seal = await phase('seal', async () => {
  const r = runSealBench();
  for (const [name, bySize] of Object.entries(r)) {
    const cells = Object.entries(bySize).map(([s, v]) => `${Number(s) >= 1024 ? `${Number(s) / 1024} KiB` : `${s} B`}: ${v.perFrameUs.toFixed(2)} us, ${v.mbps.toFixed(0)} MB/s`);
    console.log(`  ${name.padEnd(30)} ${cells.join(' | ')}`);
  }
  return r;
});

/** What `npm run bench:swarm` writes, as far as the summary reads it. */
interface SwarmFigures {
  connected: number;
  perAgentKiB: number;
  handshakesPerS: number;
  joinCpuUsPerHandshake: number;
  heartbeatCoreFraction: number;
  freeCoreTasksPerS?: number;
  rates: number[];
}

/** A cold figure against the cold ws round trip of the same run. */
const coldRatio = (us: number) => (baseline?.rttColdMedianUs ? `${(us / baseline.rttColdMedianUs).toFixed(1)}x the cold ws rtt (${fmt(baseline.rttColdMedianUs, 'us')})` : 'no cold ws rtt');
const rtt = baseline?.rttMedianUs;
const wholeRun = (us: number) => (rtt ? `${(us / rtt).toFixed(1)}x the run's first ws rtt (${fmt(rtt, 'us')})` : 'no ws rtt of the run');
const wsRate = baseline?.pipelinedMsgPerS;
const t100k = throughput?.t100k.medianTasksPerS;
const durableCost = durable ? 1 - durable.on.medianTasksPerS / durable.off.medianTasksPerS : undefined;
const rows: Row[] = [
  // Round trips are compared with the echo's in blocks alternating with theirs (pairedWithEcho);
  // the ratio to the run's first baseline is given beside it.
  { figure: 'one inline task round trip, median', unit: 'us', value: latency?.paired.opUs, baseline: latency?.paired.echoUs, baselineName: 'ws rtt, alternating', better: 'lower', targetRatio: TARGETS.latencyVsRtt, reference: latency && `1000 in a row: ${fmt(latency.medianUs, 'us')}, ${wholeRun(latency.medianUs)}; cold: ${fmt(latency.cold.medianUs, 'us')}, ${coldRatio(latency.cold.medianUs)}` },
  { figure: 'one inline task round trip, p99', unit: 'us', value: latency?.p99Us, baseline: baseline?.rttP99Us, baselineName: 'ws rtt p99', better: 'lower' },
  { figure: 'one fl.call of a registered function', unit: 'us', value: call?.paired.opUs, baseline: call?.paired.echoUs, baselineName: 'ws rtt, alternating', better: 'lower', targetRatio: TARGETS.callVsRtt, reference: call && `1000 in a row: ${fmt(call.medianUs, 'us')}, ${wholeRun(call.medianUs)}; cold: ${fmt(call.cold.medianUs, 'us')}, ${coldRatio(call.cold.medianUs)}; ${cpuText(call)}` },
  { figure: '10,000 single-task maps at once, embedded', unit: 'tasks/s', value: singles?.medianPerS, baseline: wsRate, baselineName: 'ws pipelined', better: 'higher', target: TARGETS.singlesPerS, reference: singles && `cold: ${fmt(singles.cold.medianPerS, 'tasks/s')}; CPU a map ${singles.cpuUsPerMap.toFixed(1)} us (cold ${singles.cold.cpuUsPerMap.toFixed(1)})` },
  { figure: '10,000 single-task maps at once, remote client', unit: 'tasks/s', value: remote?.medianPerS, baseline: wsRate, baselineName: 'ws pipelined', better: 'higher', target: TARGETS.remoteSinglesPerS, reference: remote && `cold: ${fmt(remote.cold.medianPerS, 'tasks/s')}; CPU a map: client ${remote.cpuUsPerMap.toFixed(1)} us, controller ${remote.controllerCpuUsPerMap?.toFixed(1) ?? 'n/a'} us` },
  { figure: 'one 10k-task map', unit: 'tasks/s', value: throughput?.t10k.medianTasksPerS, baseline: wsRate, baselineName: 'ws pipelined', better: 'higher' },
  { figure: 'one 100k-task map', unit: 'tasks/s', value: t100k, baseline: wsRate, baselineName: 'ws pipelined', better: 'higher', targetRatio: TARGETS.tasks100kVsWs },
  {
    figure: 'one 100k-task map, durable store on',
    unit: 'tasks/s',
    value: durable?.on.medianTasksPerS,
    baseline: durable?.off.medianTasksPerS,
    baselineName: 'store off, alternating',
    baselineUnit: 'tasks/s',
    better: 'higher',
    targetText: `cost <= ${TARGETS.durableCost * 100}%`,
    pass: durableCost === undefined ? undefined : durableCost <= TARGETS.durableCost,
    reference: durableCost === undefined ? '' : `costs ${(durableCost * 100).toFixed(1)}%`,
  },
  { figure: 'one 100k-task map, dashboard open', unit: 'tasks/s', value: dashboard?.with.medianTasksPerS, baseline: dashboard?.without.medianTasksPerS, baselineName: 'none open (same run)', baselineUnit: 'tasks/s', better: 'higher' },
  { figure: 'idle agent RSS, 1 slot', unit: 'MiB', value: memory?.one.rss, baseline: memory?.bare.rss, baselineName: 'bare node + ws', better: 'lower', target: TARGETS.idleAgentMiB, reference: memory ? `private ${memory.one.anon.toFixed(1)} vs ${memory.bare.anon.toFixed(1)} MiB; node + ws + 1 worker with ws ${memory.bareWorker.rss.toFixed(1)} MiB (${(memory.one.rss / memory.bareWorker.rss).toFixed(2)}x), ws loaded as bundled ${memory.floor.rss.toFixed(1)} MiB (${(memory.one.rss / memory.floor.rss).toFixed(2)}x); after 11 s idle ${memory.one.reduced?.rss.toFixed(1)} MiB` : '' },
  { figure: 'idle agent RSS, per extra slot', unit: 'MiB', value: memory?.perExtra.rss, baseline: undefined, baselineName: '', better: 'lower', target: TARGETS.extraSlotMiB, reference: memory ? `private ${memory.perExtra.anon.toFixed(1)} MiB` : '' },
  { figure: 'agent start to ready (connect(), 1 agent)', unit: 'ms', value: ready?.medianMs, baseline: baseline?.spawnToConnectedMs, baselineName: 'bare node + ws connect', better: 'lower', targetRatio: TARGETS.readyVsBare, reference: ready?.pairedRatio === undefined ? undefined : `paired with a bare child before each: ${ready.pairedRatio.toFixed(2)}x (bare median ${fmt(median(ready.bareMs!), 'ms')})` },
];
console.log(`\n== summary (ratio: x the baseline for times, % of the baseline for rates)\n${table(rows)}`);

// 10,000 agents on one controller take minutes and their own processes (npm run bench:swarm):
// their figures come from that benchmark's last run, dated, so this table holds every figure.
const swarm = readResults<SwarmFigures>('swarm-latest.json');
if (swarm) {
  const from = `npm run bench:swarm of ${swarm.date.slice(0, 10)}, ${swarm.connected} agents`;
  const swarmRows: Row[] = [
    { figure: 'controller memory per connected agent', unit: 'KiB', value: swarm.perAgentKiB, baseline: undefined, baselineName: '', better: 'lower', target: TARGETS.swarmKiBPerAgent, reference: from },
    { figure: 'agents joining (handshakes)', unit: 'handshakes/s', value: swarm.handshakesPerS, baseline: undefined, baselineName: '', better: 'higher', reference: `controller CPU ${fmt(swarm.joinCpuUsPerHandshake, 'us')} each` },
    { figure: 'controller CPU, every agent idle', unit: '% of a core', value: swarm.heartbeatCoreFraction * 100, baseline: undefined, baselineName: '', better: 'lower', target: TARGETS.swarmIdleCorePct },
    { figure: 'dispatch over every agent, one free core', unit: 'tasks/s', value: swarm.freeCoreTasksPerS, baseline: undefined, baselineName: '', better: 'higher', target: TARGETS.swarmTasksPerS, reference: swarm.freeCoreTasksPerS === undefined ? 'not in this run' : `wall clock ${swarm.rates.map((r) => fmt(r, 'tasks/s')).join(', ')}` },
  ];
  console.log(`\n== 10,000 agents on one controller (from ${from})\n${table(swarmRows)}`);
} else console.log('\n(no 10,000-agent figures yet: npm run bench:swarm)');
if (throughput?.frames) {
  const f = throughput.frames;
  console.log(`note: flotilla batches tasks (${(f.tasksSent / Math.max(1, f.runFrames)).toFixed(0)} per frame to agents, ${(f.resultsReceived / Math.max(1, f.resFrames)).toFixed(0)} results per frame back), so tasks/s can exceed the unbatched ws message rate.`);
}
printFailures(errors);

if (!args.only && !profileDir) {
  writeResults('core-latest.json', {
    env: { ...machineEnv(), code: args.dist ? 'dist' : 'tsx', loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadavg()[0] },
    targets: TARGETS,
    summary: rows.map((r) => ({ figure: r.figure, unit: r.unit, value: r.value ?? null, baseline: r.baseline ?? null, baselineName: r.baselineName, ratio: ratio(r), target: r.target ?? r.targetRatio ?? r.targetText ?? null, result: verdict(r) })),
    flotilla: { ready, latency, call, singles, remote, throughput, durable, dashboard, memory },
    baseline,
    seal,
    errors,
  });
}

exitWhenDone('core.bench', errors);
