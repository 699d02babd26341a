/**
 * What the published declarations of `import 'flotilla'` reach (dist/client/index.d.ts and the
 * .d.ts files it imports, after stripInternal): the API's types come from contract/, and neither
 * the controller nor its router is among them (internal members such as Session.controller and
 * the tRPC client are stripped). They reach no file of server/ or agent/ (the pools' and the
 * controller's option types are declarations in contract/), and every package they name brings
 * its own types: a user needs no @types package of ours (ws, ssh2, better-sqlite3).
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../../dist/', import.meta.url));

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> };

/** The packages the .d.ts files `entry` reaches import (bare specifiers, `node:` builtins aside). */
const packagesNamed = new Set<string>();

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
    for (const m of text.matchAll(/(?:from\s+|import\(\s*)['"]([^'"]+)['"]/g)) {
      const spec = m[1]!;
      if (!spec.startsWith('.')) {
        if (!spec.startsWith('node:')) packagesNamed.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
        continue;
      }
      const target = resolve(dirname(file), spec.replace(/\.js$/, '.d.ts'));
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

  it('reach no file of server/ or agent/: the option types are declarations in contract/', () => {
    const files = [...reached('client/index.d.ts')];
    expect(files).toContain('contract/pool-options.d.ts');
    expect(files).toContain('contract/controller-options.d.ts');
    expect(files.filter((f) => /^(server|agent)\//.test(f))).toEqual([]);
  });

  it('name only packages that are dependencies and bring their own types (no @types package needed)', () => {
    reached('client/index.d.ts');
    for (const name of packagesNamed) {
      expect(Object.keys(pkg.dependencies), name).toContain(name);
      const manifest = JSON.parse(readFileSync(new URL(`../../node_modules/${name}/package.json`, import.meta.url), 'utf8')) as { types?: string; typings?: string; exports?: { '.'?: unknown } };
      const ownTypes = Boolean(manifest.types ?? manifest.typings) || JSON.stringify(manifest.exports?.['.'] ?? '').includes('.d.');
      expect(ownTypes, `${name} brings its own types`).toBe(true);
    }
    expect(Object.keys(pkg.dependencies).filter((d) => d.startsWith('@types/'))).toEqual([]);
  });

  it('carry no @internal member of a Session', () => {
    const session = readFileSync(resolve(dist, 'client/session.d.ts'), 'utf8');
    expect(session).not.toMatch(/^\s*(readonly )?controller\??:/m);
    expect(session).not.toMatch(/\bget api\(\)/);
    expect(session).toMatch(/\bmap</);
  });
});
