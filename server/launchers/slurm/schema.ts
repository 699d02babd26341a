/** The keys and types of a SLURM pool's options (SlurmPoolOptions). */
import { z } from 'zod';
import { strictOptions } from '../../../contract/option-check.js';
import { batchShape, num } from '../schema-parts.js';

const slurmResources = strictOptions({
  partition: z.string().optional(),
  time: z.union([z.string(), z.number()]).optional(),
  mem: z.string().optional(),
  memPerCpu: z.string().optional(),
  cpusPerTask: num.optional(),
  nodes: num.optional(),
  ntasks: num.optional(),
  gres: z.string().optional(),
  gpus: z.union([z.string(), z.number()]).optional(),
  account: z.string().optional(),
  qos: z.string().optional(),
  constraint: z.string().optional(),
  exclusive: z.boolean().optional(),
  extra: z.array(z.string()).optional(),
});

export const slurmPoolSchema = strictOptions({
  ...batchShape,
  launcher: z.literal('slurm'),
  resources: slurmResources.optional(),
  profile: z.string().optional(),
  profiles: z.record(z.string(), slurmResources).optional(),
});
