/**
 * A test file that leaves a process and a temporary folder behind, run by leak-check.test.ts
 * in a vitest of its own (its name does not end in .test.ts: the suite does not run it).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'vitest';

it('forgets what it started', () => {
  mkdtempSync(join(tmpdir(), 'forgotten-'));
  spawn('sleep', ['300'], { detached: true, stdio: 'ignore' }).unref();
});
