/**
 * The test run's global setup (vitest `globalSetup`): a private folder under the system's
 * temporary folder for the run, in which each test file gets its TMPDIR (leaks.ts), and at the
 * end a last check, across files, that no process started by a test still runs. Fixture daemons
 * are started with the outer TMPDIR (test/fixtures/index.ts), so they are not counted.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAll, survivors } from './procs.js';

export default function setup(): () => Promise<void> {
  const outer = tmpdir();
  const run = mkdtempSync(join(outer, 'flotilla-test-run-'));
  chmodSync(run, 0o1777); // like /tmp: SLURM jobs of other users inherit TMPDIR
  process.env.FLOTILLA_TEST_OUTER_TMPDIR = outer;
  process.env.FLOTILLA_TEST_RUN_DIR = run;
  return async () => {
    const left = killAll(await survivors((e) => e.startsWith(`TMPDIR=${run}/`), 10_000));
    rmSync(run, { recursive: true, force: true });
    if (left.length > 0) {
      console.error(`\nprocesses started by the tests still ran after them (now killed): ${left.join(', ')}`);
      process.exitCode = 1; // vitest logs an error thrown here but exits 0
    }
  };
}
