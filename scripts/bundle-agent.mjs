// Bundles agent/main.ts and everything it imports into ONE file that a bare `node` runs, so it
// can be uploaded to a host that has nothing else of ours. Prints its size and content hash.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

const outfile = new URL('../dist/agent.mjs', import.meta.url).pathname;

/**
 * Builtins that every agent thread would otherwise load and compile at start (each isolate holds
 * its own copy) but that only rare paths use: ws needs https/tls for wss:// URLs only and zlib for
 * permessage-deflate, which the agent turns off; child processes serve only flow units' command
 * stages and process workers. They load on first use instead (about 0.3 MiB per thread).
 */
const LAZY_CJS = new Set(['https', 'tls', 'zlib']); // required by ws, which we do not edit
const LAZY_ESM = { 'node:child_process': ['spawn', 'fork'] }; // a name missing here fails the build
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    b.onResolve({ filter: /^(https|tls|zlib)$/ }, (a) =>
      LAZY_CJS.has(a.path) && /[\\/]node_modules[\\/]ws[\\/]/.test(a.importer) ? { path: a.path, namespace: 'lazy-cjs' } : undefined);
    b.onLoad({ filter: /.*/, namespace: 'lazy-cjs' }, (a) => ({
      loader: 'js',
      // Every property read (a function or a constant) goes to the real module, loaded then.
      contents: `let m; module.exports = new Proxy({}, { get: (_, k) => (m ??= require('node:${a.path}'))[k] });`,
    }));
    b.onResolve({ filter: /^node:child_process$/ }, (a) => (a.namespace === 'lazy-esm' ? undefined : { path: a.path, namespace: 'lazy-esm' }));
    b.onLoad({ filter: /.*/, namespace: 'lazy-esm' }, (a) => ({
      loader: 'js',
      contents: `let m; const load = () => (m ??= require('${a.path}'));\n` +
        LAZY_ESM[a.path].map((n) => `export const ${n} = (...args) => load().${n}(...args);`).join('\n'),
    }));
  },
};
await build({
  entryPoints: [new URL('../agent/main.ts', import.meta.url).pathname],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  // No source map: the agent's own frames are dropped from every stack it reports, and an inline
  // map would be two thirds of the file, uploaded to every host and held by every agent thread.
  sourcemap: false,
  legalComments: 'none',
  // ws tries these optional native speedups; the agent must not depend on anything installed.
  external: ['bufferutil', 'utf-8-validate'],
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  plugins: [lazyBuiltins],
  logLevel: 'warning',
});
const buf = readFileSync(outfile);
console.log(`dist/agent.mjs ${(buf.length / 1024).toFixed(0)} KiB sha256:${createHash('sha256').update(buf).digest('hex').slice(0, 16)}`);
