/**
 * A durable job's arguments (server/store/stored-arguments.ts) on a real store in a temporary
 * folder: a task's argument stays readable from its dispatch until its task finishes, whichever
 * stored chunk the dispatch window has moved to meanwhile, and nothing is held once all finished.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeValue, encodeValue } from '../../contract/codec.js';
import { JobStore } from '../../server/store/job-store.js';
import { StoredArguments } from '../../server/store/stored-arguments.js';

describe('stored arguments', () => {
  it('running tasks keep their arguments while the window moves between chunks, and none is held once they finish', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-args-'));
    const store = new JobStore(dir);
    try {
      store.createJob({ id: 'j', pool: 'local', total: 12, createdAt: 0, spec: { fn: { id: 'f', src: '(x) => x', vals: {}, fns: {} }, retries: 1, crashLimit: 1, timeoutMs: 0 } });
      const args = new StoredArguments(store, 'j');
      for (const first of [0, 4, 8]) args.append(first, [0, 1, 2, 3].map((k) => encodeValue(`arg ${first + k}`)));
      const value = (i: number) => {
        const e = args.get(i);
        return e && decodeValue(e);
      };
      args.hold(0);
      args.hold(1);
      args.hold(5); // the window moves to the second chunk: 0 and 1 are still running
      expect([value(0), value(1), value(5)]).toEqual(['arg 0', 'arg 1', 'arg 5']);
      expect(value(2)).toBeUndefined(); // never dispatched
      args.drop(0);
      expect(value(0)).toBeUndefined();
      args.hold(9); // third chunk; 5 is still running
      args.hold(2); // a task sent back: the window returns to the first chunk, where 1 also runs
      args.hold(1);
      expect([value(1), value(2), value(5), value(9)]).toEqual(['arg 1', 'arg 2', 'arg 5', 'arg 9']);
      for (const i of [1, 2, 5, 9]) args.drop(i);
      for (const i of [1, 2, 5, 9]) expect(value(i)).toBeUndefined();
      const internals = args as unknown as { live: Map<number, unknown>; window: { held: Uint8Array } };
      expect(internals.live.size).toBe(0);
      expect([...internals.window.held]).toEqual([0, 0, 0, 0]);
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('dispatches from chunks appended lately without reading them back, and reads back older ones and those with binary parts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-args-'));
    const store = new JobStore(dir);
    try {
      store.createJob({ id: 'j', pool: 'local', total: 9, createdAt: 0, spec: { fn: { id: 'f', src: '(x) => x', vals: {}, fns: {} }, retries: 1, crashLimit: 1, timeoutMs: 0 } });
      const args = new StoredArguments(store, 'j');
      let reads = 0;
      const read = store.argsChunk.bind(store);
      store.argsChunk = (job, index) => (reads++, read(job, index));
      args.append(0, [0, 1, 2].map((k) => encodeValue(`arg ${k}`)));
      args.append(3, [3, 4, 5].map((k) => ({ ...encodeValue(`arg ${k}`), b: [new Uint8Array([k])] })));
      args.append(6, [6, 7, 8].map((k) => encodeValue(`arg ${k}`)));
      args.hold(0);
      expect(decodeValue(args.get(0)!)).toBe('arg 0');
      expect(reads).toBe(0);
      args.hold(3); // binary parts: stored, read back (a copy, not a view of the frame they came in)
      expect(reads).toBe(1);
      expect(args.get(3)!.b![0]).toEqual(new Uint8Array([3]));
      args.hold(7);
      expect(decodeValue(args.get(7)!)).toBe('arg 7');
      expect(reads).toBe(1);
      args.hold(1); // back to the first chunk, no longer kept: read back
      expect(decodeValue(args.get(1)!)).toBe('arg 1');
      expect(reads).toBe(2);
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
