/**
 * Cache keys of a flow's (stage, row) outcomes: sha256 over what the stage runs, the row's
 * params and the keys of the stages it needs. Equal inputs give equal keys across runs and
 * processes, so a resubmitted (or extended) flow finds what an earlier run computed.
 */
import { createHash } from 'node:crypto';
import { encodeValue } from '../../contract/codec.js';
import type { Encoded } from '../../contract/codec.js';
import type { FlowStageDef } from '../../contract/flow-unit.js';

/** The key of a (row, stage) kept out of the cache. */
export const NO_CACHE = '';

/** JSON with object keys sorted, so equal values hash equally whatever their key order. */
export function stableJson(v: unknown): string {
  return (
    JSON.stringify(v, (_key, x: unknown) => {
      if (x === null || typeof x !== 'object' || Array.isArray(x)) return x;
      return Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }) ?? 'undefined'
  );
}

function hashEncoded(h: ReturnType<typeof createHash>, e: Encoded): void {
  const j = stableJson(e.j);
  const m = e.m === undefined ? '-' : stableJson(e.m);
  h.update(`${Buffer.byteLength(j)}:${j}${Buffer.byteLength(m)}:${m}${e.b?.length ?? 0}:`);
  for (const b of e.b ?? []) h.update(`${b.byteLength}:`).update(b);
}

/** A hash of one row's params, independent of the order of its keys. */
export function rowHash(params: Record<string, unknown>): string {
  const sorted = Object.fromEntries(Object.keys(params).sort().map((k) => [k, params[k]]));
  const h = createHash('sha256').update('flotilla.row.v1');
  hashEncoded(h, encodeValue(sorted, 'a grid row'));
  return h.digest('hex');
}

/**
 * What a stage runs, as a string: a module export's artifact hash and export name (not where it
 * was built: the same code built on another machine or from a moved checkout finds its cache),
 * an inline function's spec id, or a command with its folder and env; plus the output schema.
 * The timeout is not part of it: it does not change what a finished stage computed.
 */
export function stageIdentity(stage: FlowStageDef): string {
  const out = stage.output === undefined ? '' : `|out:${stableJson(stage.output)}`;
  const m = stage.fn?.module;
  if (m) return `mod:${m.artifact}#${m.export}${stage.fn!.setup ? `|setup:${stage.fn!.setup.id}` : ''}${out}`;
  if (stage.fn) return `fn:${stage.fn.id}${out}`;
  return `cmd:${stableJson({ cmd: stage.cmd, cwd: stage.cwd ?? null, env: stage.env ?? {} })}${out}`;
}

/**
 * Keys of every (row, stage): `keys[row][stage]`, stages in the order given (dependency order,
 * so a stage's needs have their keys before it). A stage with `cache: false`, and every stage
 * that needs one (whose input is then not reproducible), gets NO_CACHE: never read nor stored.
 */
export function cacheKeys(stages: readonly FlowStageDef[], rowHashes: readonly string[]): string[][] {
  const ids = stages.map(stageIdentity);
  const at = new Map(stages.map((s, i) => [s.name, i]));
  const uncached: boolean[] = [];
  stages.forEach((s, i) => (uncached[i] = s.cache === false || s.needs.some((n) => uncached[at.get(n)!])));
  return rowHashes.map((rh) => {
    const keys: string[] = [];
    stages.forEach((s, i) => {
      if (uncached[i]) return void keys.push(NO_CACHE);
      const h = createHash('sha256').update('flotilla.stage.v1').update(`${ids[i]!.length}:${ids[i]}`).update(rh);
      for (const n of [...s.needs].sort()) h.update(`${n}=${keys[at.get(n)!]}`);
      keys.push(h.digest('hex'));
    });
    return keys;
  });
}
