/**
 * The examples are programs users copy: each must run to its end from a fresh process, with
 * its checks holding (exit code 0), so they do not rot while the API moves.
 */
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../lifecycle/helpers.js';

const run = (file: string, env: Record<string, string> = {}) =>
  execa('node', ['--import', 'tsx', join(ROOT, 'examples', file)], { cwd: ROOT, env, reject: false, timeout: 120_000 });

describe('examples', () => {
  it('ridge-sweep (npm run demo) checks its results against the truth and an in-process run', async () => {
    const r = await run('ridge-sweep.ts');
    expect(r.exitCode, r.stderr).toBe(0);
  }, 150_000);

  it('flow-sweep runs its 144 rows, then answers the same flow from the cache', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'flotilla-example-'));
    try {
      const first = await run('flow-sweep.ts', { FLOTILLA_CACHE_DIR: cache });
      expect(first.exitCode, first.stderr).toBe(0);
      expect(first.stdout).toMatch(/144 rows in .* \(0 from the cache\)/);
      const again = await run('flow-sweep.ts', { FLOTILLA_CACHE_DIR: cache });
      expect(again.exitCode, again.stderr).toBe(0);
      expect(again.stdout).toMatch(/144 rows in .* \(144 from the cache\)/);
      // The same best point both times: the cache answers with what the run computed.
      expect(again.stdout.split('\n')[1]).toBe(first.stdout.split('\n')[1]);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  }, 150_000);

  it('flow-subjects, the README flow with workersWithin: 2, runs on local agents whose slots offer 2 cores', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'flotilla-example-'));
    try {
      const r = await run('flow-subjects.ts', { FLOTILLA_CACHE_DIR: cache });
      expect(r.exitCode, r.stderr).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines).toHaveLength(12);
      expect(lines[0]).toMatch(/^s01 session 1 A: \d+\.\d{3} \(s01 [\d.]+\)$/);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  }, 150_000);
});
