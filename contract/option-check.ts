/**
 * Strict option objects of the full zod: an unknown key is an error that names it and suggests
 * the nearest known one, a bad value an error that names the option and shows the value
 * (option-issues.ts says how). Shared by the controller, its pools and its config file.
 */
import { z } from 'zod';
import { strictParams } from './option-issues.js';

export { checkOptions, describeOptionIssues, strictParams } from './option-issues.js';

/** A `z.strictObject` whose unknown-key errors suggest the nearest known key. */
export function strictOptions<T extends z.ZodRawShape>(shape: T): z.ZodObject<T, z.core.$strict> {
  return z.strictObject(shape, strictParams(Object.keys(shape)));
}
