/**
 * Agents inside Grid Engine jobs: the batch launcher over the Grid Engine adapter (system.ts).
 * Launch requests that arrive together become ONE `qsub -t` array; the queue is watched with
 * `qstat` (and `qacct` once an element has left it); close() deletes every job of ours.
 */
import { FlotillaError } from '../../../contract/errors.js';
import { BatchLauncher } from '../batch/launcher.js';
import { sge } from './system.js';
import type { SgeRequest } from './system.js';
import type { SgePoolOptions, SgeResources } from './options.js';

export class SgeLauncher extends BatchLauncher<SgeRequest> {
  constructor(pool: string, opts: SgePoolOptions, controllerAgentUrl: string, log: (line: string) => void) {
    super(pool, opts, sge, sgeRequest(opts), controllerAgentUrl, log);
  }
}

/** The job request of a pool: its resources (profile's and own), its polite options. */
export function sgeRequest(opts: SgePoolOptions): SgeRequest {
  const { begin, nice, nodelist, exclude, exclusive } = opts;
  return { resources: resolveSgeResources(opts), polite: { begin, nice, nodelist, exclude, exclusive } };
}

/** The profile's resources with the pool's own over them. */
export function resolveSgeResources(opts: SgePoolOptions): SgeResources {
  let base: SgeResources = {};
  if (opts.profile !== undefined) {
    const p = opts.profiles?.[opts.profile];
    if (!p) throw new FlotillaError('BAD_INPUT', `Grid Engine profile ${JSON.stringify(opts.profile)} is not in profiles (${Object.keys(opts.profiles ?? {}).join(', ') || 'none given'})`);
    base = p;
  }
  return { ...base, ...opts.resources, extra: [...(base.extra ?? []), ...(opts.resources?.extra ?? [])] };
}
