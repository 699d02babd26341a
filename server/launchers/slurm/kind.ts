/** The `slurm` launcher kind: agents inside SLURM jobs (the batch launcher over the SLURM adapter). */
import { defineLauncher } from '../kind.js';
import type { LauncherKind } from '../kind.js';
import { planBatch } from '../batch/plan.js';
import { slurmPoolSchema } from './schema.js';
import { SlurmLauncher, resolveResources } from './launcher.js';
import { sbatchLines } from './script.js';
import { slurmGpus, slurmJobMemoryMb, slurmTimeMs } from './resources.js';
import type { SlurmPoolOptions } from './options.js';

export const slurmKind: LauncherKind<SlurmPoolOptions> = defineLauncher<SlurmPoolOptions>({
  launcher: 'slurm',
  schema: slurmPoolSchema,
  local: false,
  defaults: { connectTimeoutMs: undefined },
  plan(input) {
    const r = resolveResources(input.options);
    sbatchLines(r); // checks times and lines now, not at the first launch
    return planBatch(input, { cpus: r.cpusPerTask, memoryMb: slurmJobMemoryMb(r), gpus: slurmGpus(r), timeMs: r.time === undefined ? undefined : slurmTimeMs(r.time) });
  },
  create: (pool, o, ctx) => new SlurmLauncher(pool, o, ctx.agentUrl, ctx.log),
});
