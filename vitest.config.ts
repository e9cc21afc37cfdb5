import { defineConfig } from 'vitest/config';

/** Rack lab files: a whole two-node cluster + box each; they must own the machine's 2 cores. */
const RACK = 'test/integration/rack/**/*.test.ts';

export default defineConfig({
  test: {
    pool: 'forks',
    // Two cores: integration files start real servers; keep parallelism at the core count.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    globalSetup: ['test/global-setup.ts'],
    projects: [
      {
        extends: true,
        test: { name: 'suite', include: ['test/**/*.test.ts'], exclude: [RACK] },
      },
      {
        extends: true,
        test: {
          name: 'rack',
          include: [RACK],
          // after the rest of the suite (groupOrder), one file at a time in one fork
          sequence: { groupOrder: 1 },
          fileParallelism: false,
          maxWorkers: 1,
          testTimeout: 240_000,
          hookTimeout: 240_000,
        },
      },
    ],
  },
});
