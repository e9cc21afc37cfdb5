import { defineConfig } from 'vitest/config';

/** Benchmarks: vitest files under bench/ that measure ours vs the peer in the same run and
 *  write bench/results/<name>.json; `npm run bench` runs them one file at a time. */
export default defineConfig({
  test: {
    include: ['bench/**/*.bench.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 900_000,
    hookTimeout: 300_000,
    globalSetup: ['test/global-setup.ts'],
  },
});
