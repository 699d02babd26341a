/**
 * Module exports as flow stages: loaded with the lane's own machinery (agent/module-fn.ts) from
 * the agent's artifact cache on disk. The scheduler sends a unit's stage artifacts (the unit
 * spec's `artifacts`) before the unit's function, so they are on disk, or being written by a
 * sibling lane, by the time a row runs; worker threads and processes share that disk cache.
 */
import { hostname } from 'node:os';
import { ArtifactCache, artifactDir } from '../artifacts.js';
import { loadModuleExport } from '../module-fn.js';
import { FlotillaError } from '../../contract/errors.js';
import type { FlowStageDef, FlowUnitDef } from '../../contract/flow-unit.js';

let cache: ArtifactCache | undefined;

/**
 * This thread's view of the disk cache. A flow stage has no channel of its own to ask the
 * controller for a missing artifact, so "ask" answers "absent" at once: the stage fails naming
 * the artifact instead of waiting a minute for an answer nobody will send.
 */
function diskCache(): ArtifactCache {
  if (!cache) {
    const c = new ArtifactCache((hash) => setImmediate(() => c.received(hash, undefined)));
    cache = c;
  }
  return cache;
}

/** Where a stage loads, named in version-skew errors. */
const where = { host: hostname(), agentId: `flow worker ${process.pid}` };

/**
 * Loads the module export of a stage.
 * @throws FlotillaError naming the stage: the artifact is not on this host, the export is not a
 *   function, the module does not import (VERSION_SKEW for a missing package or newer syntax).
 */
export async function loadStageExport(s: FlowStageDef): Promise<(...args: unknown[]) => unknown> {
  const ref = s.fn!.module!;
  try {
    return await loadModuleExport(ref, diskCache(), where);
  } catch (err) {
    const e = FlotillaError.from(err);
    const missing = e.code === 'INTERNAL' && /artifact/.test(e.message);
    const message = missing ? `stage "${s.name}": module ${ref.file} (artifact ${ref.artifact.slice(0, 12)}) is not in this agent's cache ${artifactDir()}` : `stage "${s.name}": ${e.message}`;
    throw new FlotillaError(e.code, message, { cause: e, context: { ...e.context, stage: s.name, file: ref.file, export: ref.export } });
  }
}

/**
 * Waits until every artifact of the unit's module stages is on disk, before worker threads or
 * processes start: each worker then imports at once rather than each waiting for a sibling lane.
 * A missing one is not an error here: its stage fails on each row, naming it.
 */
export async function ensureStageArtifacts(def: FlowUnitDef): Promise<void> {
  const hashes = new Set(def.stages.flatMap((s) => (s.fn?.module ? [s.fn.module.artifact] : [])));
  await Promise.all([...hashes].map((h) => diskCache().ensure(h).catch(() => undefined)));
}
