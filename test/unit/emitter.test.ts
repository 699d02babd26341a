/**
 * The core's typed emitter (server/emitter.ts), with one listener and with several: delivery,
 * removal, listeners added during delivery, once, and a listener that throws.
 */
import { describe, expect, it, vi } from 'vitest';
import { Emitter } from '../../server/emitter.js';

type Events = { tick: number; other: string };

describe('Emitter', () => {
  it('calls each listener once per event, one or several, the same function added twice once, and stops each on its off', () => {
    const e = new Emitter<Events>();
    const got: string[] = [];
    const a = (n: number) => got.push(`a${n}`);
    const b = (n: number) => got.push(`b${n}`);
    expect(e.has('tick')).toBe(false);
    const offA = e.on('tick', a);
    e.on('tick', a);
    e.emit('tick', 1);
    const offB = e.on('tick', b);
    e.emit('tick', 2);
    offA();
    e.emit('tick', 3);
    expect(e.has('tick')).toBe(true);
    offB();
    e.emit('tick', 4);
    expect(e.has('tick')).toBe(false);
    offB(); // twice: harmless
    e.on('tick', b);
    e.emit('tick', 5);
    expect(got).toEqual(['a1', 'a2', 'b2', 'b3', 'b5']);
  });

  it('a listener added while an event is delivered waits for the next, with one listener or several', () => {
    for (const before of [0, 1]) {
      const e = new Emitter<Events>();
      const got: string[] = [];
      for (let i = 0; i < before; i++) e.on('tick', (n) => got.push(`pre${n}`));
      let added = false;
      e.on('tick', (n) => {
        got.push(`first${n}`);
        if (!added) (added = true), e.on('tick', (m) => got.push(`late${m}`));
      });
      e.emit('tick', 1);
      e.emit('tick', 2);
      expect(got).toEqual([...(before ? ['pre1'] : []), 'first1', ...(before ? ['pre2'] : []), 'first2', 'late2']);
    }
  });

  it('once, and a listener that throws: reported as a warning, the others still run', () => {
    const e = new Emitter<Events>();
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      const got: string[] = [];
      e.once('other', (s) => got.push(`once ${s}`));
      e.on('other', () => {
        throw new Error('boom');
      });
      e.on('other', (s) => got.push(`after ${s}`));
      e.emit('other', 'x');
      e.emit('other', 'y');
      expect(got).toEqual(['once x', 'after x', 'after y']);
      expect(warn).toHaveBeenCalledTimes(2);
      expect(String(warn.mock.calls[0]![0])).toContain('a listener of "other" threw');
    } finally {
      warn.mockRestore();
    }
  });
});
