/**
 * Every TypeScript snippet of README.md and docs/*.md type-checks against the built package
 * (`import ... from 'flotilla'` resolves to this package's dist/ types by its own name), and
 * every one marked ```ts run runs to exit 0 on local agents. Every `npx flotilla ...` command in
 * a shell block names a real command. Conventions: test/docs/snippets.ts, CONTRIBUTING.md.
 */
import { execa } from 'execa';
import type { ResultPromise } from 'execa';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInterface } from 'node:readline';
import { ROOT } from '../lifecycle/helpers.js';
import { allSnippets, isTs, layOut, mapDiagnostics } from './snippets.js';
import type { SnippetFile } from './snippets.js';

// Inside the repository, so `import 'flotilla'` resolves to this package by its own name; one
// folder per run, so two runs in one checkout do not overwrite each other's files.
const DIR = join(ROOT, 'test', 'docs', '.snippets', `run-${process.pid}`);
const snippets = allSnippets(ROOT);
let files: SnippetFile[] = [];
let cache: string;
/** The address the docs give a shared controller; `ts run controller` snippets get a real one instead. */
const DOC_URL = 'http://127.0.0.1:7711';
let controller: { home: string; url: Promise<string>; proc: ResultPromise } | undefined;

beforeAll(() => {
  files = layOut(ROOT, DIR, snippets);
  cache = mkdtempSync(join(tmpdir(), 'flotilla-snippets-'));
});
afterAll(async () => {
  if (controller) {
    controller.proc.kill('SIGTERM'); // it stops its agents, then exits
    await controller.proc;
  }
  rmSync(cache, { recursive: true, force: true });
  rmSync(DIR, { recursive: true, force: true });
});

/**
 * A `flotilla controller` as the docs start it, but on a free port and with HOME in a temporary
 * folder, so `~/.flotilla/token` in a snippet is its token file and nobody else's controller is met.
 */
function sharedController(): { home: string; url: Promise<string> } {
  if (!controller) {
    const home = mkdtempSync(join(cache, 'home-'));
    const proc = execa('node', [join(ROOT, 'dist', 'server', 'cli.js'), 'controller', '--port', '0', '--agents', '2'], {
      env: { HOME: home, FLOTILLA_STATE_DIR: join(home, '.flotilla') },
      reject: false,
      stdin: 'ignore',
    });
    const url = new Promise<string>((resolve, reject) => {
      const lines = createInterface({ input: proc.stdout! });
      lines.on('line', (line) => {
        const m = /listening on (http:\/\/\S+)/.exec(line);
        if (m) resolve(m[1]!);
      });
      void proc.then((r) => reject(new Error(`flotilla controller exited ${r.exitCode} before listening: ${r.stderr}`)));
      setTimeout(() => reject(new Error('flotilla controller printed no URL within 60 s')), 60_000).unref();
    });
    controller = { home, url, proc };
  }
  return controller;
}

/** At most `n` holders at once; each calls the function it got to give its slot back. */
function semaphore(n: number): () => Promise<() => void> {
  let free = n;
  const waiting: (() => void)[] = [];
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else free++;
  };
  return async () => {
    if (free > 0) free--;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    return release;
  };
}

describe('documentation snippets', () => {
  it('the docs have TypeScript snippets, and runnable ones among them', () => {
    const ts = snippets.filter(isTs);
    expect(ts.length).toBeGreaterThan(20);
    expect(ts.filter((s) => s.run).length).toBeGreaterThan(10);
    // Every page but the reference and background ones shows code.
    for (const page of ['README.md', 'docs/getting-started.md', 'docs/flows.md', 'docs/ssh.md', 'docs/slurm.md', 'docs/module-functions.md']) {
      expect(ts.some((s) => s.page === page), page).toBe(true);
    }
  });

  it('every ts snippet type-checks against the built package types', async () => {
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = await execa('node', [tsc, '-p', join(DIR, 'tsconfig.json'), '--pretty', 'false'], { cwd: DIR, reject: false, timeout: 180_000 });
    expect(mapDiagnostics(r.stdout + r.stderr, DIR, files).trim(), 'tsc found errors in the docs').toBe('');
    expect(r.exitCode).toBe(0);
  }, 200_000);

  const runnable = snippets.filter((s) => isTs(s) && s.run);
  // Two at a time: each starts its own controller and local agents.
  const slots = semaphore(2);
  it.concurrent.each(runnable.map((s) => [`${s.page}:${s.line}`, s] as const))('%s runs on local agents', async (_where, s) => {
    const f = files.find((x) => x.snippet === s)!;
    // A private cache: flows answered from an earlier run's cache would not run their stages.
    const env: Record<string, string> = { FLOTILLA_CACHE_DIR: mkdtempSync(join(cache, 'c-')) };
    let path = f.path;
    if (s.info.split(/\s+/).includes('controller')) {
      const c = sharedController();
      const url = await c.url;
      path = f.path.replace(/\.ts$/, '.run.ts');
      writeFileSync(path, readFileSync(f.path, 'utf8').replaceAll(DOC_URL, url));
      env.HOME = c.home;
    }
    // `ts run mjs`: the page tells readers to run it as a .mjs file with plain node, so do that.
    const asMjs = s.info.split(/\s+/).includes('mjs');
    if (asMjs) {
      const mjs = path.replace(/\.ts$/, '.mjs');
      writeFileSync(mjs, readFileSync(path, 'utf8'));
      path = mjs;
    }
    const release = await slots();
    const r = await execa('node', asMjs ? [path] : ['--import', 'tsx', path], {
      cwd: join(f.path, '..'),
      env,
      reject: false,
      timeout: 120_000,
      stdin: 'ignore',
    }).finally(release);
    expect(r.exitCode, `${s.page}:${s.line} exited ${r.exitCode}${r.timedOut ? ' (timed out)' : ''}\n${r.stderr}\n${r.stdout}`).toBe(0);
  }, 400_000); // generous: it may first wait for two others to finish

  it('every `npx flotilla` command in the docs exists', async () => {
    const commands = new Set<string>();
    for (const s of snippets.filter((x) => x.lang === 'sh')) {
      for (const line of s.code.split('\n')) {
        const m = /^npx flotilla ((?:[a-z][\w-]*)(?: [a-z][\w-]*)?)/.exec(line.trim());
        if (m) commands.add(m[1]!);
      }
    }
    expect(commands.size).toBeGreaterThan(3);
    for (const c of commands) {
      const r = await execa('node', [join(ROOT, 'dist', 'server', 'cli.js'), ...c.split(' '), '--help'], { reject: false, timeout: 30_000 });
      expect(r.exitCode, `flotilla ${c} --help: ${r.stderr}`).toBe(0);
      // commander prints the parent's help for an unknown sub-command word: the usage must name it.
      expect(r.stdout, `flotilla ${c}`).toContain(`flotilla ${c}`);
    }
  }, 120_000);
});
