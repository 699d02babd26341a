/** The keys and types of a Grid Engine pool's options (SgePoolOptions). */
import { z } from 'zod';
import { strictOptions } from '../../../contract/option-check.js';
import { batchShape, num } from '../schema-parts.js';

const sgeResources = strictOptions({
  queue: z.string().optional(),
  pe: z.string().optional(),
  slots: num.optional(),
  h_rt: z.union([z.string(), z.number()]).optional(),
  h_vmem: z.string().optional(),
  mem_free: z.string().optional(),
  project: z.string().optional(),
  account: z.string().optional(),
  holdJid: z.union([z.string(), z.array(z.string())]).optional(),
  extra: z.array(z.string()).optional(),
});

export const sgePoolSchema = strictOptions({
  ...batchShape,
  launcher: z.literal('sge'),
  resources: sgeResources.optional(),
  profile: z.string().optional(),
  profiles: z.record(z.string(), sgeResources).optional(),
});
