/**
 * How a row of the results table holds its results. Rows are written packed (./packed-results.ts);
 * rows written before are one chunk (./chunk.ts) of compact arrays, an error shared by many
 * results (a cancel's) written once, and still read.
 */
import type { Encoded } from '../../contract/codec.js';
import type { ErrorInfo } from '../../contract/errors.js';
import type { TaskResult } from '../jobs/types.js';
import type { TaskUsage } from '../task-usage.js';
import { readChunk } from './chunk.js';
import { isPacked } from './bytes.js';
import { packResults, packedIndices, unpackResults } from './packed-results.js';

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
    return packResults(results);
  } catch {
    return packResults(
      results.map((r) => {
        try {
          packResults([r]);
          return r;
        } catch (err) {
          return { index: r.index, ok: false as const, error: { code: 'INTERNAL' as const, message: `this task's result could not be stored: ${(err as Error).message}` }, attempt: r.attempt, agentId: r.agentId, host: r.host };
        }
      }),
    );
  }
}

/** A stored row of results, packed or as written before. */
export function readStoredResults(body: Buffer): TaskResult[] {
  return isPacked(body) ? unpackResults(body) : readJsonRow(body);
}

/** Each result's task index and success, in row order (to rebuild a job's state on restart). */
export function* storedIndices(body: Buffer): Generator<[index: number, ok: boolean]> {
  if (isPacked(body)) return yield* packedIndices(body);
  // Only the JSON part is needed: the index is each item's first element.
  const items = JSON.parse(body.toString('utf8', 4, 4 + body.readUInt32LE(0))) as StoredResult[];
  for (const it of items) yield [it[0], it[1] === 1];
}

/** A row as written before rows were packed; an error, agent or host given as a number is that of the result at that position. */
function readJsonRow(body: Buffer): TaskResult[] {
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
