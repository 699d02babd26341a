/**
 * Turns a flow as built into what the controller takes (contract/flow-schemas.ts), checking
 * everything that can be checked here before anything is sent: every function parses and has
 * its globals, values and rows can be sent, command placeholders name columns or outputs of
 * needed stages. Problems are collected, not thrown one by one.
 */
import { createRequire } from 'node:module';
// zod's core only: the library's import loads no more of zod (contract/option-schemas.ts).
import { $ZodType } from 'zod/v4/core';
import { encodeValue } from '../../contract/codec.js';
import { FlotillaError } from '../../contract/errors.js';
import type { FlowStageDef } from '../../contract/flow-unit.js';
import type { FnSpec } from '../../contract/fnspec.js';
import { gridProblems } from '../../contract/flow-problems.js';
import type { FlowSubmitInput } from '../../contract/flow-schemas.js';
import type { DistributeInput } from '../../contract/option-schemas.js';
import type { FlowProblem } from '../../contract/flow-types.js';
import type { ModuleFunction } from '../module/handle.js';
import { shipFunction } from '../ship.js';

/** A stage as the builder holds it. */
export interface StageDecl {
  name: string;
  needs: string[];
  /** An inline function, or a module export (built into `specs` by module-stages.ts). */
  fn?: Function | ModuleFunction;
  globals?: Record<string, unknown>;
  /** JSON Schema of the declared output (from the zod schema). */
  output?: Record<string, unknown>;
  cmd?: string[];
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  /** false: kept out of the flow cache. */
  cache?: boolean;
}

const COMMAND_KEYS = ['exitCode', 'durationMs', 'stdout', 'stderr'];

/** The JSON Schema of a stage's `output` zod schema; BAD_INPUT naming the stage when it has none. */
export function outputSchema(stage: string, schema: unknown): Record<string, unknown> {
  if (!(schema instanceof $ZodType)) throw new FlotillaError('BAD_INPUT', `stage "${stage}": output must be a zod schema such as z.object({ score: z.number() }), got ${typeof schema}`);
  try {
    return toJSONSchema(schema);
  } catch (err) {
    throw new FlotillaError('BAD_INPUT', `stage "${stage}": its output schema cannot be checked on the agent (${(err as Error).message}); use JSON-representable types`);
  }
}

/**
 * A zod schema as JSON Schema: by the schema's own method (zod's full API has one), else (a
 * zod/mini schema) by zod's converter, which is loaded only then, not with the library.
 */
function toJSONSchema(schema: $ZodType): Record<string, unknown> {
  const own = (schema as { toJSONSchema?: unknown }).toJSONSchema;
  if (typeof own === 'function') return own.call(schema) as Record<string, unknown>;
  const core = createRequire(import.meta.url)('zod/v4/core') as typeof import('zod/v4/core');
  return core.toJSONSchema(schema) as Record<string, unknown>;
}

/** `{col}` and `{stage.key}` placeholders of a command. */
function placeholders(cmd: readonly string[]): string[] {
  const out: string[] = [];
  for (const arg of cmd) for (const m of arg.matchAll(/\{([^{}\s]+)\}/g)) out.push(m[1]!);
  return out;
}

function placeholderProblems(s: StageDecl, byName: Map<string, StageDecl>, rows: readonly Record<string, unknown>[]): FlowProblem[] {
  const problems: FlowProblem[] = [];
  for (const p of new Set(placeholders(s.cmd ?? []))) {
    const dot = p.indexOf('.');
    if (dot < 0) {
      const lacking = rows.findIndex((r) => r === null || typeof r !== 'object' || !(p in r));
      if (lacking >= 0) problems.push({ stage: s.name, row: lacking, message: `placeholder {${p}} names no column of this row${rows.length > 0 && rows.every((r) => r && typeof r === 'object' && !(p in r)) ? ' (no row has it)' : ''}` });
      continue;
    }
    const [stage, key] = [p.slice(0, dot), p.slice(dot + 1)];
    if (!s.needs.includes(stage)) {
      problems.push({ stage: s.name, message: `placeholder {${p}} reads stage "${stage}", which this stage does not need (needs: ${s.needs.join(', ') || 'none'})` });
      continue;
    }
    const src = byName.get(stage);
    const known = src?.cmd ? COMMAND_KEYS : src?.output && typeof src.output.properties === 'object' && src.output.properties ? Object.keys(src.output.properties) : undefined;
    if (known && !known.includes(key)) problems.push({ stage: s.name, message: `placeholder {${p}}: stage "${stage}" outputs ${known.join(', ')}, not "${key}"` });
  }
  return problems;
}

/** The submit input of a flow, with every problem found on this side (empty when none). */
export function toWire(grid: unknown, stages: readonly StageDecl[], distribute: DistributeInput | undefined, name: string | undefined, built: ReadonlyMap<string, FnSpec> = new Map(), cache = true): { input?: FlowSubmitInput; problems: FlowProblem[] } {
  const problems: FlowProblem[] = [];
  const byName = new Map(stages.map((s) => [s.name, s]));
  const rows = Array.isArray(grid) ? (grid as Record<string, unknown>[]) : [];
  for (const p of gridProblems(grid, stages, distribute?.by)) problems.push(p);
  const defs: FlowStageDef[] = [];
  for (const s of stages) {
    const base = { name: s.name, needs: s.needs, ...(s.timeoutMs !== undefined ? { timeoutMs: s.timeoutMs } : {}), ...(s.output ? { output: s.output } : {}), ...(!cache || s.cache === false ? { cache: false } : {}) };
    if (s.cmd) {
      for (const p of placeholderProblems(s, byName, rows)) problems.push(p);
      defs.push({ ...base, cmd: s.cmd, ...(s.cwd ? { cwd: s.cwd } : {}), ...(s.env ? { env: s.env } : {}) });
      continue;
    }
    if (typeof s.fn !== 'function') {
      // A module stage: built (or not, its problem reported) by module-stages.ts.
      const spec = built.get(s.name);
      if (spec) defs.push({ ...base, fn: spec });
      continue;
    }
    try {
      defs.push({ ...base, fn: shipFunction(s.fn, s.globals ?? {}) });
    } catch (err) {
      problems.push({ stage: s.name, message: FlotillaError.from(err, 'BAD_INPUT').message });
    }
  }
  let encoded;
  try {
    encoded = encodeValue(grid, 'the grid');
  } catch {
    // Find each row that cannot travel, not just the first.
    rows.forEach((r, i) => {
      try {
        encodeValue(r, `row ${i}`);
      } catch (err) {
        problems.push({ row: i, message: (err as Error).message });
      }
    });
  }
  if (problems.length > 0 || !encoded) return { problems };
  return { input: { ...(name ? { name } : {}), grid: encoded, stages: defs, ...(distribute ? { distribute } : {}) }, problems };
}
