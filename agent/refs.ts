/**
 * Imports the globals a function names by reference (exports of Node builtins and installed
 * packages), before it is built.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { FlotillaError } from '../contract/errors.js';
import type { ModuleExportRef } from '../contract/fnspec.js';

/** The value of each reference, by global name. */
export async function importRefs(refs: Record<string, ModuleExportRef>): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [name, ref] of Object.entries(refs)) {
    const ns = await importModule(name, ref);
    const value = ref.export === '*' ? ns : ref.export === 'default' ? (ns.default ?? ns) : (ns[ref.export] ?? (ns.default as Record<string, unknown> | undefined)?.[ref.export]);
    if (value === undefined) throw new FlotillaError('BAD_INPUT', `global "${name}": '${ref.module}' has no export "${ref.export}" on this agent`);
    out[name] = value;
  }
  return out;
}

async function importModule(name: string, ref: ModuleExportRef): Promise<Record<string, unknown>> {
  try {
    return (await import(ref.module)) as Record<string, unknown>;
  } catch (err) {
    // Not found from the agent's own location: try where the client's file found it (same host).
    if (ref.from && !ref.module.startsWith('node:')) {
      try {
        return (await import(pathToFileURL(createRequire(ref.from).resolve(ref.module)).href)) as Record<string, unknown>;
      } catch {
        // reported below, with the first reason
      }
    }
    throw new FlotillaError('BAD_INPUT', `global "${name}": this agent cannot import '${ref.module}' (${(err as Error).message.split('\n')[0]}): ` +
      'install it where the agents run, or make the task a module function (moduleOf), whose imports are bundled', { cause: err });
  }
}
