import { defineConfig } from 'vitest/config';
import { scaled } from './test/support/timing.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Each file gets its own TMPDIR and fails if it leaves a process or a temporary file behind.
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/leaks.ts'],
    // Tests start real agent processes; two files at a time keeps a 2-core machine honest.
    maxWorkers: 2,
    // Bounds for a stuck test, not for speed: longer on a loaded machine (test/support/timing.ts).
    testTimeout: scaled(30_000),
    hookTimeout: scaled(30_000),
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
  },
});
