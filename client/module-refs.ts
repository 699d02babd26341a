/**
 * Globals that are exports of modules (a Node builtin such as `readFileSync`, or an installed
 * package such as zod's `z`) cannot travel as source or value: their code leans on the module's
 * internals. They travel as a reference, `{ module, export }`, and the agent imports them.
 */
import { builtinModules, createRequire } from 'node:module';
import type { ModuleExportRef, SourceOrigin } from '../contract/fnspec.js';
import { fileText } from './call-site.js';

/** One import binding of a file: `local` names `export` of `module` (`default`, `*` or a name). */
export interface ImportBinding {
  module: string;
  export: string;
}

const IMPORT = /\bimport\s+(?:type\s+)?([\w$]+\s*,?\s*)?(\*\s*as\s+[\w$]+|\{[^}]*\})?\s*from\s*['"]([^'"]+)['"]/g;

/** The names a file binds with static `import` declarations (a light scan; TypeScript too). */
export function importsOf(text: string): Map<string, ImportBinding> {
  const out = new Map<string, ImportBinding>();
  for (const m of text.matchAll(IMPORT)) {
    const [, def, rest, module] = m;
    if (m[0].startsWith('import type')) continue;
    const d = def?.replace(/[\s,]/g, '');
    if (d) out.set(d, { module: module!, export: 'default' });
    if (rest?.startsWith('*')) out.set(rest.replace(/^\*\s*as\s+/, '').trim(), { module: module!, export: '*' });
    else if (rest) {
      for (const spec of rest.slice(1, -1).split(',')) {
        const s = spec.trim().replace(/^type\s+/, '');
        if (!s || spec.trim().startsWith('type ')) continue;
        const [imported, local] = s.split(/\s+as\s+/).map((x) => x.trim().replace(/^['"]|['"]$/g, ''));
        out.set(local ?? imported!, { module: module!, export: imported! });
      }
    }
  }
  return out;
}

/** Whether a specifier names a Node builtin or an installed package (not a relative file). */
export function isPackageSpecifier(spec: string): boolean {
  return !/^(\.|\/|file:|data:|[A-Za-z]:\\)/.test(spec);
}

const require = createRequire(import.meta.url);
let builtinIndex: Map<unknown, ModuleExportRef> | undefined;

/**
 * The builtins whose exports are found by identity, whatever name they are given: the common
 * ones (most are loaded by Node itself already). Others are found by the calling file's import.
 */
const INDEXED = ['fs', 'fs/promises', 'path', 'os', 'crypto', 'util', 'url', 'child_process', 'zlib', 'stream', 'stream/promises', 'events', 'buffer', 'assert', 'readline', 'timers/promises', 'worker_threads', 'perf_hooks', 'querystring', 'string_decoder', 'dns', 'net', 'http', 'https', 'v8', 'vm', 'module'];

/** Exports of the indexed builtins by identity; built on first need. */
function builtins(): Map<unknown, ModuleExportRef> {
  if (builtinIndex) return builtinIndex;
  builtinIndex = new Map();
  for (const name of INDEXED) {
    let mod: unknown;
    try {
      mod = require(`node:${name}`);
    } catch {
      continue;
    }
    if (mod === null || (typeof mod !== 'object' && typeof mod !== 'function')) continue;
    const module = `node:${name}`;
    if (!builtinIndex.has(mod)) builtinIndex.set(mod, { module, export: 'default' });
    for (const key of Object.keys(mod)) {
      let v: unknown;
      try {
        v = (mod as Record<string, unknown>)[key];
      } catch {
        continue;
      }
      if ((typeof v === 'function' || (typeof v === 'object' && v !== null)) && !builtinIndex.has(v)) builtinIndex.set(v, { module, export: key });
    }
  }
  return builtinIndex;
}

function isNamespace(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && Object.prototype.toString.call(v) === '[object Module]';
}

/**
 * The module export `value` (given as global `name`) is, if it is one: a Node builtin's export
 * (found by identity), or what the calling file imports under that name from a package.
 */
export function moduleRefOf(name: string, value: unknown, site: SourceOrigin | undefined): ModuleExportRef | undefined {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return undefined;
  const b = builtins();
  const hit = b.get(value) ?? (isNamespace(value) ? b.get(value.default) : undefined);
  if (hit) return isNamespace(value) ? { module: hit.module, export: '*' } : hit;
  const text = site && fileText(site.file);
  const imp = text ? importsOf(text).get(name) : undefined;
  if (imp && isPackageSpecifier(imp.module)) {
    const module = imp.module.startsWith('node:') || !builtinModules.includes(imp.module) ? imp.module : `node:${imp.module}`;
    return { module, export: imp.export, from: site!.file };
  }
  return undefined;
}

/** What the calling file imports under `name`, for advice about a name that was not given. */
export function importedAs(name: string, site: SourceOrigin | undefined): ImportBinding | undefined {
  const text = site && fileText(site.file);
  return text ? importsOf(text).get(name) : undefined;
}
