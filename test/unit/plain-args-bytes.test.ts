/**
 * Sizing a submission of many small maps without packing each map's arguments on their own: the
 * quick figure must never be below what packing measures, or a message could pass the
 * controller's limit.
 */
import { describe, expect, it } from 'vitest';
import { encodeValue } from '../../contract/codec.js';
import { packToFit, plainArgsBytes } from '../../client/chunks.js';

const measured = (values: unknown[]) => packToFit(values.map((v) => encodeValue(v)), Number.MAX_SAFE_INTEGER, 0).bytes;

describe('plain argument bytes', () => {
  it('is at least what packing measures, for numbers, booleans, null and strings of any characters', () => {
    const cases: unknown[][] = [
      [0],
      [-1.2345678901234567e-308],
      [Number.MAX_SAFE_INTEGER, true, false, null],
      ['', 'plain', '"quoted" \\ back\nslash', '\u0001\u001f control', 'ünïcödé ✓ 𝄞'],
      Array.from({ length: 64 }, (_, i) => i * 1.5),
      ['x'.repeat(256)],
    ];
    for (const values of cases) {
      const quick = plainArgsBytes(values.map((v) => encodeValue(v)));
      expect(quick, JSON.stringify(values)).toBeDefined();
      expect(quick!).toBeGreaterThanOrEqual(measured(values));
    }
  });

  it('leaves to packing what it cannot bound cheaply: objects, binary parts, superjson types, long strings and long lists', () => {
    for (const values of [[{ a: 1 }], [new Uint8Array(4)], [new Date(0)], [1n], [NaN], ['x'.repeat(257)], Array.from({ length: 65 }, () => 1)]) {
      expect(plainArgsBytes(values.map((v) => encodeValue(v)))).toBeUndefined();
    }
  });
});
