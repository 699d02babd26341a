// Bundles the dashboard page (ui/) into dist/dashboard/: index.html, app.js, app.css. Preact and
// htm go into app.js; nothing is loaded from anywhere else when the page is viewed.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, renameSync, statSync } from 'node:fs';

const ui = (f) => new URL(`../ui/${f}`, import.meta.url).pathname;
const out = new URL('../dist/dashboard/', import.meta.url).pathname;
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { app: ui('main.ts'), 'app-style': ui('app.css') },
  outdir: out,
  entryNames: '[name]',
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
});
renameSync(`${out}app-style.css`, `${out}app.css`);
copyFileSync(ui('index.html'), `${out}index.html`);
const kib = (f) => (statSync(out + f).size / 1024).toFixed(1);
console.log(`dist/dashboard/ app.js ${kib('app.js')} KiB, app.css ${kib('app.css')} KiB`);
