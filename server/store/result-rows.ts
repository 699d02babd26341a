/**
 * How a row of the results table holds its results: one chunk (./chunk.ts) of compact arrays, an
 * error shared by many results (a cancel's) written once.
 */
import type { Encoded } from '../../contract/codec.js';
import type { ErrorInfo } from '../../contract/errors.js';
import type { TaskResult } from '../jobs/types.js';
import type { TaskUsage } from '../task-usage.js';
import { readChunk, writeChunk } from './chunk.js';

/**
 * A result in a stored chunk: [index, ok, value or error, attempt, agentId, host, usage?] (rows
 * written before usage was kept have 6). An agentId or host given as a number is that of the
 * result at that position of the row (a row's results come from a few agents: each name is
 * written once).
 */
export type StoredResult = [number, 0 | 1, unknown, number | null, string | number | null, string | number | null, TaskUsage?];

/**
 * A row of results. Results are checked where they arrive, so this cannot fail in practice; if
 * one still cannot be written, it is stored as an INTERNAL failure of its task rather than
 * failing the flush (and with it the controller, which flushes outside any request).
 */
export function storedResults(results: TaskResult[]): Buffer {
  try {
    return writeChunk(results, sharingErrors());
  } catch {
    return writeChunk(
      results.map((r) => {
        try {
          writeChunk([r], sharingErrors());
          return r;
        } catch (err) {
          return { index: r.index, ok: false as const, error: { code: 'INTERNAL' as const, message: `this task's result could not be stored: ${(err as Error).message}` }, attempt: r.attempt, agentId: r.agentId, host: r.host };
        }
      }),
      sharingErrors(),
    );
  }
}

/**
 * The stored form of each result of one row. An error object shared by many results (a cancel
 * records one for all its tasks) is written once; the others refer to that result's position.
 */
function sharingErrors(): (r: TaskResult, pack: (e: Encoded) => unknown) => StoredResult {
  const first = new Map<ErrorInfo, number>();
  const agents = new Map<string, number>();
  const hosts = new Map<string, number>();
  /** The position of the first result of the row naming `s` (in the same field), or `s` itself where it is named first. */
  const named = (names: Map<string, number>, s: string | undefined, at: number): string | number | null => {
    if (s === undefined) return null;
    const ref = names.get(s);
    if (ref !== undefined) return ref;
    names.set(s, at);
    return s;
  };
  let position = 0;
  return (r, pack) => {
    const at = position++;
    const agentId = named(agents, r.agentId, at);
    const host = named(hosts, r.host, at);
    const row: StoredResult = r.ok
      ? [r.index, 1, pack(r.value), r.attempt ?? null, agentId, host]
      : [r.index, 0, first.get(r.error) ?? r.error, r.attempt ?? null, agentId, host];
    if (!r.ok && !first.has(r.error)) first.set(r.error, at);
    if (r.u) row.push(r.u);
    return row;
  };
}

/** A stored row of results; an error given as a number is that of the result at that position. */
export function readStoredResults(body: Buffer): TaskResult[] {
  const results = readChunk(body, fromStored);
  const nameAt = (ref: unknown, key: 'agentId' | 'host', r: TaskResult): string => {
    const named = results[ref as number]?.[key];
    if (typeof named !== 'string') throw new Error(`damaged stored chunk: result ${r.index} refers to the ${key} of position ${String(ref)}`);
    return named;
  };
  for (const r of results) {
    if (typeof r.agentId === 'number') r.agentId = nameAt(r.agentId, 'agentId', r);
    if (typeof r.host === 'number') r.host = nameAt(r.host, 'host', r);
    if (r.ok || typeof r.error !== 'number') continue;
    const ref = results[r.error as number];
    if (!ref || ref.ok || typeof ref.error === 'number') throw new Error(`damaged stored chunk: result ${r.index} refers to the error of position ${String(r.error)}`);
    r.error = ref.error;
  }
  return results;
}

function fromStored(raw: StoredResult, unpack: (w: any) => Encoded): TaskResult {
  const [index, ok, payload, attempt, agentId, host, u] = raw;
  const base = ok ? { index, ok: true as const, value: unpack(payload) } : { index, ok: false as const, error: payload as ErrorInfo };
  return Object.assign(base, attempt === null ? {} : { attempt }, agentId === null ? {} : { agentId }, host === null ? {} : { host }, Array.isArray(u) && u.length === 5 ? { u } : {});
}
