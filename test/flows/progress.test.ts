/**
 * collect() draws one progress bar per stage when stderr is a terminal. Run under script(1),
 * which gives the child a real pseudo-terminal, and read what it drew.
 */
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../lifecycle/helpers.js';

describe('progress of collect() in a terminal', () => {
  it('draws a bar per stage that ends at every row, with the failed count', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'flotilla-tty-'));
    try {
      const cmd = `node --import tsx ${join(ROOT, 'test', 'flows', 'fixtures', 'tty-collect.ts')}`;
      const r = await execa('script', ['-qfec', cmd, '/dev/null'], { cwd: ROOT, env: { FLOTILLA_CACHE_DIR: cache, TERM: 'xterm' }, reject: false, timeout: 120_000 });
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      // The pseudo-terminal merges stderr (the bars) and stdout (the statuses) into one stream.
      const screen = r.stdout.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
      expect(screen).toMatch(/pre\s+\[[^\]]*\] 12\/12 rows \| 0 running, 0 failed/);
      expect(screen).toMatch(/fit\s+\[[^\]]*\] 12\/12 rows \| 0 running, 1 failed/);
      const statuses = JSON.parse(screen.trim().split('\n').filter((l) => l.startsWith('[')).pop()!) as string[];
      expect(statuses.filter((s) => s === 'ok')).toHaveLength(11);
      expect(statuses.filter((s) => s === 'failed')).toHaveLength(1);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  }, 150_000);
});
