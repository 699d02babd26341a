/**
 * What a test file leaves behind (vitest `setupFiles`: this runs in each file's worker before
 * the file). The file gets a temporary folder of its own as TMPDIR, which every process it
 * starts inherits (agents keep TMPDIR too) and where its temporary folders go. After its last
 * test no process may still carry that TMPDIR (or one inside it) and the folder must be empty: what is left is
 * named, ended and removed, and the file fails. global-setup.ts makes the run's folder.
 */
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { relative } from 'node:path';
import { afterAll, expect } from 'vitest';
import { killAll, survivors } from './procs.js';
import { scaled } from './timing.js';

/** Caches that tools (tsx) keep in TMPDIR on purpose. */
const CACHES = /^(tsx-\d+|node-compile-cache|jiti)$/;

/** How long processes a file started get to end after it, before they count as left behind. */
const WAIT_MS = Number(process.env.FLOTILLA_TEST_LEAK_WAIT_MS) || 15_000;

const runDir = process.env.FLOTILLA_TEST_RUN_DIR;
if (runDir) {
  const dir = mkdtempSync(join(runDir, 'file-'));
  chmodSync(dir, 0o1777); // like /tmp: batch jobs the file submits run as other users and inherit TMPDIR
  process.env.TMPDIR = dir;
  const testPath = expect.getState().testPath;
  const file = testPath ? relative(process.cwd(), testPath) : 'this test file';
  afterAll(async () => {
    // esbuild's service is the worker's own helper (module functions build in the test process):
    // stop it, as the worker's exit would.
    await (await import('esbuild')).stop();
    const procs = killAll(await survivors((e) => e === `TMPDIR=${dir}` || e.startsWith(`TMPDIR=${dir}/`), WAIT_MS));
    const files = readdirSync(dir).filter((f) => !CACHES.test(f));
    rmSync(dir, { recursive: true, force: true });
    const left = [...(procs.length ? [`process(es) still running: ${procs.join(', ')}`] : []), ...(files.length ? [`temporary file(s) not removed: ${files.join(', ')}`] : [])];
    if (left.length) throw new Error(`${file} left behind ${left.join('; ')}. Clean up with a Reaper (test/support/reaper.ts).`);
  }, scaled(30_000));
}
