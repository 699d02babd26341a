/**
 * The options the client checks as they are given use zod/mini schemas (contract/option-schemas.ts),
 * so that importing the library does not load the whole of zod. They must say exactly what the
 * full zod's schemas said, and a stage's `output` must become the same JSON Schema whichever zod
 * API built it.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import * as zm from 'zod/mini';
import { MAP_SCHEDULING_KEYS, describeZodError, getDistributeSchema, getMapOptionsSchema } from '../../contract/option-schemas.js';
import { outputSchema } from '../../client/flow/wire.js';
import { connectTarget } from '../../client/connect-options.js';

/** The full-zod schemas the mini ones replace, as they were written. */
const classicMap = z
  .object({
    pool: z.string().min(1).optional(),
    retries: z.number().int().min(0).max(1000).optional(),
    crashLimit: z.number().int().min(1).max(255).optional(),
    timeoutMs: z.number().int().min(0).max(2 ** 31 - 1).optional(),
    requires: z.object({ cores: z.number().int().positive().optional(), memoryMb: z.number().positive().optional(), gpus: z.number().min(0).optional(), labels: z.array(z.string().min(1)).optional() }).strict().optional(),
  })
  .strict();
const classicDistribute = z
  .object({
    by: z.array(z.string().min(1)).min(1).optional(),
    chunksPerJob: z.number().int().min(1).optional(),
    targetJobs: z.number().int().min(1).optional(),
    workersWithin: z.number().int().min(1).max(1024).optional(),
    within: z.enum(['inline', 'threads', 'process']).optional(),
    pool: classicMap.shape.pool,
    requires: classicMap.shape.requires,
    retries: classicMap.shape.retries,
    timeoutMs: classicMap.shape.timeoutMs,
  })
  .strict();

const BAD_MAP: unknown[] = [{ retries: -1 }, { retries: 1.5 }, { retries: 'x' }, { pool: '' }, { crashLimit: 0 }, { crashLimit: 256 }, { requires: { cores: 0, gpus: -1, labels: [''] } }, { requires: { cpus: 1 } }, { timeoutMs: 2 ** 31 }, { timeoutMs: NaN }, { tiemout: 1 }, null, []];
const BAD_DISTRIBUTE: unknown[] = [{ within: 'x' }, { by: [] }, { by: [''] }, { workersWithin: 2000 }, { chunksPerJob: 0 }, { targetJobs: 1.5 }, { retries: -1 }, { pool: 3 }, { extra: true }];

function said(schema: { safeParse(v: unknown): { success: true } | { success: false; error: Parameters<typeof describeZodError>[0] } }, v: unknown, what: string): string {
  const r = schema.safeParse(v);
  return r.success ? 'ok' : describeZodError(r.error, what);
}

describe('zod/mini option schemas', () => {
  it('map options: the same messages as the full zod schema, for each kind of mistake', () => {
    for (const v of BAD_MAP) expect(said(getMapOptionsSchema(), v, 'map options')).toBe(said(classicMap, v, 'map options'));
    expect(said(getMapOptionsSchema(), { retries: 0, pool: 'gpu', requires: { cores: 2, labels: ['a'] }, timeoutMs: 0 }, 'map options')).toBe('ok');
  });

  it('distribute options: the same messages as the full zod schema', () => {
    for (const v of BAD_DISTRIBUTE) expect(said(getDistributeSchema(), v, 'distribute options')).toBe(said(classicDistribute, v, 'distribute options'));
  });

  it('MAP_SCHEDULING_KEYS lists the keys of the map options schema', () => {
    expect([...MAP_SCHEDULING_KEYS].sort()).toEqual(Object.keys(getMapOptionsSchema().shape).sort());
  });

  it("connect()'s options: an unknown key names the nearest known one, a bad value the option and the value", () => {
    expect(() => connectTarget({ tokenfile: 'x' } as never)).toThrow('connect(): tokenfile is not an option (did you mean tokenFile?)');
    expect(() => connectTarget({ waitForAgents: -1 })).toThrow('connect(): waitForAgents: Too small: expected number to be >=0, got -1');
  });
});

describe("a stage's output schema", () => {
  it('becomes the same JSON Schema from the full zod and from zod/mini', () => {
    const full = outputSchema('s', z.object({ score: z.number().int().min(0), name: z.string().optional() }));
    const mini = outputSchema('s', zm.object({ score: zm.number().check(zm.int(), zm.minimum(0)), name: zm.optional(zm.string()) }));
    expect(mini).toEqual(full);
    expect(full).toMatchObject({ type: 'object', required: ['score'], properties: { score: { type: 'integer', minimum: 0 } } });
  });

  it('is BAD_INPUT naming the stage when it is not a zod schema, or cannot be JSON Schema', () => {
    expect(() => outputSchema('fit', { score: 'number' })).toThrow('stage "fit": output must be a zod schema');
    expect(() => outputSchema('fit', z.date())).toThrow('stage "fit": its output schema cannot be checked on the agent');
  });
});
