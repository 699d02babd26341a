/**
 * What one SLURM job of a pool offers, in numbers: cores, memory and GPUs (to route jobs and
 * size each task slot) and its wall time (to retire its agent before SLURM ends the job).
 */
import { slurmTime } from './script.js';
import type { SlurmResources } from '../../../contract/batch-pool-options.js';

/** Milliseconds of a SLURM time limit given as `resources.time`. */
export function slurmTimeMs(t: string | number): number {
  const s = slurmTime(t);
  const dash = s.indexOf('-');
  const parts = s.slice(dash + 1).split(':').map(Number);
  let secs: number;
  if (dash >= 0) {
    // days-hours[:minutes[:seconds]]
    const [h = 0, m = 0, sec = 0] = parts;
    secs = ((Number(s.slice(0, dash)) * 24 + h) * 60 + m) * 60 + sec;
  } else if (parts.length === 1) secs = parts[0]! * 60; // minutes
  else if (parts.length === 2) secs = parts[0]! * 60 + parts[1]!; // minutes:seconds
  else secs = (parts[0]! * 60 + parts[1]!) * 60 + parts[2]!;
  return secs * 1000;
}

/** Megabytes of a SLURM memory size (`'300M'`, `'8G'`, `'1T'`; a bare number is MB), or undefined. */
export function slurmMemoryMb(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)B?$/i.exec(v.trim());
  if (!m) return undefined;
  return Number(m[1]) * { '': 1, K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G' | 'T'];
}

/** GPUs one job gets, from `gpus` (`2`, `'a100:2'`) or a `gpu` entry of `gres` (`'gpu:2'`, `'gpu:a100:2'`). */
export function slurmGpus(r: SlurmResources): number {
  if (r.gpus !== undefined) {
    const n = /(\d+)\s*$/.exec(String(r.gpus));
    return n ? Number(n[1]) : 1;
  }
  for (const g of (r.gres ?? '').split(',')) {
    if (!/^gpu(:|$)/.test(g.trim())) continue;
    const n = /:(\d+)\s*$/.exec(g);
    return n ? Number(n[1]) : 1;
  }
  return 0;
}

/** Memory one job may use (MB): `mem`, else `memPerCpu` times its CPUs; undefined when neither is set. */
export function slurmJobMemoryMb(r: SlurmResources): number | undefined {
  const mem = slurmMemoryMb(r.mem);
  if (mem !== undefined) return mem;
  const perCpu = slurmMemoryMb(r.memPerCpu);
  return perCpu === undefined ? undefined : perCpu * (r.cpusPerTask ?? 1);
}
