/**
 * Checks of what agents send before the scheduler acts on it: an agent is authenticated, not
 * trusted to be well-formed. A malformed message throws CHANNEL, which ends its connection.
 */
import { FlotillaError } from '../agent/protocol/errors.js';
import type { WireEncoded, WirePart, WireResult } from '../agent/protocol/messages.js';
import { MAX_VALUE_DEPTH, MAX_WIRE_DEPTH, boundedErrorInfo, deeperThan } from '../agent/protocol/bounds.js';

/** Whether an encoded value from an agent nests deeper than the controller stores or forwards. */
function tooDeep(p: WireEncoded): boolean {
  return deeperThan(p.j, MAX_WIRE_DEPTH) || deeperThan(p.m, MAX_WIRE_DEPTH);
}

/**
 * Checks one part tuple from an agent; throws CHANNEL (which ends its connection) if malformed.
 * Returns undefined for a value nested too deep to forward: that part is dropped.
 */
export function checkPart(item: unknown, attachments: number): WirePart | undefined {
  const bad = (why: string): never => {
    throw new FlotillaError('CHANNEL', `malformed part: ${why}`);
  };
  if (!Array.isArray(item) || item.length !== 2) bad('not a 2-tuple');
  const [run, payload] = item as unknown[];
  if (!Number.isSafeInteger(run)) bad('bad run');
  checkEncoded(payload, attachments, bad);
  return tooDeep(payload as WireEncoded) ? undefined : (item as WirePart);
}

/** Checks a WireEncoded from an agent: an object with `j`, binary parts within the frame's attachments. */
function checkEncoded(payload: unknown, attachments: number, bad: (why: string) => never): void {
  if (typeof payload !== 'object' || payload === null) bad('payload is not an object');
  const p = payload as Record<string, unknown>;
  if (!('j' in p)) bad('value without j');
  if (p.b !== undefined && !(Array.isArray(p.b) && p.b.every((i) => Number.isInteger(i) && i >= 0 && i < attachments))) bad('binary parts out of range');
}

/**
 * Checks one result tuple from an agent; throws CHANNEL (which ends its connection) if malformed.
 * A value nested too deep to store or forward becomes that task's failure; an error keeps only
 * its known fields, and a context it cannot carry is replaced by a note (boundedErrorInfo).
 */
export function checkResult(item: unknown, attachments: number): WireResult {
  const bad = (why: string): never => {
    throw new FlotillaError('CHANNEL', `malformed result: ${why}`);
  };
  if (!Array.isArray(item) || item.length !== 4) bad('not a 4-tuple');
  const [run, ok, payload, durationUs] = item as unknown[];
  if (!Number.isSafeInteger(run) || (ok !== 0 && ok !== 1) || typeof durationUs !== 'number') bad('bad run, flag or duration');
  if (typeof payload !== 'object' || payload === null) bad('payload is not an object');
  const p = payload as Record<string, unknown>;
  if (ok === 1) {
    checkEncoded(p, attachments, bad);
    if (!tooDeep(p as unknown as WireEncoded)) return item as WireResult;
    const message = `the task's result is nested more than ${MAX_VALUE_DEPTH} levels deep, so it cannot be stored or sent; flatten it, or return it as a string or bytes`;
    return [run as number, 0, { code: 'TASK_ERROR', message, context: { maxDepth: MAX_VALUE_DEPTH } }, durationUs as number];
  }
  if (typeof p.message !== 'string') bad('error without a message');
  return [run as number, 0, boundedErrorInfo(p), durationUs as number];
}
