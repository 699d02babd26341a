import { configDefaults, defineConfig } from 'vitest/config';
import { scaled } from './test/support/timing.js';

/**
 * Two projects, both run by `vitest run` (`npm test`): `unit`, the scheduler, pools and jobs in
 * one process with a fake clock and fake lane channels (`npm run test:unit`, no root, no network,
 * no child process), and `system`, everything else, on real processes and fixtures.
 */
export default defineConfig({
  test: {
    // Each file gets its own TMPDIR and fails if it leaves a process or a temporary file behind.
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/leaks.ts'],
    // Tests start real agent processes; two files at a time keeps a 2-core machine honest.
    maxWorkers: 2,
    // Bounds for a stuck test, not for speed: longer on a loaded machine (test/support/timing.ts).
    testTimeout: scaled(30_000),
    hookTimeout: scaled(30_000),
    projects: [
      {
        extends: true,
        // Starting a process, opening a socket or resolving a name throws here (test/unit/setup.ts).
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], setupFiles: ['test/unit/setup.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'system',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/unit/**'],
          typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
        },
      },
    ],
  },
});
