/**
 * Checks of what agents send before the scheduler acts on it: an agent is authenticated, not
 * trusted to be well-formed. A malformed message throws CHANNEL, which ends its connection.
 */
import { FlotillaError, RETRYABLE } from '../agent/protocol/errors.js';
import type { WirePart, WireResult } from '../agent/protocol/messages.js';

const ERROR_CODES: ReadonlySet<string> = new Set(Object.keys(RETRYABLE));

/** Checks one part tuple from an agent; throws CHANNEL (which ends its connection) if malformed. */
export function checkPart(item: unknown, attachments: number): WirePart {
  const bad = (why: string): never => {
    throw new FlotillaError('CHANNEL', `malformed part: ${why}`);
  };
  if (!Array.isArray(item) || item.length !== 2) bad('not a 2-tuple');
  const [run, payload] = item as unknown[];
  if (!Number.isSafeInteger(run)) bad('bad run');
  checkEncoded(payload, attachments, bad);
  return item as WirePart;
}

/** Checks a WireEncoded from an agent: an object with `j`, binary parts within the frame's attachments. */
function checkEncoded(payload: unknown, attachments: number, bad: (why: string) => never): void {
  if (typeof payload !== 'object' || payload === null) bad('payload is not an object');
  const p = payload as Record<string, unknown>;
  if (!('j' in p)) bad('value without j');
  if (p.b !== undefined && !(Array.isArray(p.b) && p.b.every((i) => Number.isInteger(i) && i >= 0 && i < attachments))) bad('binary parts out of range');
}

/** Checks one result tuple from an agent; throws CHANNEL (which ends its connection) if malformed. */
export function checkResult(item: unknown, attachments: number): WireResult {
  const bad = (why: string): never => {
    throw new FlotillaError('CHANNEL', `malformed result: ${why}`);
  };
  if (!Array.isArray(item) || item.length !== 4) bad('not a 4-tuple');
  const [run, ok, payload, durationUs] = item as unknown[];
  if (!Number.isSafeInteger(run) || (ok !== 0 && ok !== 1) || typeof durationUs !== 'number') bad('bad run, flag or duration');
  if (typeof payload !== 'object' || payload === null) bad('payload is not an object');
  const p = payload as Record<string, unknown>;
  if (ok === 1) checkEncoded(p, attachments, bad);
  else {
    if (typeof p.message !== 'string') bad('error without a message');
    if (typeof p.code !== 'string' || !ERROR_CODES.has(p.code)) p.code = 'TASK_ERROR';
    if (p.context !== undefined && (typeof p.context !== 'object' || p.context === null)) delete p.context;
    for (const k of ['name', 'stack'] as const) if (p[k] !== undefined && typeof p[k] !== 'string') delete p[k];
  }
  return item as WireResult;
}
