import { describe, expect, it } from 'vitest';
import { StderrTail, TAIL_BYTES } from '../../server/launchers/stderr-tail.js';

describe('StderrTail: the one reader of agents stderr', () => {
  it('a line split across chunks is handed on once, whole', () => {
    const lines: string[] = [];
    const t = new StderrTail((l) => lines.push(l));
    t.push('agent a1: 2 slo');
    t.push('t(s), dialing ws://x\nsecond ');
    t.push(Buffer.from('line\n'));
    expect(lines).toEqual(['agent a1: 2 slot(s), dialing ws://x', 'second line']);
  });

  it('hands on a last line without its newline at the end of the stream', () => {
    const lines: string[] = [];
    const t = new StderrTail((l) => lines.push(l));
    t.push('one\ntwo');
    expect(lines).toEqual(['one']);
    t.end();
    expect(lines).toEqual(['one', 'two']);
  });

  it('keeps only the last TAIL_BYTES for the reason, and bounds a line without newlines', () => {
    const lines: string[] = [];
    const t = new StderrTail((l) => lines.push(l));
    for (let i = 0; i < 100; i++) t.push('x'.repeat(1024));
    expect(t.tail.length).toBe(TAIL_BYTES);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => l.length <= 64 * 1024)).toBe(true);
  });
});
