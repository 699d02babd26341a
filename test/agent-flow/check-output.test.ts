/** The stage output checker against schemas as zod v4 emits them. */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { checkOutput } from '../../agent/flow/check-output.js';

const check = (schema: z.ZodType, v: unknown) => checkOutput(z.toJSONSchema(schema), v);

describe('checkOutput', () => {
  it('accepts matching values and names the first mismatch by path', () => {
    const s = z.object({ score: z.number(), fold: z.number().int().min(0).max(9), name: z.string().min(2).max(4), tags: z.array(z.string()) });
    expect(check(s, { score: 0.5, fold: 3, name: 'abc', tags: ['x'] })).toBeUndefined();
    expect(check(s, { score: '0.5', fold: 3, name: 'abc', tags: [] })).toBe('score: expected number, got string');
    expect(check(s, { score: 1, fold: 3.5, name: 'abc', tags: [] })).toBe('fold: expected integer, got number');
    expect(check(s, { score: 1, fold: 10, name: 'abc', tags: [] })).toBe('fold: expected at most 9, got 10');
    expect(check(s, { score: 1, fold: 1, name: 'a', tags: [] })).toBe('name: expected at least 2 characters, got 1');
    expect(check(s, { score: 1, fold: 1, name: 'abc', tags: ['x', 2] })).toBe('tags[1]: expected string, got number');
    expect(check(s, { score: 1, fold: 1, name: 'abc' })).toBe('tags: required, missing');
    expect(check(s, [1])).toBe('output: expected object, got array');
  });

  it('handles strict objects, enums, literals, unions, nullables, tuples and records', () => {
    expect(check(z.strictObject({ a: z.number() }), { a: 1, b: 2 })).toBe('b: not allowed (no such property in the schema)');
    expect(check(z.enum(['fast', 'slow']), 'medium')).toBe('output: expected one of "fast", "slow", got "medium"');
    expect(check(z.literal(3), 4)).toBe('output: expected 3, got 4');
    expect(check(z.union([z.number(), z.object({ n: z.number() })]), { n: 1 })).toBeUndefined();
    expect(check(z.union([z.number(), z.string()]), true)).toBe('output: expected number or string, got boolean');
    expect(check(z.union([z.object({ a: z.number() }), z.object({ b: z.string() })]), { a: 'x' })).toBe('output: matches none of 2 alternatives (a: expected number, got string; b: required, missing)');
    expect(check(z.number().nullable(), null)).toBeUndefined();
    expect(check(z.tuple([z.string(), z.number()]), ['a', 'b'])).toBe('[1]: expected number, got string');
    expect(check(z.record(z.string(), z.number()), { a: 1, b: 'x' })).toBe('b: expected number, got string');
    expect(check(z.object({ a: z.object({ b: z.boolean() }) }), { a: { b: 1 } })).toBe('a.b: expected boolean, got number');
  });

  it('follows local $refs (recursive schemas)', () => {
    const Node = z.object({ v: z.number(), get kids() { return z.array(Node); } });
    expect(check(Node, { v: 1, kids: [{ v: 2, kids: [] }] })).toBeUndefined();
    expect(check(Node, { v: 1, kids: [{ v: 'x', kids: [] }] })).toBe('kids[0].v: expected number, got string');
  });
});
