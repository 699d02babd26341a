/**
 * Bundles a module entry (the user's .ts/.mts/.js file, its local imports and npm packages) with
 * esbuild into ONE ES module: the artifact agents import. Its name is sha256(code). The inline
 * source map names the user's files by absolute file URL (no sources content), so a stack
 * trace from any agent points at the user's file and line. Builds are cached in this process,
 * keyed by the entry and options and checked against the mtimes and sizes of every input.
 */
import type { BuildFailure, Message, Metafile } from 'esbuild';
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FlotillaError } from '../../contract/errors.js';
import type { Artifact } from '../../contract/fnspec.js';

/** How to build a module artifact. */
export interface ModuleBuildOptions {
  /** esbuild target: the oldest Node the agents run. @default 'node20' */
  target?: string;
  /** Packages left out of the bundle and resolved on the agent (native addons). */
  externals?: string[];
}

/** A built module: its artifact and the names it exports. */
export interface BuiltModule {
  artifact: Artifact;
  /** Absolute path of the entry file. */
  file: string;
  exports: string[];
  target: string;
  externals: string[];
}

/** Defines `require` in the ESM bundle, for CommonJS packages bundled into it (as the agent's own bundle does). */
const BANNER = "import { createRequire as __flotillaCreateRequire } from 'node:module'; const require = __flotillaCreateRequire(import.meta.url);";
/** Where esbuild thinks the output goes; only used to resolve the map's relative sources. */
const OUT_DIR = '/__flotilla_artifact__';

interface CacheEntry {
  inputs: Array<{ path: string; mtimeMs: number; size: number }>;
  built: BuiltModule;
}
const cache = new Map<string, CacheEntry>();
/** Inputs modified less than this long before a build began do not let it be cached. */
const SETTLE_MS = 2_000;

/** The absolute path of a module entry given as a URL, a file URL string or a path. */
export function entryPath(entry: string | URL): string {
  if (entry instanceof URL) {
    if (entry.protocol !== 'file:') throw new FlotillaError('BAD_INPUT', `module must be a file URL or a path, got ${entry.href}`);
    return fileURLToPath(entry);
  }
  if (typeof entry !== 'string' || entry.length === 0) throw new FlotillaError('BAD_INPUT', `module must be a file URL or a path, got ${typeof entry}`);
  if (entry.startsWith('file:')) return fileURLToPath(entry);
  return isAbsolute(entry) ? entry : resolve(entry);
}

/**
 * Builds (or reuses the cached build of) a module entry.
 * @throws FlotillaError `BAD_INPUT` naming the file when it does not exist, and file:line and
 *   message for a syntax error or an import that does not resolve.
 */
export async function buildModule(entry: string | URL, opts: ModuleBuildOptions = {}): Promise<BuiltModule> {
  const file = entryPath(entry);
  const target = opts.target ?? 'node20';
  if (!/^node\d+(\.\d+){0,2}$/.test(target)) throw new FlotillaError('BAD_INPUT', `module option target must be an esbuild node target such as 'node20', got ${JSON.stringify(target)}`);
  const externals = [...(opts.externals ?? [])].sort();
  if (!externals.every((e) => typeof e === 'string' && e.length > 0)) throw new FlotillaError('BAD_INPUT', 'module option externals must be package names');
  const key = JSON.stringify([file, target, externals]);
  const hit = cache.get(key);
  if (hit && fresh(hit)) return hit.built;
  if (!existsSync(file)) throw new FlotillaError('BAD_INPUT', `module file ${file} does not exist`, { context: { file } });

  const started = Date.now();
  let result;
  try {
    // Loaded on the first module build: importing the library should not pay for esbuild.
    const { build } = await import('esbuild');
    result = await build({
      entryPoints: [file],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target,
      external: externals,
      banner: { js: BANNER },
      write: false,
      metafile: true,
      sourcemap: 'external',
      sourcesContent: false,
      outdir: OUT_DIR,
      entryNames: 'artifact',
      outExtension: { '.js': '.mjs' },
      absWorkingDir: process.cwd(),
      logLevel: 'silent',
    });
  } catch (err) {
    throw buildError(file, err);
  }
  const js = result.outputFiles.find((f) => f.path.endsWith('.mjs'));
  const map = result.outputFiles.find((f) => f.path.endsWith('.mjs.map'));
  if (!js || !map) throw new FlotillaError('INTERNAL', `esbuild gave no output for ${file}`);
  const code = withInlineMap(js.text, map.text);
  const meta: Metafile = result.metafile;
  const exports = Object.values(meta.outputs).find((o) => o.entryPoint !== undefined)?.exports ?? [];
  const built: BuiltModule = { artifact: { hash: createHash('sha256').update(code).digest('hex'), code }, file, exports, target, externals };
  const inputs = Object.keys(meta.inputs).flatMap((p) => stamp(resolve(process.cwd(), p)) ?? []);
  // A file written just before or during the build may be written again within one mtime tick
  // (a second on some file systems) with the same size: its stamp would not tell. Such a build
  // is used once and not cached; the next map builds again, and caches once the files settle.
  if (inputs.every((i) => i.mtimeMs < started - SETTLE_MS)) cache.set(key, { inputs, built });
  else cache.delete(key);
  return built;
}

/** Forgets cached builds (for benchmarks that measure a cold build). */
export function clearModuleCache(): void {
  cache.clear();
}

function stamp(path: string): CacheEntry['inputs'][number] | undefined {
  try {
    const st = statSync(path);
    return { path, mtimeMs: st.mtimeMs, size: st.size };
  } catch {
    return undefined; // virtual inputs (none for plain node builds) cannot change
  }
}

function fresh(entry: CacheEntry): boolean {
  return entry.inputs.every((i) => {
    const now = stamp(i.path);
    return now !== undefined && now.mtimeMs === i.mtimeMs && now.size === i.size;
  });
}

/** Rewrites the map's sources as absolute file URLs and appends it to the code as a data URL. */
function withInlineMap(js: string, mapText: string): string {
  const map = JSON.parse(mapText) as { sources: string[]; sourceRoot?: string };
  map.sources = map.sources.map((s) => pathToFileURL(resolve(OUT_DIR, s)).href);
  delete map.sourceRoot;
  const body = js.replace(/\n\/\/# sourceMappingURL=[^\n]*\n?$/, '\n');
  return `${body}//# sourceMappingURL=data:application/json;base64,${Buffer.from(JSON.stringify(map)).toString('base64')}\n`;
}

function buildError(file: string, err: unknown): FlotillaError {
  const errors: Message[] = (err as BuildFailure)?.errors ?? [];
  if (errors.length === 0) return new FlotillaError('BAD_INPUT', `bundling ${file} failed: ${(err as Error)?.message ?? String(err)}`, { cause: err, context: { file } });
  const lines = errors.slice(0, 5).map((m) => {
    const loc = m.location ? `${resolve(process.cwd(), m.location.file)}:${m.location.line}:${m.location.column + 1}: ` : '';
    return `${loc}${m.text}`;
  });
  const first = errors[0]!.location;
  return new FlotillaError('BAD_INPUT', `module ${file} does not build: ${lines.join('; ')}`, {
    cause: err,
    context: { file: first ? resolve(process.cwd(), first.file) : file, line: first?.line, column: first ? first.column + 1 : undefined },
  });
}
