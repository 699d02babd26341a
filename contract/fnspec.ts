import { createHash } from 'node:crypto';
import type { Encoded } from './codec.js';

/**
 * A bundled ES module (the user's file and what it imports, built by esbuild into one file),
 * named by the content hash of its code. Agents fetch the code once and cache it by that hash.
 */
export interface ModuleRef {
  /** sha256 (hex) of the artifact's code: its name everywhere. */
  artifact: string;
  /** The export to call. */
  export: string;
  /** The user's entry file (a path or file URL), named in errors. */
  file: string;
  /** The esbuild target the artifact was built for, e.g. 'node20': agents older than it refuse it by name. */
  target: string;
  /** Node version and platform of the machine that built it, named in version-skew errors. */
  builtOn: { node: string; platform: string };
  /** Packages left out of the bundle, resolved on the agent (native addons). */
  externals?: string[];
}

/** The code of a module artifact, sent to an agent that lacks it. */
export interface Artifact {
  /** sha256 (hex) of `code`. */
  hash: string;
  /** ESM source with an inline source map whose sources are the user's absolute file URLs. */
  code: string;
}

/**
 * Work an agent runs once per lane before the first task that names it; its value (awaited) is
 * the tasks' `ctx.setup`. Either a module export or inline source evaluated in the scope of the
 * spec it belongs to (its `vals` and `fns`).
 */
export interface SetupSpec {
  /** Content hash of what the setup runs: lanes run each setup id once. */
  id: string;
  module?: ModuleRef;
  src?: string;
}

/**
 * Where a shipped function's source starts in the user's file, so remote stacks name that file
 * and line. `column` 0: only the line is known (the line of the call that shipped it).
 */
export interface SourceOrigin {
  /** A file URL or path, as the client's stack named it. */
  file: string;
  line: number;
  column: number;
  /**
   * For transpiled source (TypeScript run by tsx) that does not appear verbatim in the file:
   * pairs [offset in the shipped source, line in the file], ascending, found by matching its
   * statements to the file's. A frame's line is that of the last pair at or before its offset.
   */
  lines?: Array<[number, number]>;
}

/**
 * A global that is an export of a module (a Node builtin or an installed package): it travels as
 * this reference and the agent imports it. `export` is an export name, `default`, or `*` for the
 * module namespace.
 */
export interface ModuleExportRef {
  module: string;
  export: string;
  /** The file that imported it on the client: packages are resolved from there when the agent cannot. */
  from?: string;
}

/** Functions built into the agent, run in place of shipped source. */
export type BuiltinName = 'flow-unit';

/**
 * A function as it is shipped to agents: its source plus the globals it was given explicitly.
 * Built by client/ship.ts, turned back into a callable by agent/materialize.ts.
 */
export interface FnSpec {
  /** Content hash of `src`, `vals` and `fns`: agents cache the materialized function under it. */
  id: string;
  /** The function's source: a JavaScript expression that evaluates to the function. */
  src: string;
  /** Globals that are values, encoded with the value codec; in scope under their names. */
  vals: Record<string, Encoded>;
  /** Globals that are functions, as expression sources; in scope for `src` and for each other. */
  fns: Record<string, string>;
  /** A predicate on a thrown error, in the same scope: true asks for the task to be re-run. */
  retryIf?: string;
  /** When set the function is this module export, and `src` is empty. */
  module?: ModuleRef;
  /** Runs once per lane before this function's first task there; its value is `ctx.setup`. */
  setup?: SetupSpec;
  /** When set the function is built into the agent (given `vals`), and `src` is empty. */
  builtin?: BuiltinName;
  /**
   * Artifacts the function needs besides its own `module` and `setup`'s: those of specs nested
   * in its `vals` (a flow unit's module stages), sent to agents before the function like its own.
   */
  artifacts?: string[];
  /**
   * Time limit (ms) of what a lane does before this function's first task there: importing its
   * module and running its setup. Past it those tasks fail SETUP_FAILED and the lane is replaced.
   * Absent: the agent's default (10 minutes).
   */
  setupTimeoutMs?: number;
  /** Globals that are module exports, imported on the agent (see `ModuleExportRef`). */
  refs?: Record<string, ModuleExportRef>;
  /**
   * Where each part's source sits in the user's files, for stacks: `main`, `setup`, `retryIf` or
   * `global:<name>`. Not part of the id: the same function shipped from two places is one function.
   */
  origins?: Record<string, SourceOrigin>;
}

/** Hashes of every artifact a spec needs on the agent, in no particular order. */
export function specArtifacts(spec: Pick<FnSpec, 'module' | 'setup' | 'artifacts'>): string[] {
  const out = new Set<string>(spec.artifacts ?? []);
  if (spec.module) out.add(spec.module.artifact);
  if (spec.setup?.module) out.add(spec.setup.module.artifact);
  return [...out];
}

/** Content hash over every part of the spec, so agents can cache what they built under it. */
export function fnSpecId({ src, vals, fns, retryIf, module, setup, builtin, setupTimeoutMs, refs }: Omit<FnSpec, 'id' | 'origins'>): string {
  const h = createHash('sha256');
  // Length prefixes keep the concatenation unambiguous.
  const put = (s: string): void => {
    h.update(`${Buffer.byteLength(s)}:`).update(s);
  };
  put('flotilla.fn.v1');
  put(src);
  if (retryIf !== undefined) put(`r:${retryIf}`);
  if (module !== undefined) put(`m:${stableJson(module)}`);
  if (setup !== undefined) put(`s:${stableJson(setup)}`);
  if (builtin !== undefined) put(`b:${builtin}`);
  if (setupTimeoutMs !== undefined) put(`t:${setupTimeoutMs}`);
  if (refs !== undefined && Object.keys(refs).length > 0) put(`x:${stableJson(refs)}`);
  for (const name of Object.keys(fns).sort()) {
    put(`f:${name}`);
    put(fns[name] ?? '');
  }
  for (const name of Object.keys(vals).sort()) {
    const e = vals[name];
    if (!e) continue;
    put(`v:${name}`);
    put(stableJson(e.j));
    put(e.m === undefined ? '-' : stableJson(e.m));
    put(String(e.b?.length ?? 0));
    for (const bytes of e.b ?? []) h.update(`${bytes.byteLength}:`).update(bytes);
  }
  return h.digest('hex');
}

/** JSON with object keys sorted, so equal values hash equally whatever their key order. */
function stableJson(v: unknown): string {
  return JSON.stringify(v, (_key, x: unknown) => {
    if (x === null || typeof x !== 'object' || Array.isArray(x)) return x;
    return Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }) ?? 'undefined';
}
