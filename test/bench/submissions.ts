/**
 * Per-submission figures through the public API: one registered-function call after another,
 * and many single-task maps issued in the same event-loop turn (`Promise.all`), as workflow
 * tools and request handlers submit work.
 */
import { readFileSync } from 'node:fs';
import type { Session } from '../../client/session.js';
import { median, nowUs, percentile, within } from './stats.js';

export interface CallResult {
  calls: number;
  medianUs: number;
  p99Us: number;
}

/** `await fl.call(name, i)` of a registered identity function, one call after another. */
export async function measureCall(fl: Session, calls: number, warmup: number): Promise<CallResult> {
  const fn = await fl.functions.register('bench-identity', (x: number) => x);
  const total: number[] = [];
  for (let i = 0; i < warmup + calls; i++) {
    const t0 = nowUs();
    const v = await fl.call(fn, i);
    const t1 = nowUs();
    if (v !== i) throw new Error(`call ${i} returned ${String(v)}`);
    if (i >= warmup) total.push(t1 - t0);
  }
  return { calls, medianUs: median(total), p99Us: percentile(total, 99) };
}

export interface ManyResult {
  maps: number;
  medianPerS: number;
  runsPerS: number[];
  /** CPU time per map of this process (client, and the controller when embedded), median of the runs: steadier than the rate on a shared machine. */
  cpuUsPerMap: number;
  /** That CPU time per map in each run. */
  cpuRunsUs: number[];
  /** The same of the `controllerPid` process (a remote controller), where /proc tells it. */
  controllerCpuUsPerMap: number | undefined;
}

/** CPU time (user + system, µs) a process has used, from /proc (Linux); undefined elsewhere. */
function processCpuUs(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) / 100) * 1e6; // clock ticks of 10 ms
  } catch {
    return undefined;
  }
}

/**
 * `Promise.all` of `maps` single-task maps `fl.map([i], x => x)`, all issued in one turn; with
 * `controllerPid`, that process's CPU time is measured too.
 */
export async function measureManySingles(fl: Session, maps: number, reps: number, controllerPid?: number): Promise<ManyResult> {
  const runsPerS: number[] = [];
  const cpu: number[] = [];
  const ctlCpu: number[] = [];
  for (let r = 0; r < reps; r++) {
    const c0 = process.cpuUsage();
    const k0 = controllerPid === undefined ? undefined : processCpuUs(controllerPid);
    const t0 = nowUs();
    const jobs: Promise<number[]>[] = [];
    for (let i = 0; i < maps; i++) jobs.push(Promise.resolve(fl.map([i], (x: number) => x)));
    const out = await within(Promise.all(jobs), 300_000, `${maps} single-task maps`);
    const s = (nowUs() - t0) / 1e6;
    const c1 = process.cpuUsage(c0);
    const k1 = controllerPid === undefined ? undefined : processCpuUs(controllerPid);
    if (out[maps - 1]![0] !== maps - 1) throw new Error('single-task maps returned wrong values');
    runsPerS.push(maps / s);
    cpu.push((c1.user + c1.system) / maps);
    if (k0 !== undefined && k1 !== undefined) ctlCpu.push((k1 - k0) / maps);
  }
  return { maps, medianPerS: median(runsPerS), runsPerS, cpuRunsUs: cpu, cpuUsPerMap: median(cpu), controllerCpuUsPerMap: ctlCpu.length > 0 ? median(ctlCpu) : undefined };
}
