/** The `sge` launcher kind: agents inside Grid Engine jobs (the batch launcher over the Grid Engine adapter). */
import { defineLauncher } from '../kind.js';
import type { LauncherKind } from '../kind.js';
import { planBatch } from '../batch/plan.js';
import { sgePoolSchema } from './schema.js';
import { SgeLauncher, resolveSgeResources } from './launcher.js';
import { qsubLines, sgeMemoryMb, sgeSeconds } from './script.js';
import type { SgePoolOptions } from './options.js';

export const sgeKind: LauncherKind<SgePoolOptions> = defineLauncher<SgePoolOptions>({
  launcher: 'sge',
  schema: sgePoolSchema,
  local: false,
  defaults: { connectTimeoutMs: undefined },
  plan(input) {
    const r = resolveSgeResources(input.options);
    qsubLines(r); // checks names, times and lines now, not at the first launch
    const cpus = r.pe === undefined ? undefined : (r.slots ?? 1);
    // h_vmem is per slot in Grid Engine; mem_free is what the host must have free for the job.
    const vmem = sgeMemoryMb(r.h_vmem);
    const memoryMb = vmem === undefined ? sgeMemoryMb(r.mem_free) : vmem * (cpus ?? 1);
    return planBatch(input, { cpus, memoryMb, gpus: 0, timeMs: r.h_rt === undefined ? undefined : sgeSeconds(r.h_rt) * 1000 });
  },
  create: (pool, o, ctx) => new SgeLauncher(pool, o, ctx.agentUrl, ctx.log),
});
