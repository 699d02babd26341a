/**
 * What a controller is told at start: where it listens, its state folder, its pools, and how
 * long it keeps what. Keys and types are checked by `controllerOptionsSchema` at start (so a
 * misspelt key is an error, not ignored); ranges where used (Controller.start, planPools).
 */
import { z } from 'zod';
import { poolsSchema } from './pool-schema.js';
import { strictOptions } from '../contract/option-check.js';

export type { ControllerOptions } from '../contract/controller-options.js';

/** The keys a controller takes from a file or the command line: every option but `embedded` and `log`. */
export const controllerFileShape = {
  host: z.string().min(1).optional(),
  port: z.number().int().optional(),
  stateDir: z.string().min(1).optional(),
  requireToken: z.boolean().optional(),
  pools: poolsSchema.optional(),
  defaultPool: z.string().min(1).optional(),
  maxFrameBytes: z.number().int().positive().optional(),
  retainJobs: z.number().int().min(0).optional(),
  heartbeatMs: z.number().int().optional(),
  durable: z.boolean().optional(),
  flowCache: z.union([z.string().min(1), z.literal(false)], { error: 'a file path, or false for none' }).optional(),
  tls: z
    .union([z.literal('self-signed'), strictOptions({ cert: z.union([z.string().min(1), z.instanceof(Buffer)]), key: z.union([z.string().min(1), z.instanceof(Buffer)]) })], {
      error: "'self-signed', or { cert, key } (PEM text)",
    })
    .optional(),
  connectionLimits: strictOptions({
    maxConnections: z.number().int().positive().optional(),
    maxUnproven: z.number().int().positive().optional(),
    unprovenTimeoutMs: z.number().int().positive().optional(),
  }).optional(),
};

/** Every key of ControllerOptions, with its type. */
export const controllerOptionsSchema = strictOptions({
  ...controllerFileShape,
  embedded: z.boolean().optional(),
  log: z.custom<(line: string) => void>((v) => typeof v === 'function', { error: 'a function of one log line' }).optional(),
});

/** A controller's config file (`flotilla controller --config`): the controller's options, pools included. */
export const controllerConfigSchema = strictOptions(controllerFileShape);
