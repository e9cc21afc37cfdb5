/**
 * `rackwitness watchdog status|test` through the real daemon (dist/cli/main.js run) and its
 * control socket, with a FIFO + recorder standing in for the device.
 */
import { execFile, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { makeWatchdogTree } from '../../fixtures/fake-sysfs.js';
import { cleanupDir, sleep, spawnProc, tempDir, until } from '../../fixtures/proc.js';

const CLI = resolve('dist/cli/main.js');
const RECORDER = resolve('test/fixtures/fifo-recorder.mjs');
const run = promisify(execFile);

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run('node', [CLI, ...args], { timeout: 30_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

describe('rackwitness watchdog (CLI through the daemon)', () => {
  it('shows status, refuses a test without --yes, and a test stops the feed on purpose', async () => {
    const dir = cleanupDir(tempDir('rwwd-cli-'));
    const fifo = join(dir, 'watchdog0');
    execFileSync('mkfifo', [fifo]);
    makeWatchdogTree(dir, 'watchdog0', { timeout: 10, identity: 'FIFO stand-in' });
    const sock = join(dir, 'control.sock');
    const cfg = join(dir, 'rackwitness.yaml');
    writeFileSync(
      cfg,
      [
        'box: { name: rwwd, state_dir: ./state }',
        'control: { socket: ./control.sock }',
        'status: { enabled: false }',
        'watchdog:',
        '  mode: required',
        '  device: ./watchdog0',
        '  sysfs_root: .',
        '  feed_period_s: 0.2',
        '',
      ].join('\n'),
    );
    const rec = spawnProc('node', [RECORDER, fifo]);
    await rec.waitFor(/^READY$/m);
    const daemon = spawnProc('node', [CLI, 'run', '-c', cfg], { env: { ...process.env, RW_READY_LINE: '1' } });
    await daemon.waitFor(/^READY \d+$/m, 30_000);

    const st = await cli(['watchdog', 'status', '--json', '--socket', sock]);
    expect(st.code).toBe(0);
    const snap = JSON.parse(st.stdout) as Record<string, unknown>;
    expect(snap).toMatchObject({
      mode: 'required',
      device: fifo,
      device_open: true,
      identity: 'FIFO stand-in',
      timeout_s: 10,
      feeding: true,
    });

    const noYes = await cli(['watchdog', 'test', '--socket', sock]);
    expect(noYes.code).toBe(2);
    expect(noYes.stderr).toMatch(/add --yes/);

    const test = await cli(['watchdog', 'test', '--yes', '--no-wait', '--socket', sock]);
    expect(test.code).toBe(0);
    expect(JSON.parse(test.stdout)).toMatchObject({
      hardware: true,
      device: fifo,
      timeout_s: 10,
      expect: 'reset within 10 s',
    });
    const after = await cli(['watchdog', 'status', '--json', '--socket', sock]);
    expect(after.code).toBe(1);
    const stopped = JSON.parse(after.stdout) as { feeding: boolean; reason: string; feeds: number };
    expect(stopped).toMatchObject({
      feeding: false,
      reason: 'a watchdog test was requested: feeding stopped on purpose',
    });
    // the device saw exactly the feeds the daemon counted, and no more after the test began
    const keepalives = () =>
      [...rec.output().matchAll(/^DATA ((?:00)+) /gm)].reduce((n, m) => n + (m[1] as string).length / 2, 0);
    await until(() => keepalives() >= stopped.feeds, 5000);
    await sleep(800); // kept: "no feed for four periods" is the behaviour under test
    expect(keepalives()).toBe(stopped.feeds);

    await daemon.kill('SIGTERM');
    await until(() => /^EOF /m.test(rec.output()), 5000);
    expect(rec.output()).toMatch(/^DATA 56 \d+\nEOF/m);
  });
});
