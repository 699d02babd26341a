/**
 * Every launcher kind's option schema, by its `launcher` word: what `connect({ pools })` and the
 * controller's config check before anything runs. Only zod shapes, no launcher (registry.ts has
 * the kinds themselves, with these same schemas; a type test keeps the two lists equal).
 */
import { localPoolSchema } from './local/schema.js';
import { sshPoolSchema } from './ssh/schema.js';
import { slurmPoolSchema } from './slurm/schema.js';
import { sgePoolSchema } from './sge/schema.js';

export const launcherSchemas = {
  local: localPoolSchema,
  ssh: sshPoolSchema,
  slurm: slurmPoolSchema,
  sge: sgePoolSchema,
} as const;
