/** Where the one-file agent bundle is, whether we run from dist/ or from the TypeScript sources. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FlotillaError } from '../contract/errors.js';

let cached: string | undefined;

export function agentBundlePath(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json'))) {
      const p = join(dir, 'dist', 'agent.mjs');
      if (!existsSync(p)) throw new FlotillaError('INTERNAL', `agent bundle ${p} is missing: run \`npm run build\``);
      return (cached = p);
    }
    dir = dirname(dir);
  }
  throw new FlotillaError('INTERNAL', 'cannot find the flotilla package root to locate dist/agent.mjs');
}
