/**
 * Right-sizing for batch pools: what each agent's job asked the batch system for (wall time,
 * memory, cores) against what the job's tasks used, so a user can ask for less next time
 * ("tasks used at most 1.3 GB of the 8 GB asked; p99 duration 4 min of the 2 h walltime").
 */
import type { PoolPlan } from './pool-options.js';
import type { JobUsage } from './task-usage.js';

import type { RightSizing } from '../contract/job-types.js';

export type { RightSizing };

/** Launchers whose agents run inside jobs that ask for resources. */
const LOCAL_KINDS = new Set(['local', 'ssh']);

/** The requested-against-used summary of a job on `plan`'s pool, or undefined (not a batch pool, nothing measured). */
export function rightSizing(plan: PoolPlan | undefined, usage: JobUsage | undefined): RightSizing | undefined {
  if (!plan || !usage || usage.tasks === 0 || LOCAL_KINDS.has(plan.options.launcher ?? 'local')) return undefined;
  const slots = plan.slots ?? 1;
  const requested = {
    walltimeMs: plan.walltimeMs,
    memoryBytes: plan.slot.memoryMb === undefined ? undefined : plan.slot.memoryMb * slots * 2 ** 20,
    cores: plan.slot.cores === undefined ? undefined : plan.slot.cores * slots,
    slots,
  };
  const coresPerTask = usage.cpuMs && usage.busyMs > 0 ? usage.cpuMs.total / usage.busyMs : undefined;
  const used = { p99DurationMs: usage.durationMs.p99, maxDurationMs: usage.durationMs.max, peakRssBytes: usage.peakRssBytes?.max, coresPerTask };
  const lines: string[] = [];
  if (requested.memoryBytes !== undefined && used.peakRssBytes !== undefined) {
    lines.push(`memory: tasks used at most ${bytes(used.peakRssBytes)} of the ${bytes(requested.memoryBytes)} asked (${percent(used.peakRssBytes / requested.memoryBytes)})`);
  }
  if (requested.walltimeMs !== undefined) {
    lines.push(`time: p99 duration ${duration(used.p99DurationMs)} of the ${duration(requested.walltimeMs)} walltime (longest task ${duration(used.maxDurationMs)})`);
  }
  if (requested.cores !== undefined && coresPerTask !== undefined) {
    const busy = coresPerTask * slots;
    lines.push(`cores: ${slots} slot(s) kept about ${busy.toFixed(1)} of the ${requested.cores} core(s) asked busy (${coresPerTask.toFixed(2)} per task)`);
  }
  return { requested, used, lines };
}

/** 1.3 GB, 512 MB, 20 KB. */
export function bytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) (n /= 1024), i++;
  return `${n >= 10 || i === 0 || Number.isInteger(n) ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}

/** 850 ms, 12 s, 4 min, 2 h, 1.5 d. */
export function duration(ms: number): string {
  const steps: Array<[number, string]> = [[86_400_000, 'd'], [3_600_000, 'h'], [60_000, 'min'], [1000, 's']];
  for (const [unit, name] of steps) {
    if (ms >= unit) {
      const v = ms / unit;
      return `${v >= 10 || Number.isInteger(v) ? Math.round(v) : v.toFixed(1)} ${name}`;
    }
  }
  return `${Math.round(ms)} ms`;
}

const percent = (f: number) => `${f < 0.01 ? '<1' : Math.round(f * 100)}%`;
