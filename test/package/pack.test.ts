/**
 * The package as a user gets it: `npm pack`, installed into an empty project. Its public types
 * must stand alone (a strict project with skipLibCheck: false type-checks a file that imports
 * 'flotilla' and 'flotilla/server'), it ships a LICENSE, and no source map that names a file it
 * does not ship.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
let dir: string;
let files: string[];
let tarball: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flotilla-pack-'));
  // dist/ is built (npm test builds first); the tarball is what `npm publish` would upload.
  const { stdout } = await exec('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: root });
  const [info] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  files = info!.files.map((f) => f.path);
  tarball = join(dir, info!.filename);
}, 120_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('ships a LICENSE (MIT, as package.json says)', () => {
    expect(files).toContain('LICENSE');
    expect(readFileSync(join(root, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
    expect(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).license).toBe('MIT');
  });

  it("ships the dashboard's page, bundled: nothing for a browser to fetch elsewhere", () => {
    expect(files).toEqual(expect.arrayContaining(['dist/dashboard/index.html', 'dist/dashboard/app.js', 'dist/dashboard/app.css']));
    const page = readFileSync(join(root, 'dist/dashboard/index.html'), 'utf8') + readFileSync(join(root, 'dist/dashboard/app.js'), 'utf8');
    expect(page).not.toMatch(/(src|href)=["']?https?:/);
    expect(page).not.toMatch(/import\s*\(?\s*["']https?:/);
  });

  it('ships no source map pointing at sources it does not ship', () => {
    const maps = files.filter((f) => f.endsWith('.map'));
    expect(maps).toEqual([]);
    for (const f of files.filter((p) => p.endsWith('.js'))) {
      expect(readFileSync(join(root, f), 'utf8'), f).not.toMatch(/\/\/# sourceMappingURL=(?!data:)/);
    }
  });

  it('its public types stand alone: a strict project with skipLibCheck: false type-checks', async () => {
    const project = join(dir, 'app');
    await exec('mkdir', ['-p', project]);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, skipLibCheck: false, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', noEmit: true, types: ['node'] },
      include: ['main.ts'],
    }));
    writeFileSync(join(project, 'main.ts'), [
      "import { clusterMap, connect, flow, paramGrid, FlotillaError } from 'flotilla';",
      "import type { MapOptions, TaskContext, ControllerOptions } from 'flotilla';",
      "import { Controller } from 'flotilla/server';",
      'const squares: number[] = await clusterMap([1, 2, 3], (x) => x * x);',
      "const opts: MapOptions = { timeoutMs: 1000, retries: 1 };",
      'const fl = await connect();',
      'const job = fl.map([1], (x: number, ctx: TaskContext) => x + ctx.index, opts);',
      'for await (const r of job) if (!r.ok) console.log(r.error instanceof FlotillaError, r.error.code);',
      'const c: ControllerOptions = {};',
      'void Controller; void flow; void paramGrid; void squares; void c;',
      'await fl.close();',
    ].join('\n'));
    // The registry (or npm's cache) gives the dependencies; no install scripts are needed to type-check.
    const ts = JSON.parse(readFileSync(join(root, 'node_modules/typescript/package.json'), 'utf8')).version as string;
    const node = JSON.parse(readFileSync(join(root, 'node_modules/@types/node/package.json'), 'utf8')).version as string;
    await exec('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', tarball, `typescript@${ts}`, `@types/node@${node}`], { cwd: project, timeout: 240_000 });
    const r = await exec(process.execPath, [join(project, 'node_modules/typescript/bin/tsc'), '-p', project]).catch((e: { stdout: string; stderr: string }) => e);
    expect(`${r.stdout}${r.stderr}`).toBe('');
  }, 300_000);
});
