/**
 * Loads a module export on the agent: the artifact from the disk cache, imported as an ES module
 * (so its inline source map names the user's files in stacks). A module this Node cannot run
 * fails with VERSION_SKEW naming both sides, before or when it is imported.
 */
import { pathToFileURL } from 'node:url';
import { FlotillaError } from '../contract/errors.js';
import type { ErrorContext } from '../contract/errors.js';
import type { ModuleRef } from '../contract/fnspec.js';
import type { ArtifactCache } from './artifacts.js';

/** Imported artifacts of this lane, by hash: each is imported once. */
const imported = new Map<string, Promise<Record<string, unknown>>>();

function sides(ref: ModuleRef, where: ErrorContext): string {
  return `built for ${ref.target} on ${ref.builtOn.node} ${ref.builtOn.platform}; agent ${String(where.agentId)} on ${String(where.host)} runs ${process.version} ${process.platform}-${process.arch}`;
}

/** Throws VERSION_SKEW when the artifact targets a newer Node than this one. */
export function checkTarget(ref: ModuleRef, where: ErrorContext): void {
  const want = /^node(\d+)(?:\.(\d+))?/.exec(ref.target);
  if (!want) return;
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
  const wMajor = Number(want[1]), wMinor = Number(want[2] ?? 0);
  if (wMajor > major || (wMajor === major && wMinor > minor)) {
    throw new FlotillaError('VERSION_SKEW', `module ${ref.file} (export "${ref.export}") cannot run here: ${sides(ref, where)}. Build it for this agent's Node (option target: 'node${major}') or run the agent on a newer Node`, {
      context: { ...where, target: ref.target, agentNode: process.version },
    });
  }
}

/** Imports the artifact and returns the named export, which must be a function. */
export async function loadModuleExport(ref: ModuleRef, cache: ArtifactCache, where: ErrorContext): Promise<(...args: unknown[]) => unknown> {
  checkTarget(ref, where);
  let ns = imported.get(ref.artifact);
  if (!ns) {
    const file = await cache.ensure(ref.artifact);
    ns = import(pathToFileURL(file).href) as Promise<Record<string, unknown>>;
    imported.set(ref.artifact, ns);
    // A failed import is not retried: the same code fails the same way.
  }
  let mod: Record<string, unknown>;
  try {
    mod = await ns;
  } catch (err) {
    throw importError(ref, err, where);
  }
  const f = mod[ref.export];
  if (typeof f !== 'function') {
    throw new FlotillaError('BAD_INPUT', `module ${ref.file} has no function export "${ref.export}" (got ${typeof f}); it exports ${Object.keys(mod).join(', ') || 'nothing'}`, { context: where });
  }
  return f as (...args: unknown[]) => unknown;
}

/** What an import failure means: a missing package or syntax this Node lacks is version skew. */
function importError(ref: ModuleRef, err: unknown, where: ErrorContext): FlotillaError {
  const e = err as { code?: string; message?: string; name?: string; stack?: string };
  const context = { ...where, target: ref.target, agentNode: process.version };
  if (e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND') {
    const pkg = /Cannot find (?:package|module) '([^']+)'/.exec(e.message ?? '')?.[1] ?? 'a package';
    return new FlotillaError('VERSION_SKEW', `module ${ref.file} imports ${pkg}, which is not installed where the agent runs (externals: ${(ref.externals ?? []).join(', ') || 'none'}): ${sides(ref, where)}`, { cause: err, context: { ...context, missing: pkg } });
  }
  if (e?.name === 'SyntaxError') {
    // Parse errors are not source-mapped; name the artifact (and its line, when the stack has one).
    const line = new RegExp(`${ref.artifact}\\.mjs:(\\d+)`).exec(e.stack ?? '')?.[1];
    const at = `artifact ${ref.artifact.slice(0, 12)}${line ? ` line ${line}` : ''}`;
    return new FlotillaError('VERSION_SKEW', `module ${ref.file} does not parse on this agent: SyntaxError: ${e.message} (${at}): ${sides(ref, where)}`, { cause: err, context: { ...context, artifact: ref.artifact, line: line === undefined ? undefined : Number(line) } });
  }
  return new FlotillaError('TASK_ERROR', `importing module ${ref.file} threw: ${e?.message ?? String(err)}`, { cause: err, context, remoteName: e?.name, stack: e?.stack });
}
