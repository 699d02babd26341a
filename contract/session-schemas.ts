/**
 * Inputs of the `session` procedures: many jobs submitted in one call, and one result stream
 * per session that follows many jobs.
 */
import { z } from 'zod';

/** Jobs one `session.submit` call may carry. */
export const MAX_JOBS_PER_SUBMIT = 4096;

/** A result stream's id, chosen by the client (one per session). */
export const streamIdSchema = z.string().min(1).max(64);

/**
 * Input of `session.submit`. Each job is checked on its own (as `map.submit`'s input), so a bad
 * one fails alone; with `stream`, each accepted job's results go to that stream.
 */
export const submitManySchema = z.object({
  stream: streamIdSchema.optional(),
  jobs: z.array(z.unknown()).min(1).max(MAX_JOBS_PER_SUBMIT),
});

/** Input of `session.follow`: jobs whose results a stream sends, each from an offset. */
export const followSchema = z.object({
  stream: streamIdSchema,
  jobs: z.array(z.object({ jobId: z.string().min(1), offset: z.number().int().min(0) })).min(1).max(MAX_JOBS_PER_SUBMIT),
});
