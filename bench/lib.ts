/** Helpers shared by the benchmarks. */
import { readFileSync } from 'node:fs';

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
    const { join } = await import('node:path');
    const { cleanupDir, tempDir } = await import('../test/fixtures/proc.js');
    // removed when the benchmark file ends
    const dir = cleanupDir(tempDir('rw-bench-pkg-'));
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

/** CPU time (user + system, ms) of this process's waited-for children so far, from
 *  /proc/self/stat (cutime + cstime, clock ticks of 10 ms): the difference over N runs of a
 *  command divided by N is its CPU per run, a figure the machine's other load hardly changes
 *  (wall times on a busy 2-core machine do). Grandchildren count when their parent waited. */
export function childCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) * 10;
}

/** measure(), also returning the children's CPU per run (see childCpuMs). */
export async function measureWithCpu(
  runs: number,
  prepare: () => void,
  fn: () => Promise<unknown>,
): Promise<{ wall: number[]; cpuMs: number }> {
  const c0 = childCpuMs();
  const wall = await measure(runs, prepare, fn);
  return { wall, cpuMs: Math.round((childCpuMs() - c0) / runs) };
}
