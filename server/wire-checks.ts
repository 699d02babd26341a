/**
 * Checks of what agents send before the scheduler acts on it: an agent is authenticated, not
 * trusted to be well-formed. A malformed message throws CHANNEL, which ends its connection.
 */
import { z } from 'zod';
import { FlotillaError } from '../contract/errors.js';
import type { WireEncoded, WirePart, WireResult } from '../contract/messages.js';
import { MAX_VALUE_DEPTH, MAX_WIRE_DEPTH, boundedErrorInfo, deeperThan } from '../contract/bounds.js';

// What an agent says about itself, bounded: these values are shown to every client (agents.list)
// and must never be able to break that listing for the others.
const count = z.number().int().min(0).max(1_000_000);
const label = (max: number) => z.string().max(max);
const hash = z.string().regex(/^[0-9a-f]{64}$/);

const schemas = {
  ready: z.object({
    t: z.literal('ready'),
    slots: z.number().int().min(1).max(4096),
    lane: z.number().int().min(0).max(4095),
    thread: z.number().int().min(0).max(2 ** 32).optional(),
    pid: z.number().int().min(0).max(2 ** 32),
    host: label(255),
    node: label(64),
    platform: label(64),
    pool: label(128).optional(),
    arts: z.array(hash).max(100_000).optional(),
  }),
  ctl: z.object({ t: z.literal('ctl'), pid: z.number().int().min(0).max(2 ** 32), host: label(255), slots: z.number().int().min(1).max(4096) }),
  hb: z.object({ t: z.literal('hb'), running: count, queued: count, rssBytes: z.number().min(0).max(2 ** 53), cpuUs: z.number().min(0).max(2 ** 53).optional() }),
  need: z.object({ t: z.literal('need'), hash }),
  // Why a lane's thread died: shown in the failure of the task it ran, so bounded like a log tail.
  'lane-end': z.object({ t: z.literal('lane-end'), lane: z.number().int().min(0).max(4095), exitCode: z.number().int(), cause: label(16_384), stderrTail: label(16_384) }),
} as const;

/** The messages checked by schema (results and parts are checked item by item below). */
export type CheckedMessage = { [K in keyof typeof schemas]: z.infer<(typeof schemas)[K]> }[keyof typeof schemas];

/**
 * Checks a `ready`, `ctl`, `hb`, `need` or `lane-end` message against its schema and returns it without
 * unknown fields; throws CHANNEL (which ends that agent's connection) naming the bad field.
 */
export function checkMessage<T extends keyof typeof schemas>(t: T, msg: unknown): z.infer<(typeof schemas)[T]> {
  const r = schemas[t].safeParse(msg);
  if (r.success) return r.data as z.infer<(typeof schemas)[T]>;
  const issue = r.error.issues[0]!;
  throw new FlotillaError('CHANNEL', `malformed ${t} message: ${issue.path.join('.') || 'message'}: ${issue.message}`);
}

/** Whether an encoded value from an agent nests deeper than the controller stores or forwards. */
function tooDeep(p: WireEncoded): boolean {
  return deeperThan(p.j, MAX_WIRE_DEPTH) || deeperThan(p.m, MAX_WIRE_DEPTH);
}

/**
 * Checks one part tuple from an agent; throws CHANNEL (which ends its connection) if malformed.
 * Returns undefined for a value nested too deep to forward: that part is dropped.
 */
export function checkPart(item: unknown, attachments: number): WirePart | undefined {
  const bad = badPart;
  if (!Array.isArray(item) || item.length !== 2) bad('not a 2-tuple');
  const [run, payload] = item as unknown[];
  if (!Number.isSafeInteger(run)) bad('bad run');
  checkEncoded(payload, attachments, bad);
  return tooDeep(payload as WireEncoded) ? undefined : (item as WirePart);
}

/** Whether `b` lists attachment indices below `attachments`. */
function attachmentsIn(b: unknown, attachments: number): boolean {
  if (!Array.isArray(b)) return false;
  for (const i of b) if (!(Number.isInteger(i) && i >= 0 && i < attachments)) return false;
  return true;
}

/** Checks a WireEncoded from an agent: an object with `j`, binary parts within the frame's attachments. */
function checkEncoded(payload: unknown, attachments: number, bad: (why: string) => never): void {
  if (typeof payload !== 'object' || payload === null) bad('payload is not an object');
  const p = payload as Record<string, unknown>;
  if (!('j' in p)) bad('value without j');
  if (p.b !== undefined && !attachmentsIn(p.b, attachments)) bad('binary parts out of range');
}

/**
 * Checks one result tuple from an agent; throws CHANNEL (which ends its connection) if malformed.
 * A value nested too deep to store or forward becomes that task's failure; an error keeps only
 * its known fields, and a context it cannot carry is replaced by a note (boundedErrorInfo).
 */
export function checkResult(item: unknown, attachments: number): WireResult {
  const bad = badResult;
  if (!Array.isArray(item) || (item.length !== 4 && item.length !== 6)) bad('not a 4- or 6-tuple');
  const [run, ok, payload, durationUs, cpuUs = -1, rssKb = -1] = item as unknown[];
  if (!Number.isSafeInteger(run) || (ok !== 0 && ok !== 1) || !isMeasure(durationUs)) bad('bad run, flag or duration');
  if (!isMeasure(cpuUs) || !isMeasure(rssKb)) bad('bad CPU time or memory');
  if (typeof payload !== 'object' || payload === null) bad('payload is not an object');
  const p = payload as Record<string, unknown>;
  if (ok === 1) {
    checkEncoded(p, attachments, bad);
    if (!tooDeep(p as unknown as WireEncoded)) return item as WireResult;
    const message = `the task's result is nested more than ${MAX_VALUE_DEPTH} levels deep, so it cannot be stored or sent; flatten it, or return it as a string or bytes`;
    return [run as number, 0, { code: 'TASK_ERROR', message, context: { maxDepth: MAX_VALUE_DEPTH } }, durationUs as number, cpuUs as number, rssKb as number];
  }
  if (typeof p.message !== 'string') bad('error without a message');
  return [run as number, 0, boundedErrorInfo(p), durationUs as number, cpuUs as number, rssKb as number];
}

// Module functions, not closures: these checks run once per result.
function badPart(why: string): never {
  throw new FlotillaError('CHANNEL', `malformed part: ${why}`);
}

function badResult(why: string): never {
  throw new FlotillaError('CHANNEL', `malformed result: ${why}`);
}

/** A duration or an amount an agent reports: a finite number, -1 meaning not measured. */
function isMeasure(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= -1 && v <= 2 ** 53;
}
