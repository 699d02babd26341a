/**
 * The parser-free analysis of one-scope arrows (client/quick-free-names.ts) agrees with the full
 * analysis (acorn + eslint-scope) wherever it answers, answers for the common inline task, and
 * declines every shape it cannot read for certain.
 */
import { describe, expect, it } from 'vitest';
import { quickAnalysis } from '../../client/quick-free-names.js';
import { RESERVED, analyzeSource, fullAnalysis } from '../../client/free-names.js';

/** Shapes the quick path reads: the answer must be the full analysis's. */
const QUICK = [
  '(x) => x * x',
  'x => x * x',
  'x=>x+1',
  '(a, b) => a + b * k',
  '(a, b,) => a',
  '() => 42',
  'async (x) => x',
  'async x => fetchIt(x)',
  '(row) => Math.max(...row)',
  '(x) => x.y.z + w.v',
  '(x) => x?.y ?? fallback',
  '(x) => x?.[0] ?? q',
  '(x) => obj?.(x)',
  '(x) => (x > 0 ? x : -x) ** 2',
  '(x) => x === null || x === undefined || x !== NaN',
  '(x) => [x, x * 2, ...rest]',
  "(s) => s + '!' + \"?\"",
  '(x) => x & 0xff | 0b101 ^ 0o7',
  '(x) => x + 1.5e3 + .5 + 5. + 10n + 1_000',
  '(x) => (1).toFixed(2) + 1..toString()',
  '(x) => a ? .5 : 1',
  '(x) => (x, y, z)',
  '(x) => x >>> 1 >> 2 << 3',
  '(x) => !x && ~x',
  '(x) => total += x',
  '(x) => x\n  * factor',
  '(of, get, set) => of + get + set + from',
  '(x) => true && false || null',
  '(x) => $ + _ + x$1',
  '(x) => async',
];

/** Shapes it must leave to the full analysis. */
const DECLINED = [
  '(x) => typeof y === "undefined"',
  '(x) => (y) => x + y',
  '(x) => ({ a: x })',
  '(x) => `${x}`',
  '(x) => /a/.test(x)',
  '(x) => x / 2',
  '(x) => x // half',
  '(x) => this.x',
  '(x) => new Date(x)',
  '(x) => 017',
  '(x) => 08',
  'async (x) => await x',
  '(ü) => ü',
  '({ a }) => a',
  '([a]) => a',
  '(a = 1) => a',
  '(...a) => a',
  '(x) => x.class',
  '(x) => { return x; }',
  'function (x) { return x; }',
  'function f(x) { return x * x; }',
  'f(x) { return x; }',
  "(x) => 'a\\'b'",
  '(x) => import.meta.url',
  '(x) => arguments[0]',
  '(x) => x in y',
  '(x) => #p in x',
  'async => async',
  '(x) => void x',
];

describe('the quick free-name analysis', () => {
  it.each(QUICK)('reads %j as the full analysis does', (src) => {
    const quick = quickAnalysis(src, RESERVED);
    expect(quick).toBeDefined();
    expect(quick).toEqual(fullAnalysis(src, 'the function'));
  });

  it.each(DECLINED)('leaves %j to the full analysis', (src) => {
    expect(quickAnalysis(src, RESERVED)).toBeUndefined();
  });

  it('still fails what the full analysis refuses (import.meta, a class)', () => {
    expect(() => analyzeSource('(x) => import.meta.url + x', 'the function')).toThrow(/import\.meta/);
    expect(() => analyzeSource('class A {}', 'the function')).toThrow(/class constructor/);
  });
});
