import { describe, expect, it } from 'vitest';
import { Fifo } from '../../contract/fifo.js';

describe('Fifo', () => {
  it('gives items back in the order pushed, across the compactions of its head, interleaved with pushes', () => {
    const q = new Fifo<number>();
    const model: number[] = [];
    let next = 0;
    // Long enough to compact many times (every 1,024 taken once they are half the list).
    for (let round = 0; round < 20_000; round++) {
      for (let k = round % 3; k >= 0; k--) {
        q.push(next);
        model.push(next++);
      }
      for (let k = round % 2 === 0 ? 2 : 1; k > 0; k--) {
        expect(q.peek()).toBe(model[0]);
        expect(q.shift()).toBe(model.shift());
        expect(q.length).toBe(model.length);
      }
    }
    while (model.length > 0) expect(q.shift()).toBe(model.shift());
    expect(q.length).toBe(0);
    expect(q.shift()).toBeUndefined();
    expect(q.peek()).toBeUndefined();
  });
});
