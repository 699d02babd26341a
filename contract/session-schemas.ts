/**
 * Inputs of the `session` procedures: many jobs submitted in one call, and one result stream
 * per session that follows many jobs.
 */
import { z } from 'zod';
import type { ErrorInfo } from './errors.js';
import type { TaskResult } from './job-types.js';

/** Jobs one `session.submit` call may carry. */
export const MAX_JOBS_PER_SUBMIT = 4096;

/** A result stream's id, chosen by the client (one per session). */
export const streamIdSchema = z.string().min(1).max(64);

/**
 * Input of `session.submit`. Each job is checked on its own (as `map.submit`'s input), so a bad
 * one fails alone; with `stream`, each accepted job's results go to that stream. A function that
 * several jobs run travels once, in `fns`: such a job gives its index as `fnAt` instead of `fn`.
 */
export const submitManySchema = z.object({
  stream: streamIdSchema.optional(),
  fns: z.array(z.unknown()).max(MAX_JOBS_PER_SUBMIT).optional(),
  jobs: z.array(z.unknown()).min(1).max(MAX_JOBS_PER_SUBMIT),
});

/** Input of `session.follow`: jobs whose results a stream sends, each from an offset. */
export const followSchema = z.object({
  stream: streamIdSchema,
  jobs: z.array(z.object({ jobId: z.string().min(1), offset: z.number().int().min(0) })).min(1).max(MAX_JOBS_PER_SUBMIT),
});

/** One job's part of a `session.results` event: results from where its last part stopped, or why it ends. */
export interface FeedPart {
  jobId: string;
  /** Offset in the job's log just past these results. */
  seq: number;
  results: TaskResult[];
  total: number;
  pool: string;
  /** Set when the job's stream ends without all its results (the controller closed). */
  error?: ErrorInfo;
}

/** One job's answer to `session.submit`: its id, or why it was refused. */
export type SubmitOutcome = { jobId: string; total: number; error?: undefined } | { error: ErrorInfo; jobId?: undefined };
