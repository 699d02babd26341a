/**
 * Shared pieces of the fuzz tests: how many cases to run (a few hundred in `npm test`, many more
 * with `npm run fuzz`, FUZZ_RUNS=n), inputs derived from valid ones by mutation, and the check
 * that a refusal is a named error rather than a crash.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { FlotillaError } from '../../contract/errors.js';
import type { FlotillaErrorCode } from '../../contract/errors.js';

/** Cases per property: FUZZ_RUNS, else 300 (`npm test` stays quick). */
export const RUNS = Number(process.env.FUZZ_RUNS) > 0 ? Number(process.env.FUZZ_RUNS) : 300;

/** Options for fc.assert: the run count, and a seed from FUZZ_SEED to replay a failure. */
export function params(runs = RUNS): fc.Parameters<unknown> {
  const seed = Number(process.env.FUZZ_SEED);
  return Number.isInteger(seed) ? { numRuns: runs, seed } : { numRuns: runs };
}

/** A test timeout for a property of `runs` cases at about `msEach` each, never under 30 s. */
export function budget(msEach = 20, runs = RUNS): number {
  return Math.max(30_000, runs * msEach);
}

/** Bytes derived from `valid`: bytes flipped, cut short, extended, spliced; or random bytes. */
export function mutated(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Buffer> {
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('add' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 16 }) }),
    fc.record({ kind: fc.constant('u32' as const), at: fc.nat(), value: fc.oneof(fc.constant(0xffffffff), fc.constant(0x7fffffff), fc.nat()) }),
  );
  const derived = fc.tuple(valid, fc.array(edit, { minLength: 1, maxLength: 4 })).map(([v, edits]) => {
    let b = Buffer.from(v);
    for (const e of edits) {
      const at = b.length === 0 ? 0 : e.at % b.length;
      if (e.kind === 'flip' && b.length > 0) b[at] = b[at]! ^ e.xor;
      else if (e.kind === 'cut') b = b.subarray(0, at);
      else if (e.kind === 'add') b = Buffer.concat([b.subarray(0, at), e.bytes, b.subarray(at)]);
      else if (e.kind === 'u32' && b.length >= 4) b.writeUInt32BE(e.value >>> 0, Math.min(at, b.length - 4));
    }
    return b;
  });
  return fc.oneof(derived, fc.uint8Array({ maxLength: 512 }).map((u) => Buffer.from(u)));
}

/** Runs `fn`; when it throws, the error must be a FlotillaError of one of `codes` whose message matches `message`. */
export function refusedOrOk<T>(fn: () => T, codes: readonly FlotillaErrorCode[], message?: RegExp): T | undefined {
  try {
    return fn();
  } catch (err) {
    expect(err, `threw ${String(err)}`).toBeInstanceOf(FlotillaError);
    expect(codes).toContain((err as FlotillaError).code);
    if (message) expect((err as Error).message).toMatch(message);
    return undefined;
  }
}

/** JSON-like values of any shape, for schemas and checks that read parsed input. */
export const anyJson = fc.jsonValue({ maxDepth: 6 });

/** Values a hostile peer could put where an object is expected, including prototype tricks. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  anyJson,
  fc.constantFrom<unknown>(undefined, null, NaN, Infinity, -0, 2 ** 53, -1, '', '__proto__', { __proto__: { polluted: 1 } }, JSON.parse('{"__proto__":{"polluted":1}}'), JSON.parse('{"constructor":{"prototype":{"polluted":1}}}')),
  fc.array(fc.oneof(anyJson, fc.constantFrom<unknown>(undefined, NaN, -1, 2 ** 40)), { maxLength: 8 }),
  fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('j', 'm', 'b', 'code', 'message', 'context', '__proto__')), anyJson, { maxKeys: 6 }),
);

/** Nothing above polluted Object.prototype. */
export function notPolluted(): void {
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
}
