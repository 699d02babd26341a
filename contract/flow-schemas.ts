/**
 * Input schemas of the flow procedures, shared by tRPC and the programmatic API (client/flow).
 */
import { z } from 'zod';
import { encodedSchema, fnSpecSchema } from './schemas.js';
import { RESERVED_NAMES, getDistributeSchema } from './option-schemas.js';

// The client checks `distribute` with the zod/mini schema (it loads at import); the server
// with this one, of the same shape.
export { RESERVED_NAMES } from './option-schemas.js';
export type { DistributeInput } from './option-schemas.js';

const stageName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z_$][\w$-]*$/, 'a stage name: letters, digits, _, $ or -, not starting with a digit')
  .refine((n) => !RESERVED_NAMES.includes(n), { message: `is reserved (${RESERVED_NAMES.join(', ')} are fields of a collected row)` });

/** One stage as the client sends it: the agent's FlowStageDef. */
export const flowStageSchema = z
  .object({
    name: stageName,
    needs: z.array(z.string().min(1)).max(1000),
    fn: fnSpecSchema.optional(),
    cmd: z.array(z.string()).min(1).max(10_000).optional(),
    cwd: z.string().min(1).optional(),
    env: z.record(z.string(), z.string()).optional(),
    timeoutMs: z.number().int().min(0).max(2 ** 31 - 1).optional(),
    output: z.unknown().optional(),
    /** false: outputs are neither taken from nor stored in the flow cache (nor those of stages that need it). */
    cache: z.boolean().optional(),
  })
  .strict()
  .refine((s) => (s.fn ? 1 : 0) + (s.cmd ? 1 : 0) === 1, { message: 'a stage is exactly one of: a function (fn) or a command (cmd)' });

/** How a flow's rows are grouped into units and where the units run. */
export const distributeSchema = z.strictObject(getDistributeSchema().shape);

/** A flow as submitted: its grid (one encoded array of row objects), stages and distribution. */
export const flowSubmitSchema = z
  .object({
    name: z.string().min(1).max(200).optional(),
    grid: encodedSchema,
    stages: z.array(flowStageSchema).min(1).max(1000),
    distribute: distributeSchema.optional(),
  })
  .strict();

export const flowIdSchema = z.object({ id: z.string().min(1).max(200) });

export const flowRowsSchema = flowIdSchema.extend({
  from: z.number().int().min(0).default(0),
  max: z.number().int().min(1).max(10_000).default(1000),
});

export type FlowStageInput = z.infer<typeof flowStageSchema>;
export type FlowSubmitInput = z.infer<typeof flowSubmitSchema>;
