/** The keys and types of a local pool's options (LocalPoolOptions). */
import { z } from 'zod';
import { strictOptions } from '../../../contract/option-check.js';
import { commonShape, num } from '../schema-parts.js';

export const localPoolSchema = strictOptions({
  ...commonShape,
  launcher: z.literal('local'),
  agents: num.optional(),
  slots: num.optional(),
  node: z.string().optional(),
  env: z.record(z.string(), z.string()).optional(),
});
