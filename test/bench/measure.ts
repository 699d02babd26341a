/**
 * Measurements the SSH and SLURM benchmarks share: sample statistics, a command's wall time, a
 * process's CPU time, and latency and throughput of pools of one session in alternating blocks.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Session } from '../../client/session.js';
import { median, nowUs, percentile, within } from './stats.js';

export interface Stat {
  medianMs: number;
  samplesMs: number[];
}
/** Median (NaN samples left out) and the samples. */
export const stat = (xs: number[]): Stat => ({ medianMs: median(xs.filter((x) => !Number.isNaN(x))), samplesMs: xs });
/** `[12, 15, ?]`: samples in whole units, NaN as `?`. */
export const samples = (xs: number[]) => `[${xs.map((x) => (Number.isNaN(x) ? '?' : x.toFixed(0))).join(', ')}]`;

/** A temporary folder, removed when the process exits. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Wall time of one command, spawn to exit, ms; rejects when it fails or takes over `timeoutMs`. */
export function timeCommand(cmd: string, argv: string[], timeoutMs: number): Promise<number> {
  const t0 = nowUs();
  return new Promise((resolve, reject) =>
    execFile(cmd, argv, { timeout: timeoutMs }, (err, _out, stderr) => (err ? reject(new Error(`${cmd} ${argv.join(' ')}: ${err.message} ${stderr}`)) : resolve((nowUs() - t0) / 1e3))),
  );
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();
/** CPU time a process has used (user + system, all its threads), ms; undefined once it is gone. */
export function cpuMs(pid: number): number | undefined {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/** CPU time (ms) the calling thread has run, from the scheduler's nanosecond count (Linux). */
export function threadCpuMs(): number {
  return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
}

export interface LatencyStat {
  calls: number;
  medianUs: number;
  p99Us: number;
  meanUs: number;
  maxUs: number;
}
export const latencyStat = (xs: number[]): LatencyStat => ({ calls: xs.length, medianUs: median(xs), p99Us: percentile(xs, 99), meanUs: xs.reduce((a, b) => a + b, 0) / xs.length, maxUs: Math.max(...xs) });

/** `await fl.map([i], x => x, { pool })`, `n` times in a row; microseconds per call. */
export async function latencyBlock(fl: Session, pool: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = nowUs();
    const [v] = await fl.map([i], (x) => x, { pool });
    out.push(nowUs() - t0);
    if (v !== i) throw new Error(`latency call ${i} on ${pool} returned ${String(v)}`);
  }
  return out;
}

export interface TputRun {
  tasksPerS: number;
  /** CPU this process spent per task, us. */
  cpuUsPerTask: number;
  /** Of it, on this thread (the event loop's), us. */
  loopCpuUsPerTask: number;
  /** CPU per task of the watched processes (by role), us. */
  others: Record<string, number>;
}
/** One map of `n` tiny tasks on `pool`; `watch` names processes whose CPU to count (role -> pids). */
export async function throughputRun(fl: Session, pool: string, n: number, watch: Record<string, number[]> = {}): Promise<TputRun> {
  const items = Array.from({ length: n }, (_, i) => i);
  const sum = (pids: number[]) => pids.reduce((a, p) => a + (cpuMs(p) ?? NaN), 0);
  const before = Object.fromEntries(Object.entries(watch).map(([k, pids]) => [k, sum(pids)]));
  const cpu0 = process.cpuUsage();
  const loop0 = threadCpuMs();
  const t0 = nowUs();
  const values = await within(Promise.resolve(fl.map(items, (x) => x, { pool })), 300_000, `map of ${n} tasks on ${pool}`);
  const s = (nowUs() - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  const loop = threadCpuMs() - loop0;
  const others = Object.fromEntries(Object.entries(watch).map(([k, pids]) => [k, ((sum(pids) - before[k]!) * 1e3) / n]));
  if (values.length !== n || values[n - 1] !== n - 1) throw new Error(`map of ${n} on ${pool} returned wrong values`);
  return { tasksPerS: n / s, cpuUsPerTask: (cpu.user + cpu.system) / n, loopCpuUsPerTask: (loop * 1e3) / n, others };
}

export interface AlternateOptions {
  /** Latency calls per pool, split into `blocks` blocks. */
  calls: number;
  blocks: number;
  /** Tasks per throughput run, and runs per pool. */
  tasks: number;
  tputReps: number;
  /** Per pool, processes whose CPU to count during the throughput runs. */
  watch?: Record<string, Record<string, number[]>>;
}
/**
 * Latency samples and throughput runs of each pool, after a warm-up, measured in alternating
 * blocks (order rotating) so that load elsewhere hits all pools alike.
 */
export async function alternatePools(fl: Session, pools: string[], o: AlternateOptions): Promise<{ latency: Record<string, number[]>; tput: Record<string, TputRun[]> }> {
  for (const p of pools) await latencyBlock(fl, p, 100); // warm-up
  for (const p of pools) await throughputRun(fl, p, Math.min(o.tasks, 5000)); // warm-up
  const rotate = (k: number) => pools.map((_, i) => pools[(i + k) % pools.length]!);
  const latency: Record<string, number[]> = Object.fromEntries(pools.map((p) => [p, []]));
  for (let b = 0; b < o.blocks; b++) for (const p of rotate(b)) latency[p]!.push(...(await latencyBlock(fl, p, Math.ceil(o.calls / o.blocks))));
  const tput: Record<string, TputRun[]> = Object.fromEntries(pools.map((p) => [p, []]));
  for (let r = 0; r < o.tputReps; r++) for (const p of rotate(r)) tput[p]!.push(await throughputRun(fl, p, o.tasks, o.watch?.[p]));
  for (const p of pools) latency[p] = latency[p]!.slice(0, o.calls);
  return { latency, tput };
}

/** `  <name>/<refName>: latency median 1.23x, p99 1.10x, throughput 0.95x` */
export function printVs(name: string, refName: string, r: { latency: LatencyStat; throughput: { medianTasksPerS: number } }, ref: typeof r): void {
  console.log(`  ${name}/${refName}: latency median ${(r.latency.medianUs / ref.latency.medianUs).toFixed(2)}x, p99 ${(r.latency.p99Us / ref.latency.p99Us).toFixed(2)}x, throughput ${(r.throughput.medianTasksPerS / ref.throughput.medianTasksPerS).toFixed(2)}x`);
}
