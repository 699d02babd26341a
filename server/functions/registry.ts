/**
 * Functions registered by name on the controller (Globus Compute's register-then-invoke): a
 * client registers a spec once, and any client of the controller maps or calls it by name.
 * A version is the spec's content hash, so registering the same spec again changes nothing but
 * which version is the latest; older versions stay callable by version until removed.
 */
import { FlotillaError } from '../../contract/errors.js';
import { fnSpecId, specArtifacts } from '../../contract/fnspec.js';
import type { FnSpec } from '../../contract/fnspec.js';
import { describeZodError, fnVersionSchema } from '../../contract/schemas.js';
import { checkName } from '../../contract/function-name.js';
import type { FunctionRow, FunctionTable } from './function-table.js';
import type { FunctionDetails, FunctionInfo } from '../../contract/function-types.js';

export type { FunctionDetails, FunctionInfo };
export { checkName };

/** What the registry needs from the rest of the controller. */
export interface RegistryHooks {
  /** Whether the controller holds an artifact, so agents can be sent it. @default none is held */
  hasArtifact?: (hash: string) => boolean;
}

export class FunctionRegistry {
  /** Versions of each name, in registration order (the last is the latest). */
  private readonly byName = new Map<string, FunctionRow[]>();
  private seq = 0;

  constructor(
    private readonly table: FunctionTable,
    private readonly hooks: RegistryHooks = {},
  ) {
    for (const row of table.load()) {
      this.versionsOf(row.name, true).push(row);
      this.seq = Math.max(this.seq, row.seq);
    }
  }

  /**
   * Registers `spec` under `name` as its latest version; the version is the spec's content hash,
   * computed here (a client does not choose which code a version names).
   * @throws FlotillaError BAD_INPUT for a bad name, a builtin, or artifacts the controller lacks
   */
  register(name: string, spec: FnSpec): { name: string; version: string; created: boolean } {
    checkName(name);
    if (spec.builtin) throw new FlotillaError('BAD_INPUT', `function "${name}": builtin functions cannot be registered`);
    const missing = specArtifacts(spec).filter((h) => !this.hooks.hasArtifact?.(h));
    if (missing.length > 0) {
      throw new FlotillaError('BAD_INPUT', `function "${name}" needs module artifact(s) the controller does not have: ${missing.join(', ')}; upload them first (fl.functions.register does)`, { context: { missing } });
    }
    const version = fnSpecId(spec);
    const row: FunctionRow = { name, version, spec: { ...spec, id: version }, registeredAt: Date.now(), seq: this.seq + 1 };
    this.table.put(row); // first: what is in memory is always also stored
    this.seq = row.seq;
    const versions = this.versionsOf(name, true);
    const at = versions.findIndex((r) => r.version === version);
    if (at >= 0) versions.splice(at, 1);
    versions.push(row);
    return { name, version, created: at < 0 };
  }

  /**
   * The spec to run for `name` (its latest version, or `version`).
   * @throws FlotillaError NOT_FOUND naming the function and listing what is registered
   */
  resolve(name: string, version?: string): FnSpec {
    return this.find(name, version).spec;
  }

  /** Every version of every function, by name, oldest version first. */
  list(): FunctionInfo[] {
    const names = [...this.byName.keys()].sort();
    return names.flatMap((n) => {
      const versions = this.byName.get(n)!;
      return versions.map((r, i) => info(r, i === versions.length - 1));
    });
  }

  /** One version (the latest by default) in full. */
  get(name: string, version?: string): FunctionDetails {
    const row = this.find(name, version);
    const versions = this.byName.get(name)!;
    const latest = versions[versions.length - 1]!;
    const { spec } = row;
    return {
      ...info(row, row === latest),
      ...(spec.src ? { src: spec.src } : {}),
      globals: [...Object.keys(spec.vals), ...Object.keys(spec.fns)].sort(),
      ...(spec.setup ? { setup: spec.setup.module ? ('module' as const) : ('inline' as const) } : {}),
      retryIf: spec.retryIf !== undefined,
      versions: versions.map((r) => info(r, r === latest)).reverse(),
    };
  }

  /**
   * Removes one version of a function, or all of them. When the latest goes, the version
   * registered before it becomes the latest. Jobs already submitted keep their own copy.
   */
  remove(name: string, version?: string): { removed: string[] } {
    if (version === undefined) {
      const versions = this.versionsOf(name, false);
      this.table.delete(name);
      this.byName.delete(name);
      return { removed: versions.map((r) => r.version) };
    }
    const row = this.find(name, version);
    const versions = this.byName.get(name)!;
    this.table.delete(name, row.version);
    versions.splice(versions.indexOf(row), 1);
    if (versions.length === 0) this.byName.delete(name);
    return { removed: [row.version] };
  }

  private find(name: string, version?: string): FunctionRow {
    const versions = this.versionsOf(name, false);
    if (version === undefined) return versions[versions.length - 1]!;
    // A handle names its whole version: found without a schema check (every fl.call pays for it).
    for (const r of versions) if (r.version === version) return r;
    const v = fnVersionSchema.safeParse(version);
    if (!v.success) throw new FlotillaError('BAD_INPUT', describeZodError(v.error, `version of function "${name}"`));
    const hits = versions.filter((r) => r.version.startsWith(version));
    if (hits.length === 1) return hits[0]!;
    const known = versions.map((r) => r.version.slice(0, 12)).join(', ');
    if (hits.length === 0) throw new FlotillaError('NOT_FOUND', `function "${name}" has no version ${version}; its versions: ${known}`, { context: { name, version } });
    throw new FlotillaError('BAD_INPUT', `version ${version} of function "${name}" is ambiguous: give more digits (versions: ${known})`);
  }

  private versionsOf(name: string, create: boolean): FunctionRow[] {
    let versions = this.byName.get(name);
    if (versions) return versions;
    if (create) {
      this.byName.set(name, (versions = []));
      return versions;
    }
    checkName(name);
    const names = [...this.byName.keys()].sort();
    const shown = names.length === 0 ? 'none is registered' : `registered: ${names.slice(0, 50).join(', ')}${names.length > 50 ? ` and ${names.length - 50} more` : ''}`;
    throw new FlotillaError('NOT_FOUND', `no function is registered as "${name}" (${shown})`, { context: { name, registered: names } });
  }
}

function info(r: FunctionRow, latest: boolean): FunctionInfo {
  const m = r.spec.module;
  return {
    name: r.name,
    version: r.version,
    kind: m ? 'module' : 'inline',
    ...(m ? { file: m.file, export: m.export } : {}),
    registeredAt: r.registeredAt,
    latest,
  };
}
