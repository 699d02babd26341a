/**
 * The package as a user gets it: `npm pack`, installed into an empty project. The types of
 * 'flotilla' stand alone (a strict project with skipLibCheck: false type-checks a file that
 * imports it, with no @types package beyond Node's); those of 'flotilla/server' with the @types
 * of ws, ssh2 and better-sqlite3 added. It ships a LICENSE, and no source map that names a file
 * it does not ship.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

  it("the installed package runs: a clusterMap on local agents, 'flotilla/server' and the flotilla command", async () => {
    // The library is bundled (scripts/bundle-lib.mjs): its files must find each other, the agent
    // bundle and their external dependencies from where npm puts them.
    const project = join(dir, 'run');
    await exec('mkdir', ['-p', project]);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'run', private: true, type: 'module' }));
    await exec('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: project, timeout: 240_000 });
    writeFileSync(join(project, 'main.mjs'), "import { clusterMap } from 'flotilla';\nconsole.log((await clusterMap([1, 2, 3], (x) => x * x)).join());\n");
    expect((await exec(process.execPath, ['main.mjs'], { cwd: project, timeout: 120_000 })).stdout.trim()).toBe('1,4,9');
    const server = "const { Controller } = await import('flotilla/server'); console.log(typeof Controller.start);";
    expect((await exec(process.execPath, ['--input-type=module', '-e', server], { cwd: project })).stdout.trim()).toBe('function');
    expect((await exec(process.execPath, [join(project, 'node_modules/.bin/flotilla'), '--help'], { cwd: project })).stdout).toMatch(/controller/);
  }, 300_000);

  it("the public types of 'flotilla' stand alone: a strict project with skipLibCheck: false and no @types package of ours type-checks", async () => {
    const project = join(dir, 'app');
    await exec('mkdir', ['-p', project]);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    const tsconfig = (file: string) => JSON.stringify({
      compilerOptions: { strict: true, skipLibCheck: false, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', noEmit: true, types: ['node'] },
      include: [file],
    });
    writeFileSync(join(project, 'tsconfig.json'), tsconfig('main.ts'));
    writeFileSync(join(project, 'main.ts'), [
      "import { clusterMap, connect, flow, paramGrid, FlotillaError } from 'flotilla';",
      "import type { MapOptions, TaskContext, ControllerOptions, PoolOptions, SlurmPoolOptions } from 'flotilla';",
      'const squares: number[] = await clusterMap([1, 2, 3], (x) => x * x);',
      "const opts: MapOptions = { timeoutMs: 1000, retries: 1 };",
      "const slurm: SlurmPoolOptions = { launcher: 'slurm', via: 'login', resources: { time: '1h', mem: '4G' } };",
      "const pools: Record<string, PoolOptions> = { local: { launcher: 'local', agents: 2 }, hpc: slurm };",
      'const fl = await connect({ pools });',
      'const job = fl.map([1], (x: number, ctx: TaskContext) => x + ctx.index, opts);',
      'for await (const r of job) if (!r.ok) console.log(r.error instanceof FlotillaError, r.error.code);',
      "const c: ControllerOptions = { port: 0, tls: 'self-signed', connectionLimits: { maxUnproven: 8 } };",
      'void flow; void paramGrid; void squares; void c;',
      'await fl.close();',
    ].join('\n'));
    // The registry (or npm's cache) gives the dependencies; no install scripts are needed to type-check.
    const version = (name: string) => JSON.parse(readFileSync(join(root, `node_modules/${name}/package.json`), 'utf8')).version as string;
    const install = (...pkgs: string[]) => exec('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', ...pkgs], { cwd: project, timeout: 240_000 });
    const tsc = async () => {
      const r = await exec(process.execPath, [join(project, 'node_modules/typescript/bin/tsc'), '-p', project]).catch((e: { stdout: string; stderr: string }) => e);
      return `${r.stdout}${r.stderr}`;
    };
    await install(tarball, `typescript@${version('typescript')}`, `@types/node@${version('@types/node')}`);
    const ours = ['@types/ws', '@types/ssh2', '@types/better-sqlite3'];
    // Installing the package brought none of them: they are not among its dependencies.
    expect(ours.filter((name) => existsSync(join(project, 'node_modules', name)))).toEqual([]);
    expect(await tsc()).toBe('');

    // flotilla/server (the controller's class) names ws, ssh2 and better-sqlite3 types: its users
    // install their @types, as docs/api.md says, and then it type-checks too.
    writeFileSync(join(project, 'server.ts'), [
      "import { Controller } from 'flotilla/server';",
      "import type { ControllerOptions, SgePoolOptions } from 'flotilla/server';",
      "const sge: SgePoolOptions = { launcher: 'sge', resources: { pe: 'smp', slots: 4 } };",
      'const opts: ControllerOptions = { pools: { sge } };',
      'const c = await Controller.start(opts);',
      'await c.close();',
    ].join('\n'));
    writeFileSync(join(project, 'tsconfig.json'), tsconfig('server.ts'));
    await install(...ours.map((name) => `${name}@${version(name)}`));
    expect(await tsc()).toBe('');
  }, 300_000);
});
