/**
 * A stored row of results (server/store/result-rows.ts): each agent id, host and shared error is
 * written once per row and read back into every result that had it; rows written before names
 * were shared (each result naming its agent and host) still read.
 */
import { describe, expect, it } from 'vitest';
import { encodeValue } from '../../contract/codec.js';
import { readStoredResults, storedResults } from '../../server/store/result-rows.js';
import { writeChunk } from '../../server/store/chunk.js';
import type { TaskResult } from '../../server/jobs/types.js';

describe('stored result rows', () => {
  it('writes each agent id and host once per row and reads them back into every result', () => {
    const cancelled = { code: 'CANCELLED' as const, message: 'cancelled' };
    const results: TaskResult[] = Array.from({ length: 300 }, (_, i) =>
      i % 7 === 3
        ? { index: i, ok: false, error: cancelled }
        : { index: i, ok: true, value: encodeValue(i), attempt: 1, agentId: `agent-${i % 3}`, host: i % 2 ? 'node-a' : 'node-b', u: [1, 2, 3, 4, 5] },
    );
    const body = storedResults(results);
    const text = body.toString('utf8');
    expect(text.split('"agent-1"').length - 1).toBe(1);
    expect(text.split('"node-a"').length - 1).toBe(1);
    expect(readStoredResults(body)).toEqual(results);
  });

  it('reads rows that name the agent and host in every result', () => {
    const old = writeChunk([[0, 1, { j: 5 }, 1, 'a-1', 'h-1', [1, 2, 3, 4, 5]], [1, 1, { j: 6 }, 2, 'a-1', 'h-1']], (r) => r);
    expect(readStoredResults(old)).toEqual([
      { index: 0, ok: true, value: { j: 5 }, attempt: 1, agentId: 'a-1', host: 'h-1', u: [1, 2, 3, 4, 5] },
      { index: 1, ok: true, value: { j: 6 }, attempt: 2, agentId: 'a-1', host: 'h-1' },
    ]);
  });

  it('refuses a row whose result refers to a name no earlier result gives', () => {
    const bad = writeChunk([[0, 1, { j: 5 }, 1, 3, null]], (r) => r);
    expect(() => readStoredResults(bad)).toThrow(/damaged stored chunk: result 0 refers to the agentId of position 3/);
  });
});
