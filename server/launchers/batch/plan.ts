/**
 * The plan of a batch pool, whatever the system: counts (one agent per job), task slots from
 * what one job gets, the job's time limit as the agents' walltime, and every queued job allowed
 * in flight (waiting in a queue is normal).
 */
import { checkRuntimeOption } from '../../runtime/index.js';
import type { KindPlan, PlanInput } from '../kind.js';
import { counts, positive } from '../plan-parts.js';
import { checkPolite } from './polite.js';
import type { BatchPoolOptions } from './options.js';

/** What one job of the pool gets, as its adapter reads the resources. */
export interface JobOffer {
  /** Cores (CPUs, slots) of one job. */
  cpus: number | undefined;
  /** Memory of one job (MB), where the resources say. */
  memoryMb: number | undefined;
  gpus: number;
  /** The job's time limit (ms), where the resources say. */
  timeMs: number | undefined;
}

export function planBatch({ options: p, at, walltimeMs }: PlanInput<BatchPoolOptions>, job: JobOffer): KindPlan {
  checkRuntimeOption(p.runtime, at('runtime'));
  checkPolite(p, at);
  positive(at('pollSeconds'), p.pollSeconds, false);
  const { min, max } = counts(at, p, p.agents, 1);
  // cores: 'all': the agent takes what its job got (SLURM_CPUS_ON_NODE, NSLOTS) and sizes its slots from it.
  const all = p.cores === 'all';
  const slots = p.slots ?? (all ? undefined : (job.cpus ?? 1));
  const perSlot = (v: number) => v / (slots ?? 1);
  const slot = {
    cores: typeof p.cores === 'number' ? p.cores : all ? undefined : Math.max(1, Math.floor((job.cpus ?? 1) / (slots ?? 1))),
    memoryMb: p.memoryMb ?? (job.memoryMb === undefined || (all && slots === undefined) ? undefined : Math.floor(perSlot(job.memoryMb))),
    gpus: p.gpus ?? perSlot(job.gpus),
  };
  // The job's own time limit unless told otherwise: the agent leaves before the system ends it.
  const walltime = p.walltime === false ? undefined : (walltimeMs ?? job.timeMs);
  return { min, max, slots, slot, walltimeMs: walltime, maxLaunching: p.maxLaunching ?? max };
}
