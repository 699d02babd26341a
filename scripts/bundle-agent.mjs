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
/**
 * Builtins our own code imports, loaded on the first call of one of these names (a name missing
 * here fails the build). Besides child processes: crypto and net, which a bundle's `import`
 * statements would load before its first line runs, and the supervisor starts the first lane's
 * thread before it needs either (linking them first put ~4 ms ahead of that thread's start).
 */
const LAZY_ESM = {
  'node:child_process': ['spawn', 'fork'],
  'node:crypto': ['createCipheriv', 'createDecipheriv', 'createHash', 'createPrivateKey', 'createPublicKey', 'diffieHellman', 'generateKeyPairSync', 'hkdfSync', 'randomBytes', 'sign', 'verify'],
  'node:net': ['connect', 'createServer'],
};
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
    b.onResolve({ filter: /^node:(child_process|crypto|net)$/ }, (a) => (a.namespace === 'lazy-esm' ? undefined : { path: a.path, namespace: 'lazy-esm' }));
    // Live bindings: the first call replaces every name by the real function, so later calls
    // (a frame's cipher, say) go straight to it.
    b.onLoad({ filter: /.*/, namespace: 'lazy-esm' }, (a) => {
      const names = LAZY_ESM[a.path];
      return {
        loader: 'js',
        contents: `let loaded = false;\nfunction load() {\n  if (loaded) return;\n  loaded = true;\n  const m = require('${a.path}');\n` +
          names.map((n) => `  ${n} = m.${n};`).join('\n') + '\n}\n' +
          names.map((n) => `export let ${n} = (...args) => (load(), ${n}(...args));`).join('\n'),
      };
    });
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
