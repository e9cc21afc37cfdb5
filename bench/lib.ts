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

/** The two Debian packages as installed: `npm run package`'s .debs (built into a temp dir)
 *  unpacked into one root. Paths of what a user runs; `cli` is what the box's /usr/bin/rackwitness
 *  execs for a short command (node and flags on the bundle, with the root's prefix). */
export interface PackagedLayout {
  root: string;
  fenceAgent: string;
  cli: string[];
}

let packaged: Promise<PackagedLayout> | undefined;

export function packagedLayout(): Promise<PackagedLayout> {
  packaged ??= (async () => {
    const { execFileSync } = await import('node:child_process');
    const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'rw-bench-pkg-'));
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    const out = join(dir, 'debs');
    execFileSync('node', ['scripts/package.mjs'], { env: { ...process.env, RW_PKG_OUT: out }, stdio: 'ignore' });
    const m = JSON.parse(readFileSync(join(out, 'packages.json'), 'utf8')) as { box: string; agents: string };
    const root = join(dir, 'root');
    for (const deb of [m.box, m.agents]) execFileSync('dpkg-deb', ['-x', join(out, deb), root]);
    const wrapper = readFileSync(join(root, 'usr/bin/rackwitness'), 'utf8');
    // the last exec line: what short commands run
    const exec = [
      ...wrapper.matchAll(/^exec (\/usr\/bin\/node)((?: -\S+)*) (\/usr\/lib\/rackwitness\/\S+) "\$@"$/gm),
    ].pop();
    if (!exec) throw new Error(`unexpected /usr/bin/rackwitness:\n${wrapper}`);
    const flags = (exec[2] as string).split(' ').filter(Boolean);
    return {
      root,
      fenceAgent: join(root, 'usr/sbin/fence_rackwitness'),
      cli: [exec[1] as string, ...flags, join(root, exec[3] as string)],
    };
  })();
  return packaged;
}
