/**
 * Packed lists on the client link (contract/packed.ts): a results event's parts, a submission's
 * jobs and its answers each travel as one JSON text and one blob; binary parts come back as the
 * same bytes in the same places, and a list that claims bytes it does not carry is refused.
 */
import { describe, expect, it } from 'vitest';
import { decodeValue, encodeValue } from '../../contract/codec.js';
import { packedList, unpack } from '../../contract/packed.js';
import type { PackedWire } from '../../contract/packed.js';
import { transformer } from '../../contract/transformer.js';
import type { FeedPart } from '../../contract/session-schemas.js';

/** Through the transformer and JSON, as over the WebSocket. */
const overTheWire = <T>(v: T): T => transformer.deserialize(JSON.parse(JSON.stringify(transformer.serialize(v))));

describe('packed lists of parts, jobs and answers', () => {
  it("a results event's parts come back with every binary result in its place", () => {
    const parts: FeedPart[] = [
      { jobId: 'j-1', seq: 2, total: 2, pool: 'p', results: [{ index: 0, ok: true, value: encodeValue(new Uint8Array([1, 2, 3])) }, { index: 1, ok: false, error: { code: 'TASK_ERROR', message: 'no' } }] },
      { jobId: 'j-2', seq: 1, total: 3, pool: 'p', results: [{ index: 2, ok: true, value: encodeValue({ a: new Float64Array([1.5]), s: 'x' }) }] },
      { jobId: 'j-3', seq: 0, total: 1, pool: 'p', results: [], error: { code: 'CLOSED', message: 'closed' } },
    ];
    const decoded = (ps: FeedPart[]) => ps.map((p) => ({ ...p, results: p.results.map((r) => (r.ok ? { ...r, value: decodeValue(r.value) } : r)) }));
    expect(decoded(overTheWire(packedList('f', parts)))).toEqual(decoded(parts));
  });

  it("a submission's jobs come back with their binary arguments, and its answers as sent", () => {
    const jobs = [
      { fnAt: 0, args: [encodeValue(1), encodeValue(Buffer.from('hello'))], total: 2 },
      { fnAt: 0, args: [encodeValue(new Uint16Array([7, 8]))], total: 1, pool: 'gpu' },
    ];
    const back = overTheWire({ stream: 's', fns: [], jobs: packedList('j', jobs) });
    expect(back.jobs.map((j) => ({ ...j, args: j.args.map((a) => decodeValue(a)) }))).toEqual(jobs.map((j) => ({ ...j, args: j.args.map((a) => decodeValue(a)) })));
    const answers = [{ jobId: 'j-1', total: 2 }, { error: { code: 'BAD_INPUT', message: 'bad' } }];
    expect(overTheWire(packedList('o', answers))).toEqual(answers);
  });

  it('a packed list of parts whose results claim more bytes than it carries is refused', () => {
    const t = JSON.stringify([{ jobId: 'j', seq: 1, total: 1, pool: 'p', results: [{ index: 0, ok: true, value: { j: 0, b: [64] } }] }]);
    const wire: PackedWire = { k: 'f', t, b: Buffer.from([1, 2, 3]).toString('base64') };
    expect(() => unpack(wire)).toThrow(/malformed packed list: binary parts claim more than the 3 bytes/);
    const spare: PackedWire = { k: 'j', t: JSON.stringify([{ fnAt: 0, args: [{ j: 0 }] }]), b: Buffer.from([1]).toString('base64') };
    expect(() => unpack(spare)).toThrow(/1 bytes of binary parts that no value claims/);
  });
});
