/**
 * Fuzz: the input schemas of maps and flows (contract/schemas.ts, contract/flow-schemas.ts), which
 * read what any client sends. Any input is accepted or refused with issues that describe it in
 * one line; nothing throws, nothing hangs (the test's timeout), nothing touches Object.prototype.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { $ZodError } from 'zod/v4/core';
import { appendSchema, describeZodError, fnSpecSchema, mapOptionsSchema, submitSchema } from '../../contract/schemas.js';
import { distributeSchema, flowStageSchema, flowSubmitSchema } from '../../contract/flow-schemas.js';
import { budget, hostileValue, notPolluted, params } from './fuzz.js';

// Full zod's and zod/mini's (the map options and distribute the client checks) alike.
const schemas: [string, { safeParse(input: unknown): { success: true } | { success: false; error: $ZodError } }][] = [
  ['submit', submitSchema],
  ['append', appendSchema],
  ['map options', mapOptionsSchema],
  ['function spec', fnSpecSchema],
  ['flow', flowSubmitSchema],
  ['flow stage', flowStageSchema],
  ['distribute', distributeSchema],
];

/** Inputs near the valid shape: the right keys with values of any kind, plus long strings. */
const nearValid = fc.record(
  {
    fn: fc.oneof(hostileValue, fc.record({ id: fc.string(), src: fc.string({ maxLength: 2000 }), vals: hostileValue, fns: hostileValue })),
    args: fc.oneof(hostileValue, fc.array(fc.record({ j: hostileValue }), { maxLength: 3 })),
    total: hostileValue,
    retries: hostileValue,
    timeoutMs: hostileValue,
    pool: fc.oneof(hostileValue, fc.string({ maxLength: 10_000 })),
    fnName: fc.oneof(fc.string({ maxLength: 300 }), fc.stringMatching(/^[A-Za-z_][\w.-]{0,200}[^\w.-]?$/)),
    stages: fc.oneof(hostileValue, fc.array(fc.record({ name: fc.string({ maxLength: 300 }), needs: hostileValue, cmd: hostileValue }), { maxLength: 3 })),
    grid: hostileValue,
    distribute: hostileValue,
    jobId: hostileValue,
    offset: hostileValue,
  },
  { requiredKeys: [] },
);

describe('fuzz: map and flow schemas', () => {
  for (const [name, schema] of schemas) {
    it(`${name}: any input is accepted or refused with a one-line description`, () => {
      fc.assert(
        fc.property(fc.oneof(hostileValue, nearValid), (input) => {
          const r = schema.safeParse(input);
          if (!r.success) {
            const line = describeZodError(r.error, name);
            expect(line.startsWith(`${name}: `)).toBe(true);
            expect(line).not.toContain('\n');
          }
          notPolluted();
        }),
        params(),
      );
    }, budget());
  }
});
