/** Checks and counts that several launcher kinds' plans share. */
import { FlotillaError, badInput } from '../../contract/errors.js';
import type { CommonPoolOptions } from '../pool-options.js';

/** `v`, when given, is a positive integer (or number). */
export function positive(what: string, v: unknown, integer = true): void {
  if (v !== undefined && !((integer ? Number.isInteger(v) : Number.isFinite(v)) && (v as number) > 0)) badInput(what, v, integer ? 'a positive integer' : 'a positive number');
}

/** `agents` is a fixed count (min = max = agents); `max` alone scales from 0; neither: `all`, fixed. */
export function counts(at: (k: string) => string, p: Pick<CommonPoolOptions, 'min' | 'max'>, agents: number | undefined, all: number): { min: number; max: number } {
  positive(at('agents'), agents);
  if (agents !== undefined && (p.min !== undefined || p.max !== undefined)) {
    throw new FlotillaError('BAD_INPUT', `${at('agents')} is a fixed count (min = max = agents): give either agents or min/max, not both`);
  }
  if (agents !== undefined) return { min: agents, max: agents };
  const max = p.max ?? Math.max(p.min ?? 0, all);
  const min = p.min ?? (p.max === undefined ? max : 0);
  if (min > max) badInput(at('min'), min, `at most max (${max})`);
  return { min, max };
}

/** Launches in flight at once, when the pool does not say. */
export const DEFAULT_MAX_LAUNCHING = 16;
/** `connectTimeout` of kinds whose agents start at once. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 60_000;
