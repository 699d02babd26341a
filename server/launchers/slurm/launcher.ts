/**
 * Agents inside SLURM jobs: the batch launcher over the SLURM adapter (system.ts). Launch
 * requests that arrive together become ONE job array; the queue is watched with squeue (and
 * scontrol once a job has left it); close() cancels every job of ours.
 */
import { FlotillaError } from '../../../contract/errors.js';
import { BatchLauncher } from '../batch/launcher.js';
import { slurm } from './system.js';
import type { SlurmRequest } from './system.js';
import type { SlurmPoolOptions, SlurmResources } from './options.js';

export type { BatchJobStatus as SlurmJobStatus } from '../batch/launcher.js';

export class SlurmLauncher extends BatchLauncher<SlurmRequest> {
  constructor(pool: string, opts: SlurmPoolOptions, controllerAgentUrl: string, log: (line: string) => void) {
    super(pool, opts, slurm, slurmRequest(opts), controllerAgentUrl, log);
  }
}

/** The job request of a pool: its resources (profile's and own), its polite options. */
export function slurmRequest(opts: SlurmPoolOptions): SlurmRequest {
  const { begin, nice, nodelist, exclude, exclusive } = opts;
  return { resources: resolveResources(opts), polite: { begin, nice, nodelist, exclude, exclusive }, wholeNode: opts.cores === 'all' };
}

/** The profile's resources with the pool's own over them. */
export function resolveResources(opts: SlurmPoolOptions): SlurmResources {
  let base: SlurmResources = {};
  if (opts.profile !== undefined) {
    const p = opts.profiles?.[opts.profile];
    if (!p) throw new FlotillaError('BAD_INPUT', `SLURM profile ${JSON.stringify(opts.profile)} is not in profiles (${Object.keys(opts.profiles ?? {}).join(', ') || 'none given'})`);
    base = p;
  }
  return { ...base, ...opts.resources, extra: [...(base.extra ?? []), ...(opts.resources?.extra ?? [])] };
}
