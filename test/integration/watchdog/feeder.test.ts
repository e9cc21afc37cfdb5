/**
 * The watchdog feeder in a real child process, with a FIFO standing in for /dev/watchdog and a
 * recorder process holding the read end (every byte, and EOF = the device was closed). A fake
 * sysfs tree supplies the effective timeout. Assertions are on counts and bytes, not timing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeWatchdogTree } from '../../fixtures/fake-sysfs.js';
import { cleanupDir, onCleanup, type Spawned, sleep, spawnProc, tempDir, until } from '../../fixtures/proc.js';

const OUT = resolve('.tmp', `rwwd-host-${process.pid}`);
const HOST = join(OUT, 'test', 'fixtures', 'watchdog-host.js');
const RECORDER = resolve('test/fixtures/fifo-recorder.mjs');

beforeAll(() => {
  mkdirSync(OUT, { recursive: true });
  onCleanup(() => rmSync(OUT, { recursive: true, force: true }));
  try {
    execFileSync(
      'npx',
      [
        'tsc',
        '--ignoreConfig',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--target',
        'es2022',
        '--skipLibCheck',
        '--types',
        'node',
        '--outDir',
        OUT,
        '--rootDir',
        '.',
        'test/fixtures/watchdog-host.ts',
      ],
      { stdio: 'pipe' },
    );
  } catch {
    // type errors elsewhere in the tree still emit JavaScript; the file check below decides
  }
  if (!existsSync(HOST)) throw new Error(`could not compile the watchdog host to ${HOST}`);
});

interface Rig {
  dir: string;
  fifo: string;
  recorder: Spawned;
  host: Spawned;
  /** Bytes the recorder saw, in order. */
  bytes(): string[];
  keepalives(): number;
  eof(): boolean;
  fed(line: RegExp): Promise<number>;
}

function parseBytes(out: string): string[] {
  const bytes: string[] = [];
  for (const m of out.matchAll(/^DATA ([0-9a-f]+) \d+$/gm)) {
    const hex = m[1] as string;
    for (let i = 0; i < hex.length; i += 2) bytes.push(hex.slice(i, i + 2));
  }
  return bytes;
}

async function rig(opts: {
  watchdog?: Record<string, unknown>;
  gated?: string[];
  timeout?: number;
  noReader?: boolean;
}): Promise<Rig> {
  const dir = cleanupDir(tempDir('rwwd-fifo-'));
  const fifo = join(dir, 'watchdog0');
  execFileSync('mkfifo', [fifo]);
  makeWatchdogTree(dir, 'watchdog0', { timeout: opts.timeout ?? 2, identity: 'FIFO stand-in' });
  const recorder = spawnProc('node', [RECORDER, fifo]);
  if (!opts.noReader) await recorder.waitFor(/^READY$/m);
  else await recorder.kill('SIGKILL');
  const config = {
    watchdog: {
      mode: 'required',
      device: fifo,
      sysfs_root: dir,
      sysfs_name: 'watchdog0',
      timeout_s: 2,
      feed_period_s: 0.05,
      gate: { max_loop_lag_ms: 1000 },
      ...opts.watchdog,
    },
  };
  const host = spawnProc('node', [HOST, JSON.stringify({ config, gated: opts.gated ?? ['fencing', 'arbitrator'] })], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const r: Rig = {
    dir,
    fifo,
    recorder,
    host,
    bytes: () => parseBytes(recorder.output()),
    keepalives: () => r.bytes().filter((b) => b === '00').length,
    eof: () => /^EOF \d+$/m.test(recorder.output()),
    fed: async (re) => Number((await host.waitFor(re))[1]),
  };
  return r;
}

function send(r: Rig, line: string): void {
  r.host.child.stdin?.write(`${line}\n`);
}

describe('watchdog feeder against a FIFO device', () => {
  it('feeds at its cadence, stops within one tick when a gated service fails, resumes, and magic-closes on SIGTERM', async () => {
    const r = await rig({});
    await r.host.waitFor(/^STARTED$/m);
    await until(() => r.keepalives() >= 10, 15_000);
    // cadence, count-based: over a measured window the number of keepalives is bounded by
    // window/period (+1) from above (never floods) and is not zero
    const k0 = r.keepalives();
    const t0 = performance.now();
    await sleep(500); // kept: the measured window (cadence is counted over time)
    await until(() => r.keepalives() > k0, 5000);
    const k1 = r.keepalives();
    const window = performance.now() - t0 + 50;
    expect(k1 - k0).toBeGreaterThan(0);
    // (+4: bytes written just before t0 that the polling recorder had not read yet)
    expect(k1 - k0).toBeLessThanOrEqual(Math.ceil(window / 50) + 4);
    expect(r.bytes().every((b) => b === '00')).toBe(true);

    send(r, 'health fencing failed');
    const fedAtFlip = await r.fed(/^ACK health fed=(\d+)$/m);
    await r.host.waitFor(/^EVENT watchdog\.feed-stopped .*service fencing is failed/m);
    await until(() => r.keepalives() >= fedAtFlip, 5000); // the recorder caught up
    await sleep(400); // kept: "no feed for 8 periods" is the behaviour under test
    expect(r.keepalives()).toBe(fedAtFlip);
    expect(r.eof()).toBe(false); // not feeding does not disarm: the fd stays open

    send(r, 'health fencing ok');
    await r.host.waitFor(/^EVENT watchdog\.feed-resumed/m);
    await until(() => r.keepalives() > fedAtFlip + 2, 10_000);

    await r.host.kill('SIGTERM');
    expect(r.host.output()).toMatch(/^STOPPED$/m);
    expect((await r.host.exited).code).toBe(0);
    await until(() => r.eof(), 5000);
    expect(r.bytes().at(-1)).toBe('56'); // 'V' right before the close
    expect(r.bytes().filter((b) => b === '56')).toHaveLength(1);
  });

  it('does not feed while the event loop is blocked nor on the first late tick after it, and stops when the decision loop stalls while timers still fire', async () => {
    const r = await rig({
      watchdog: { gate: { max_loop_lag_ms: 1000, heartbeats: [{ name: 'decision', max_age_s: 0.3 }] } },
    });
    await r.host.waitFor(/^STARTED$/m);
    await until(() => r.keepalives() >= 5, 15_000);

    send(r, 'block 2000');
    const before = await r.fed(/^ACK block fed=(\d+)$/m);
    const after = await r.fed(/^UNBLOCKED fed=(\d+)$/m);
    expect(after).toBe(before);
    await r.host.waitFor(/^EVENT watchdog\.feed-stopped .*event loop was blocked: this tick ran \d+ ms late/m);
    await r.host.waitFor(/^EVENT watchdog\.feed-resumed/m);
    await until(() => r.keepalives() > before + 2, 10_000);

    send(r, 'stall');
    const atStall = await r.fed(/^ACK stall fed=(\d+)$/m);
    await r.host.waitFor(/^EVENT watchdog\.feed-stopped .*decision loop "decision" last beat/m);
    send(r, 'snapshot');
    const snap = JSON.parse((await r.host.waitFor(/^SNAP (.*)$/m))[1] as string) as {
      feeds: number;
      reason_code: string;
    };
    expect(snap.reason_code).toBe('heartbeat');
    // only the ticks inside the 0.3 s heartbeat window fed after the stall, then none: the
    // device saw exactly the feeds counted when the feed stopped, and no more
    expect(snap.feeds - atStall).toBeLessThanOrEqual(Math.ceil(300 / 50) + 1);
    await until(() => r.keepalives() >= snap.feeds, 5000);
    await sleep(400); // kept: "no feed for 8 periods" is the behaviour under test
    expect(r.keepalives()).toBe(snap.feeds);
    await r.host.kill('SIGTERM');
  });

  it('closes without the magic byte when killed with SIGKILL (the hardware would reset)', async () => {
    const r = await rig({});
    await r.host.waitFor(/^STARTED$/m);
    await until(() => r.keepalives() >= 3, 15_000);
    await r.host.kill('SIGKILL');
    await until(() => r.eof(), 5000);
    expect(r.bytes()).not.toContain('56');
  });

  it('closes without the magic byte on an uncaught exception and exits non-zero', async () => {
    const r = await rig({});
    await r.host.waitFor(/^STARTED$/m);
    await until(() => r.keepalives() >= 3, 15_000);
    send(r, 'throw');
    const { code } = await r.host.exited;
    expect(code).not.toBe(0);
    expect(r.host.output()).toMatch(/simulated crash/);
    await until(() => r.eof(), 5000);
    expect(r.bytes()).not.toContain('56');
  });

  it('refuses to start in required mode when the device cannot be opened, naming the device', async () => {
    const r = await rig({ noReader: true });
    const { code } = await r.host.exited;
    expect(code).toBe(1);
    expect(r.host.output()).toMatch(new RegExp(`START-FAILED watchdog device ${r.fifo}: cannot open.*required`));
  });

  it('refuses to start in required mode when the effective timeout exceeds the safety bound, before arming', async () => {
    const r = await rig({ timeout: 30 });
    const { code } = await r.host.exited;
    expect(code).toBe(1);
    expect(r.host.output()).toMatch(
      /START-FAILED watchdog device .*effective timeout 30 s \(sysfs\) exceeds safety_bound_s 15/,
    );
    // kept: the process has exited; a grace for the FIFO recorder to report a byte had one been
    // written (nothing to wait for when, as expected, nothing was)
    await sleep(200);
    expect(r.bytes()).toEqual([]); // never opened, never fed
  });

  it('runs degraded without the device in automatic mode', async () => {
    const r = await rig({ noReader: true, watchdog: { mode: 'automatic' } });
    await r.host.waitFor(/^STARTED$/m);
    send(r, 'snapshot');
    const snap = JSON.parse((await r.host.waitFor(/^SNAP (.*)$/m))[1] as string) as {
      device_open: boolean;
      problem: string;
      feeding: boolean;
    };
    expect(snap.device_open).toBe(false);
    expect(snap.problem).toMatch(/cannot open/);
    expect(snap.feeding).toBe(true); // the gate still passes: systemd pings continue
    await r.host.kill('SIGTERM');
  });
});
