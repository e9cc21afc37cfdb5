/** Helpers shared by the benchmarks. */

/** Median of the samples (mean of the two middle ones for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Runs `fn` `runs` times, calling `prepare` before each, and returns the durations in ms. */
export async function measure(runs: number, prepare: () => void, fn: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    prepare();
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}
