/**
 * Every TypeScript snippet of README.md and docs/*.md type-checks against the built package
 * (`import ... from 'flotilla'` resolves to this package's dist/ types by its own name), and
 * every one marked ```ts run runs to exit 0 on local agents. Every `npx flotilla ...` command in
 * a shell block names a real command. Conventions: test/docs/snippets.ts, CONTRIBUTING.md.
 */
import { execa } from 'execa';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../lifecycle/helpers.js';
import { allSnippets, isTs, layOut, mapDiagnostics } from './snippets.js';
import type { SnippetFile } from './snippets.js';

const DIR = join(ROOT, 'test', 'docs', '.snippets');
const snippets = allSnippets(ROOT);
let files: SnippetFile[] = [];
let cache: string;

beforeAll(() => {
  files = layOut(ROOT, DIR, snippets);
  cache = mkdtempSync(join(tmpdir(), 'flotilla-snippets-'));
});
afterAll(() => rmSync(cache, { recursive: true, force: true }));

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
    const release = await slots();
    // A private cache: flows answered from an earlier run's cache would not run their stages.
    const r = await execa('node', ['--import', 'tsx', f.path], {
      cwd: join(f.path, '..'),
      env: { FLOTILLA_CACHE_DIR: mkdtempSync(join(cache, 'c-')) },
      reject: false,
      timeout: 120_000,
      stdin: 'ignore',
    }).finally(release);
    expect(r.exitCode, `${s.page}:${s.line} exited ${r.exitCode}${r.timedOut ? ' (timed out)' : ''}\n${r.stderr}\n${r.stdout}`).toBe(0);
  }, 150_000);

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
