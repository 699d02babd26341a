/**
 * Turns what app code passes to `map` (an inline function or a module function, plus `globals`,
 * `retryIf` and `setup`) into the FnSpec that is submitted, building module artifacts and
 * uploading the ones the controller lacks. Everything that would fail remotely for a reason
 * known here (a file that does not exist or does not build, a missing export, a free name) fails
 * here, before anything is sent.
 */
import type { TRPCClient } from '@trpc/client';
import { FlotillaError } from '../../contract/errors.js';
import { fnSpecId } from '../../contract/fnspec.js';
import type { Artifact, FnSpec, ModuleRef, SetupSpec } from '../../contract/fnspec.js';
import type { AppRouter } from '../../contract/api.js';
import { shipFunction } from '../ship.js';
import { buildModule } from './build.js';
import { isModuleFunction } from './handle.js';
import type { FunctionOptions } from '../map-options.js';
import type { ModuleFunction } from './handle.js';


/** A spec and the artifacts it needs on the controller. */
export interface PreparedFunction {
  spec: FnSpec;
  artifacts: Artifact[];
}

/** Whether shipping needs a build (async): a module function or a module setup. */
export function needsBuild(fn: unknown, opts: FunctionOptions): boolean {
  return isModuleFunction(fn) || isModuleFunction(opts.setup);
}

/** Builds the spec of an inline function with an optional inline setup; synchronous. */
export function shipInline(fn: unknown, opts: FunctionOptions): FnSpec {
  const globals = opts.globals ?? {};
  const limit = setupTimeout(opts.setupTimeoutMs);
  const base = shipFunction(fn, globals, { retryIf: opts.retryIf });
  if (opts.setup === undefined && limit === undefined) return base;
  const { id: _id, ...spec } = base;
  if (opts.setup !== undefined) spec.setup = inlineSetup(opts.setup, globals);
  if (limit !== undefined) spec.setupTimeoutMs = limit;
  return { id: fnSpecId(spec), ...spec };
}

/**
 * Checks the `setupTimeoutMs` option.
 * @throws FlotillaError BAD_INPUT naming it and the bad value
 */
export function setupTimeout(ms: unknown): number | undefined {
  if (ms === undefined) return undefined;
  if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 1 || ms > 2 ** 31 - 1) {
    throw new FlotillaError('BAD_INPUT', `map option setupTimeoutMs must be a whole number of milliseconds from 1 to ${2 ** 31 - 1}, got ${String(ms)}`);
  }
  return ms;
}

/** Builds the spec of any function, with module artifacts bundled (cached per process). */
export async function buildFunction(fn: unknown, opts: FunctionOptions): Promise<PreparedFunction> {
  if (!needsBuild(fn, opts)) return { spec: shipInline(fn, opts), artifacts: [] };
  const limit = setupTimeout(opts.setupTimeoutMs);
  const artifacts: Artifact[] = [];
  const globals = opts.globals ?? {};
  let setup: SetupSpec | undefined;
  if (isModuleFunction(opts.setup)) {
    const { ref, artifact } = await moduleRef(opts.setup, 'setup');
    artifacts.push(artifact);
    setup = { id: `m:${ref.artifact}:${ref.export}`, module: ref };
  } else if (opts.setup !== undefined) {
    setup = inlineSetup(opts.setup, globals);
  }
  let body: Omit<FnSpec, 'id'>;
  if (isModuleFunction(fn)) {
    const { ref, artifact } = await moduleRef(fn, 'the function');
    artifacts.push(artifact);
    // Globals are in scope for inline retryIf and setup; the module brings its own imports.
    const scope = shipScope(globals, opts.retryIf, setup?.src !== undefined);
    body = { src: '', vals: scope.vals, fns: scope.fns, module: ref };
    if (scope.retryIf !== undefined) body.retryIf = scope.retryIf;
  } else {
    const { id: _id, ...rest } = shipFunction(fn, globals, { retryIf: opts.retryIf });
    body = rest;
  }
  if (setup) body.setup = setup;
  if (limit !== undefined) body.setupTimeoutMs = limit;
  return { spec: { id: fnSpecId(body), ...body }, artifacts };
}

/**
 * Builds a spec and uploads the artifacts the controller lacks (asking first, so a warm map
 * sends none), then returns the spec, ready to submit or register.
 */
export async function prepareFunction(trpc: TRPCClient<AppRouter>, fn: unknown, opts: FunctionOptions): Promise<FnSpec> {
  const { spec, artifacts } = await buildFunction(fn, opts);
  await uploadArtifacts(trpc, artifacts);
  return spec;
}

/**
 * Uploads the artifacts the controller does not have yet. It is asked every time, not
 * remembered here: a controller that restarted without its store would not have them.
 */
export async function uploadArtifacts(trpc: TRPCClient<AppRouter>, artifacts: readonly Artifact[]): Promise<number> {
  if (artifacts.length === 0) return 0;
  const byHash = new Map(artifacts.map((a) => [a.hash, a]));
  const missing = await trpc.artifacts.missing.query({ hashes: [...byHash.keys()] });
  for (const hash of missing) await trpc.artifacts.put.mutate(byHash.get(hash)!);
  return missing.length;
}

async function moduleRef(f: ModuleFunction, what: string): Promise<{ ref: ModuleRef; artifact: Artifact }> {
  const built = await buildModule(f.module, { target: f.target, externals: f.externals });
  if (!built.exports.includes(f.export)) {
    const has = built.exports.length ? built.exports.map((e) => `"${e}"`).join(', ') : 'nothing';
    throw new FlotillaError('BAD_INPUT', `${what}: module ${built.file} has no export "${f.export}"; it exports ${has}`, { context: { file: built.file, export: f.export, exports: built.exports } });
  }
  const ref: ModuleRef = {
    artifact: built.artifact.hash,
    export: f.export,
    file: built.file,
    target: built.target,
    builtOn: { node: process.version, platform: `${process.platform}-${process.arch}` },
  };
  if (built.externals.length > 0) ref.externals = built.externals;
  return { ref, artifact: built.artifact };
}

function inlineSetup(setup: unknown, globals: Record<string, unknown>): SetupSpec {
  if (typeof setup !== 'function') throw new FlotillaError('BAD_INPUT', 'map option setup must be a function or a module function (e.g. work.init)');
  // Shipped like the function, with the same globals and the same checks of free names.
  const shipped = shipFunction(setup, globals);
  return { id: shipped.id, src: shipped.src };
}

/** The globals (and retryIf) of a module function's inline parts. */
function shipScope(globals: Record<string, unknown>, retryIf: FunctionOptions['retryIf'], hasInlineSetup: boolean): Pick<FnSpec, 'vals' | 'fns' | 'retryIf'> {
  if (retryIf === undefined && !hasInlineSetup) {
    if (Object.keys(globals).length > 0) throw new FlotillaError('BAD_INPUT', 'map option globals: a module function takes its names from its own imports; globals are for an inline setup or retryIf');
    return { vals: {}, fns: {} };
  }
  if (retryIf !== undefined) {
    const s = shipFunction(retryIf, globals);
    return { vals: s.vals, fns: s.fns, retryIf: s.src };
  }
  const s = shipFunction(() => undefined, globals);
  return { vals: s.vals, fns: s.fns };
}

/** A spec built ahead (a module function's, after its build and upload), passed through `map`. */
export class Prebuilt {
  constructor(readonly spec: FnSpec) {}
}
