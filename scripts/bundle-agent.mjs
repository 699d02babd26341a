// Bundles agent/main.ts and everything it imports into ONE file that a bare `node` runs, so it
// can be uploaded to a host that has nothing else of ours. Prints its size and content hash.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

const outfile = new URL('../dist/agent.mjs', import.meta.url).pathname;
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
  logLevel: 'warning',
});
const buf = readFileSync(outfile);
console.log(`dist/agent.mjs ${(buf.length / 1024).toFixed(0)} KiB sha256:${createHash('sha256').update(buf).digest('hex').slice(0, 16)}`);
