// Bundles the library's entry points (the package's `exports` and `bin`) from the TypeScript
// sources into a few ES module files, so `import 'flotilla'` reads and compiles a handful of files
// instead of hundreds (each a resolution, a stat, a read and a compile). The embedded controller
// (server code) stays behind the client's dynamic import, as its own chunks; tsc emits only the
// declarations (.d.ts) beside the entries.
//
//   dist/client/index.js   'flotilla'
//   dist/server/index.js   'flotilla/server'
//   dist/server/cli.js     the `flotilla` command
//   dist/chunks/*.js       code the entries share, and what they load on demand
//
// Small pure-JS dependencies are inlined (ESM-compiled once, no CommonJS wrapping or export
// lexing at load). Heavy or native ones, and those loaded on first use, stay external: they load
// from node_modules only when something needs them. Writes dist/bundle-inputs.json (not
// packed): which source folders each output file holds, for tests that check what a process loaded.
import { build } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}/package.json`, 'utf8'));
// Loaded lazily (createRequire or dynamic import) or native: never part of the startup path.
const LAZY = ['ssh2', 'better-sqlite3', 'esbuild', 'execa', 'cli-progress', 'node-forge', 'tar-stream', 'acorn', 'acorn-walk', 'eslint-scope'];
const unknown = LAZY.filter((p) => !(p in pkg.dependencies));
if (unknown.length) throw new Error(`bundle-lib: ${unknown.join(', ')} not among the dependencies`);

// zod's namespace re-exports every locale (`z.locales.fr()`), so none can be tree-shaken: a
// third of the client's code, parsed and compiled by every process that loads it. flotilla's
// messages are its own and zod speaks English by default; a user's zod is their own copy.
const englishOnlyZod = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /\/locales\/index\.js$/ }, (args) => (args.importer.includes('/node_modules/zod/') ? { path: fileURLToPath(new URL('../locales/en.js', `file://${args.importer}`)), namespace: 'zod-locales' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({ contents: `export { default as en } from ${JSON.stringify(args.path)};`, resolveDir: root }));
  },
};

// The library's import checks options with zod/mini (contract/option-schemas.ts): a few kinds
// of schema of zod's core. The controller's code uses the whole of zod, and code split between
// them would put all of zod's core, as the controller uses it, in what the import loads. So
// zod/mini, and the core it reaches, get a copy of their own (the 'zod-lite' namespace)
// tree-shaken to what the client uses: ~80 KiB instead of ~330. Both copies share zod's global
// config and registry (kept on globalThis) and recognise each other's schemas (instanceof).
const LITE = 'zod-lite';
const zodLite = {
  name: 'zod-lite',
  setup(b) {
    const lite = async (args, path) => {
      const r = await b.resolve(path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer });
      if (r.errors.length > 0 || !r.path.includes('/node_modules/zod/')) return r;
      // The locales index re-exports all of them: English is the one used (see below).
      const file = /\/locales\/index\.js$/.test(r.path) ? fileURLToPath(new URL('../locales/en.js', `file://${args.importer}`)) : r.path;
      return { path: file, namespace: LITE, sideEffects: false };
    };
    b.onResolve({ filter: /^zod\/(mini|v4\/core|v4\/locales\/en\.js)$/ }, (args) => (args.namespace === 'file' ? lite(args, args.path) : undefined));
    b.onResolve({ filter: /.*/, namespace: LITE }, (args) => lite(args, args.path));
    b.onLoad({ filter: /.*/, namespace: LITE }, async (args) => ({ contents: await readFile(args.path, 'utf8'), loader: 'js', resolveDir: dirname(args.path) }));
  },
};

const result = await build({
  absWorkingDir: root,
  entryPoints: { 'client/index': 'client/index.ts', 'server/index': 'server/index.ts', 'server/cli': 'server/cli.ts' },
  outdir: 'dist',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Readable stacks. No keepNames: it wraps every named closure in a call that defines its
  // `name` each time one is made (several per map), and nothing reads function or class names
  // (errors set theirs explicitly); only names that collide in one output file get a suffix.
  minify: false,
  keepNames: false,
  sourcemap: false,
  legalComments: 'none',
  external: [...LAZY, 'bufferutil', 'utf-8-validate'],
  // Inlined CommonJS dependencies (ws) require Node builtins and optional speedups at run time.
  banner: { js: "import { createRequire as __flotillaRequire } from 'node:module'; const require = __flotillaRequire(import.meta.url);" },
  plugins: [zodLite, englishOnlyZod],
  metafile: true,
  logLevel: 'warning',
});

// zod by part (v4/core, v4/mini, v4/classic...): the library's import is to load its core and
// zod/mini, not the whole of it (client/connect-options.ts, contract/option-schemas.ts).
const folderOf = (i) => {
  if (!i.startsWith('node_modules/')) return i.split('/')[0];
  const p = i.split('/');
  if (p[1] === 'zod' && p[2] === 'v4') return p.slice(0, 4).join('/');
  return `node_modules/${p[1]?.startsWith('@') ? p.slice(1, 3).join('/') : p[1]}`;
};
const inputs = {};
for (const [file, out] of Object.entries(result.metafile.outputs)) {
  const dirs = new Set(Object.keys(out.inputs).map(folderOf));
  inputs[file] = [...dirs].sort();
}
writeFileSync(`${root}/dist/bundle-inputs.json`, `${JSON.stringify(inputs, null, 1)}\n`);
const total = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(`dist/ library: ${Object.keys(inputs).length} files, ${(total / 1024).toFixed(0)} KiB`);
