/**
 * The packed form of a row of results: per result a flags byte and variable-length integers
 * (index, attempt, agent and host by number, timings as differences), and one JSON list holding
 * the names and every value and error of the row, so a row of tiny results costs one
 * JSON.stringify of a list of plain values and ~15 bytes a result. Layout:
 *
 *   [u32 0xFFFFFFFF][u8 format 1][count][f64 base time][fields length][fields]
 *   [JSON length][JSON: [names, payload...]][binary part count][each part's length][the parts]
 *
 * (bracketed numbers without a type are unsigned varints, ./bytes.ts; the first word tells it
 * from an older row). A payload is, in result order: an ok result's `j` (then its `m`, if it has
 * one), a failed result's error unless it shares an earlier result's.
 */
import type { Encoded } from '../../contract/codec.js';
import type { ErrorInfo } from '../../contract/errors.js';
import type { TaskResult } from '../jobs/types.js';
import type { TaskUsage } from '../task-usage.js';
import { ByteReader, ByteWriter, assemble, binaryParts, writeBinaryParts } from './bytes.js';

const FORMAT = 1;

const OK = 1, ATTEMPT = 2, AGENT = 4, HOST = 8, USAGE_INT = 16, USAGE_F64 = 32;
/** For an ok result: its value has `m`. For a failure: its error is that of an earlier result (a number follows). */
const META_OR_REF = 64;
/** An ok result's value has binary parts (their count and indices follow). */
const BINARY = 128;

/** Timings as integer differences when each fits (zigzag doubles it: 52 bits at most); otherwise as five doubles. */
const exact = (v: number) => Number.isInteger(v) && v <= 2 ** 52 && v >= -(2 ** 52);

/**
 * Where a row's fields are written before they are copied into the row: one buffer for every row
 * (packing is synchronous), rather than one per row grown by doubling as it fills, which cost
 * as much as the writing and made garbage of every row's size.
 */
let scratch = new ByteWriter(64 << 10);
/** A scratch buffer grown past this (a row of large errors) is not kept. */
const SCRATCH_KEPT = 1 << 20;

/** A row of results, packed (throws if a value or an error cannot be written as JSON). */
export function packResults(results: readonly TaskResult[]): Buffer {
  if (scratch.buf.length > SCRATCH_KEPT) scratch = new ByteWriter(64 << 10);
  const w = scratch;
  w.at = 0;
  // A tiny result with its timings takes ~16 bytes: room for most rows at once.
  w.room(16 + results.length * 24);
  const names: string[] = [];
  const nameIds = new Map<string, number>();
  // Results of a row come from a few agents, mostly in runs: the last name found is tried first.
  let lastName: string | undefined;
  let lastId = 0;
  const nameOf = (s: string): number => {
    if (s === lastName) return lastId;
    let id = nameIds.get(s);
    if (id === undefined) nameIds.set(s, (id = names.push(s) - 1));
    lastName = s;
    return (lastId = id);
  };
  const errorAt = new Map<ErrorInfo, number>();
  const payloads: unknown[] = [names];
  const bins: Uint8Array[] = [];
  const base = results.find((r) => r.u)?.u?.[0] ?? 0;
  for (let pos = 0; pos < results.length; pos++) {
    const r = results[pos]!;
    const u = r.u;
    const intUsage = u !== undefined && exact(u[0] - base) && exact(u[1] - base) && exact(u[2]) && exact(u[3]) && exact(u[4]);
    const ref = r.ok ? undefined : errorAt.get(r.error);
    let flags = (r.ok ? OK : 0) | (r.attempt !== undefined ? ATTEMPT : 0) | (r.agentId !== undefined ? AGENT : 0) | (r.host !== undefined ? HOST : 0);
    if (u !== undefined) flags |= intUsage ? USAGE_INT : USAGE_F64;
    if (r.ok ? r.value.m !== undefined : ref !== undefined) flags |= META_OR_REF;
    if (r.ok && r.value.b && r.value.b.length > 0) flags |= BINARY;
    w.u8(flags);
    w.uint(r.index);
    if (r.attempt !== undefined) w.uint(r.attempt);
    if (r.agentId !== undefined) w.uint(nameOf(r.agentId));
    if (r.host !== undefined) w.uint(nameOf(r.host));
    if (u !== undefined) {
      if (intUsage) {
        w.int(u[0] - base);
        w.int(u[1] - base);
        for (let k = 2; k < 5; k++) w.int(u[k]!);
      } else for (let k = 0; k < 5; k++) w.f64(u[k]!);
    }
    if (r.ok) {
      payloads.push(r.value.j);
      if (r.value.m !== undefined) payloads.push(r.value.m);
      if (flags & BINARY) {
        w.uint(r.value.b!.length);
        for (const b of r.value.b!) w.uint(bins.push(b) - 1);
      }
    } else if (ref !== undefined) w.uint(ref);
    else {
      errorAt.set(r.error, pos);
      payloads.push(r.error);
    }
  }
  const text = JSON.stringify(payloads);
  const fields = w.bytes();
  // The header and trailer go in a second, small writer: lengths are known only now.
  const head = new ByteWriter(32);
  head.u8(FORMAT);
  head.uint(results.length);
  head.f64(base);
  head.uint(fields.length);
  const tail = new ByteWriter(16);
  writeBinaryParts(tail, bins);
  return assemble(head, fields, text, tail);
}

const damaged = (why: string): never => {
  throw new Error(`damaged stored chunk: ${why}`);
};

/** The header of a packed row: how many results, the base time, where its fields end. */
function header(body: Uint8Array): { count: number; base: number; fields: ByteReader } {
  const h = new ByteReader(body, 4, body.length);
  if (h.u8() !== FORMAT) damaged(`packed row of an unknown format ${body[4]}`);
  const count = h.uint();
  const base = h.f64();
  const len = h.uint();
  if (h.at + len > body.length || count > len) damaged('fields past the end');
  return { count, base, fields: new ByteReader(body, h.at, h.at + len) };
}

/** The task index and success of each result of a packed row, reading no JSON (a restart rebuilding a job's state). */
export function* packedIndices(body: Uint8Array): Generator<[index: number, ok: boolean]> {
  const { count, fields: f } = header(body);
  for (let i = 0; i < count; i++) {
    const flags = f.u8();
    const index = f.uint();
    skipRest(f, flags);
    yield [index, (flags & OK) !== 0];
  }
}

/** Reads past a result's fields after its index. */
function skipRest(f: ByteReader, flags: number): void {
  if (flags & ATTEMPT) f.uint();
  if (flags & AGENT) f.uint();
  if (flags & HOST) f.uint();
  if (flags & USAGE_INT) for (let k = 0; k < 5; k++) f.uint();
  if (flags & USAGE_F64) for (let k = 0; k < 5; k++) f.f64();
  if (flags & OK) {
    if (flags & BINARY) for (let n = f.uint(); n > 0; n--) f.uint();
  } else if (flags & META_OR_REF) f.uint();
}

/** A packed row's results; every length and reference is checked against the row. */
export function unpackResults(body: Uint8Array): TaskResult[] {
  const { count, base, fields: f } = header(body);
  const lenAt = new ByteReader(body, f.end, body.length);
  const jsonLen = lenAt.uint();
  if (lenAt.at + jsonLen > body.length) damaged('JSON length past the end');
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const payloads = JSON.parse(buf.toString('utf8', lenAt.at, lenAt.at + jsonLen)) as unknown[];
  if (!Array.isArray(payloads) || !Array.isArray(payloads[0])) damaged('JSON part is not a list of names and payloads');
  const names = payloads[0] as unknown[];
  const bins = binaryParts(body, lenAt.at + jsonLen);
  const name = (id: number): string => {
    const s = names[id];
    return typeof s === 'string' ? s : damaged(`a result refers to name ${id}, but its row has ${names.length}`);
  };
  let next = 1;
  const payload = () => (next < payloads.length ? payloads[next++] : damaged('fewer payloads than results'));
  const out: TaskResult[] = new Array(count);
  for (let pos = 0; pos < count; pos++) {
    const flags = f.u8();
    const index = f.uint();
    const attempt = flags & ATTEMPT ? f.uint() : undefined;
    const agentId = flags & AGENT ? name(f.uint()) : undefined;
    const host = flags & HOST ? name(f.uint()) : undefined;
    let u: TaskUsage | undefined;
    if (flags & USAGE_INT) u = [base + f.int(), base + f.int(), f.int(), f.int(), f.int()];
    else if (flags & USAGE_F64) u = [f.f64(), f.f64(), f.f64(), f.f64(), f.f64()];
    let r: TaskResult;
    if (flags & OK) {
      const value: Encoded = { j: payload() };
      if (flags & META_OR_REF) value.m = payload();
      if (flags & BINARY) {
        value.b = [];
        for (let n = f.uint(); n > 0; n--) value.b.push(bins[f.uint()] ?? damaged(`result ${index} refers to a missing binary part`));
      }
      r = { index, ok: true, value };
    } else if (flags & META_OR_REF) {
      const ref = f.uint();
      const earlier = ref < pos ? out[ref] : undefined;
      if (!earlier || earlier.ok) damaged(`result ${index} refers to the error of position ${ref}`);
      r = { index, ok: false, error: (earlier as { error: ErrorInfo }).error };
    } else r = { index, ok: false, error: payload() as ErrorInfo };
    if (attempt !== undefined) r.attempt = attempt;
    if (agentId !== undefined) r.agentId = agentId;
    if (host !== undefined) r.host = host;
    if (u !== undefined) r.u = u;
    out[pos] = r;
  }
  return out;
}
