/**
 * Issue 12 item 5: a watchdog gate on gate.heartbeats must not stop the feed for good. Every
 * heartbeat src/ declares (HEARTBEATS) is gated on in the real daemon, with its service running:
 * each must actually be sent, so the watchdog feeds. A heartbeat declared but never sent fails
 * this test.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HEARTBEATS } from '../../../src/watchdog/heartbeat.js';
import { runCli } from '../../fixtures/cli.js';
import { freePort, until } from '../../fixtures/proc.js';
import { makeBox } from './daemon-harness.js';

describe('decision-loop heartbeats in the real daemon', () => {
  it('every declared heartbeat is sent: the watchdog gated on all of them feeds', async () => {
    const boothPort = await freePort('127.0.0.13');
    const box = await makeBox({
      fencingExtra: '  monitor_interval_s: 1\n  command_timeout_s: 1\n',
      extra: `arbitrator: {booth_config: BOOTHCONF, authfile: AUTHFILE, address: 127.0.0.13}
watchdog:
  mode: off
  feed_period_s: 0.5
  gate:
    heartbeats: [${Object.keys(HEARTBEATS)
      .map((n) => `{name: ${n}, max_age_s: 4}`)
      .join(', ')}]
`,
    });
    const conf = join(box.dir, 'booth.conf');
    const key = join(box.dir, 'booth.key');
    writeFileSync(key, 'heartbeat-test-booth-key-0123456789\n', { mode: 0o600 });
    writeFileSync(
      conf,
      `port = ${boothPort}\nsite = 127.0.0.11\nsite = 127.0.0.12\narbitrator = 127.0.0.13\nticket = "db"\n  expire = 12\n  timeout = 1\n  retries = 3\n`,
    );
    const { readFileSync } = await import('node:fs');
    writeFileSync(box.file, readFileSync(box.file, 'utf8').replace('BOOTHCONF', conf).replace('AUTHFILE', key));
    const daemon = await box.start();
    // watch it over several monitor periods: the beats must keep coming, not only once at start
    const seen: string[] = [];
    await until(
      async () => {
        const r = await runCli(['watchdog', 'status', '--json', '--config', box.file]);
        const s = JSON.parse(r.stdout) as { feeding: boolean; reason_code: string; reason?: string };
        seen.push(s.reason_code === 'ok' ? 'ok' : `${s.reason_code}: ${s.reason}`);
        return seen.length >= 6;
      },
      20_000,
      700,
    );
    expect(seen.filter((c) => c !== 'ok')).toEqual([]);
    await daemon.kill('SIGTERM');
  });

  it('config check refuses a heartbeat that no loop sends (it would stop the feed for good)', async () => {
    const box = await makeBox({
      extra: 'watchdog: {mode: off, gate: {heartbeats: [{name: election, max_age_s: 2}]}}\n',
    });
    const r = await runCli(['config', 'check', '--config', box.file]);
    expect(r.code).not.toBe(0);
    expect(r.stderr + r.stdout).toMatch(/watchdog\.gate\.heartbeats: heartbeat "election" is sent by no loop/);
  });
});
