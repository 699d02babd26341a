/**
 * The dashboard's static files, bundled at build time into dist/dashboard/ (index.html, app.js,
 * app.css): read once, served from memory with a strict Content-Security-Policy. Nothing is
 * fetched from anywhere else at view time.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerResponse } from 'node:http';
import { FlotillaError } from '../../contract/errors.js';

/** Only our own scripts, styles and socket; no inline code, no frames, no forms, no other origin. */
export const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Headers every dashboard response carries, answers and refusals alike. */
export const SECURITY_HEADERS = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
} as const;

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.png': 'image/png', '.svg': 'image/svg+xml' };

let cached: Map<string, Buffer> | undefined;

/** dist/dashboard/ of the package, whether we run from dist/ or from the TypeScript sources. */
function assetDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'dist', 'dashboard');
    dir = dirname(dir);
  }
  throw new FlotillaError('INTERNAL', 'cannot find the flotilla package root to locate dist/dashboard/');
}

/** The files by name (`index.html`, `app.js`, ...). */
function files(): Map<string, Buffer> {
  if (cached) return cached;
  const dir = assetDir();
  if (!existsSync(join(dir, 'index.html'))) throw new FlotillaError('INTERNAL', `the dashboard's files are missing from ${dir}: run \`npm run build\``);
  return (cached = new Map(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f))])));
}

/** Sends one asset, or 404; `head` sends the headers only. */
export function sendAsset(res: ServerResponse, name: string, head: boolean): void {
  const body = files().get(name);
  if (!body) return void res.writeHead(404, { ...SECURITY_HEADERS, 'content-type': 'text/plain' }).end('not found\n');
  res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': TYPES[extname(name)] ?? 'application/octet-stream', 'content-length': body.length, 'cache-control': 'no-cache' });
  res.end(head ? undefined : body);
}
