/**
 * The suite's check that no test file leaves a process or a temporary file behind
 * (global-setup.ts, leaks.ts), tried on a file that does (leaky.fixture.ts) in a vitest run of
 * its own.
 */
import { execa } from 'execa';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './process.js';
import { processesWithEnv } from './procs.js';
import { Reaper } from './reaper.js';

describe('the leak check', () => {
  it('fails a test file that leaves a process and a temporary folder behind, naming them, and ends and removes them', async () => {
    const reaper = new Reaper();
    const dir = reaper.tempDir('flotilla-leak-check-');
    const config = join(dir, 'vitest.config.mjs');
    const support = join(ROOT, 'test', 'support');
    writeFileSync(
      config,
      `export default { test: { root: ${JSON.stringify(ROOT)}, include: ['test/support/leaky.fixture.ts'], globalSetup: [${JSON.stringify(join(support, 'global-setup.ts'))}], setupFiles: [${JSON.stringify(join(support, 'leaks.ts'))}] } };\n`,
    );
    // Its run folder goes in this file's TMPDIR, so whatever it left is found by this file's check too.
    const r = await execa(process.execPath, [join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--config', config], { cwd: ROOT, reject: false, all: true, timeout: 120_000, env: { FLOTILLA_TEST_LEAK_WAIT_MS: '300' } });
    expect(r.exitCode).toBe(1);
    expect(r.all).toMatch(/test\/support\/leaky\.fixture\.ts left behind process\(es\) still running: \d+ \(sleep 300\); temporary file\(s\) not removed: forgotten-\w+/);
    expect(processesWithEnv((e) => e.startsWith(`TMPDIR=${process.env.TMPDIR}/flotilla-test-run-`))).toEqual([]);
  }, 150_000);
});
