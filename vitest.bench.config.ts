import { defineConfig } from 'vitest/config';

/** Benchmarks: vitest files under bench/ that measure ours vs the peer in the same run and
 *  write bench/results/<name>.json; `npm run bench` runs them one file at a time. The rack lab
 *  benchmarks (bench/rack.bench.ts: two live clusters, ~12 min; bench/partition.bench.ts: three
 *  partition recipes, ~12 min; root, network namespaces) run only with RW_BENCH_RACK=1, which
 *  `npm run bench:rack` sets. */
const RACK = ['bench/rack.bench.ts', 'bench/partition.bench.ts'];

export default defineConfig({
  test: {
    include: ['bench/**/*.bench.ts'],
    exclude: process.env.RW_BENCH_RACK === '1' ? [] : RACK,
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 900_000,
    hookTimeout: 300_000,
    globalSetup: ['test/global-setup.ts'],
  },
});
