/**
 * What the published declarations of `import 'flotilla'` reach (dist/client/index.d.ts and the
 * .d.ts files it imports, after stripInternal): the API's types come from contract/, and neither
 * the controller nor its router is among them (internal members such as Session.controller and
 * the tRPC client are stripped). The pools' option types still come from server/ (pool.ts,
 * pool-options.ts) and reach the scheduler and the launchers: they are what keeps @types/ws,
 * @types/ssh2 and @types/better-sqlite3 among the dependencies.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../../dist/', import.meta.url));

/** The .d.ts files `entry` reaches through relative imports, relative to dist/. */
function reached(entry: string): Set<string> {
  const seen = new Set<string>();
  const queue = [resolve(dist, entry)];
  while (queue.length > 0) {
    const file = queue.pop()!;
    const rel = relative(dist, file);
    if (seen.has(rel)) continue;
    seen.add(rel);
    // Comments hold examples (`import ... from './work.js'`) that are not imports.
    const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
    for (const m of text.matchAll(/(?:from\s+|import\(\s*)['"](\.[^'"]+)['"]/g)) {
      const target = resolve(dirname(file), m[1]!.replace(/\.js$/, '.d.ts'));
      if (existsSync(target)) queue.push(target);
    }
  }
  return seen;
}

describe("the published declarations of 'flotilla'", () => {
  it('reach neither the controller nor its router, and take the API types from contract/', () => {
    const files = reached('client/index.d.ts');
    expect([...files].filter((f) => /^server\/(controller|router)\.d\.ts$/.test(f))).toEqual([]);
    expect(files).toContain('contract/job-types.d.ts');
    expect(files).toContain('contract/agent-types.d.ts');
    expect(files).not.toContain('contract/api.d.ts');
  });

  it('carry no @internal member of a Session', () => {
    const session = readFileSync(resolve(dist, 'client/session.d.ts'), 'utf8');
    expect(session).not.toMatch(/^\s*(readonly )?controller\??:/m);
    expect(session).not.toMatch(/\bget api\(\)/);
    expect(session).toMatch(/\bmap</);
  });
});
