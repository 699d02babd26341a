/**
 * The polite options' values, read once for every batch system: when a job may start (`begin`)
 * and the lists of nodes. Each adapter writes them as its own flags.
 */
import { FlotillaError, badInput } from '../../../contract/errors.js';
import type { PoliteOptions } from './options.js';

const UNIT_MS = { s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * The moment `begin` names: a `Date`; `'HH:MM'` or `'HH:MM:SS'` (the next such time on this
 * machine's clock: later today, else tomorrow); a delay `'90s'`, `'30m'`, `'2h'`, `'1d'`; or an
 * ISO date-time (`'2025-01-31T22:00'`).
 */
export function beginAt(begin: string | Date, now = new Date()): Date {
  if (begin instanceof Date) {
    if (Number.isNaN(begin.getTime())) badInput('begin', begin, 'a valid Date');
    return begin;
  }
  if (typeof begin !== 'string') badInput('begin', begin, "a time like '22:00', a delay like '2h', or a Date");
  const t = begin.trim();
  const clock = /^([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$/.exec(t);
  if (clock) {
    const at = new Date(now);
    at.setHours(Number(clock[1]), Number(clock[2]), Number(clock[3] ?? 0), 0);
    if (at.getTime() <= now.getTime()) at.setDate(at.getDate() + 1);
    return at;
  }
  const delay = /^(\d{1,9}(?:\.\d{1,6})?)\s*(s|m|min|h|d)$/.exec(t);
  if (delay) return new Date(now.getTime() + Math.round(Number(delay[1]) * UNIT_MS[delay[2] as keyof typeof UNIT_MS]));
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(t) && !Number.isNaN(new Date(t).getTime())) return new Date(t);
  throw new FlotillaError('BAD_INPUT', `begin must be a time like '22:00', a delay like '2h', an ISO date-time or a Date, got ${JSON.stringify(begin)}`);
}

/** Two digits. */
const dd = (n: number) => String(n).padStart(2, '0');

/** A local date-time as `YYYY-MM-DDTHH:MM:SS` (SLURM's `--begin`). */
export function isoLocal(d: Date): string {
  return `${d.getFullYear()}-${dd(d.getMonth() + 1)}-${dd(d.getDate())}T${dd(d.getHours())}:${dd(d.getMinutes())}:${dd(d.getSeconds())}`;
}

/** Checks the polite options' values (the schema has checked their types). */
export function checkPolite(p: PoliteOptions, at: (k: string) => string): void {
  if (p.begin !== undefined) {
    try {
      beginAt(p.begin);
    } catch {
      badInput(at('begin'), p.begin, "a time like '22:00', a delay like '2h', an ISO date-time or a Date");
    }
  }
  if (p.nice !== undefined && !(Number.isInteger(p.nice) && p.nice >= 0 && p.nice <= 1023)) badInput(at('nice'), p.nice, 'an integer from 0 to 1023');
  for (const k of ['nodelist', 'exclude'] as const) {
    const v = p[k];
    if (v !== undefined && !v.every((n) => /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(n))) badInput(at(k), v, "a list of node names like ['node01', 'node02']");
  }
}
