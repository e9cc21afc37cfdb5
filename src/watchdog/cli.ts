/**
 * `rackwitness watchdog status [--json]` and `rackwitness watchdog test --yes`, through the
 * daemon's control socket (the daemon owns the device; the CLI never opens it).
 * Exit codes: status 0 feeding (or mode off), 1 not feeding / degraded, 3 daemon unreachable;
 * test 0 when the expected reset/restart happened (the daemon went away), 1 when the box was
 * still answering after the deadline (watchdog unsuitable), 2 usage, 3 unreachable at start.
 */
import type { Command } from 'commander';
import { type ConfigOpts, socketPath, withDaemonOptions } from '../cli/config-source.js';
import { callDaemon, DaemonUnreachableError } from '../cli/control-client.js';
import type { WatchdogSnapshot, WatchdogTestResult } from './service.js';

function fmtStatus(s: WatchdogSnapshot): string {
  const lines = [
    `mode:            ${s.mode}`,
    `device:          ${s.device ?? '(none)'}${s.device_open ? ' (open)' : s.device ? ' (not open)' : ''}`,
  ];
  if (s.identity) lines.push(`identity:        ${s.identity}`);
  lines.push(
    `timeout:         ${s.timeout_s === null ? '-' : `${s.timeout_s} s (${s.timeout_source})`}${s.nowayout ? ', nowayout' : ''}`,
    `feed period:     ${s.feed_period_s} s`,
    `feeding:         ${s.feeding ? 'yes' : 'NO'} — ${s.reason}`,
    `last feed:       ${s.last_feed_age_s === null ? 'never' : `${s.last_feed_age_s} s ago`} (${s.feeds} feeds, longest interval ${s.max_feed_interval_s ?? '-'} s)`,
    `gated services:  ${s.gated_services.length ? s.gated_services.join(', ') : '(none)'}`,
    `gpio strobe:     ${s.gpio_strobe ?? '(none)'}`,
    `systemd pings:   ${s.systemd_watchdog_s === null ? 'off (no WatchdogSec)' : `WatchdogSec=${s.systemd_watchdog_s}s`}`,
  );
  if (s.problem) lines.push(`problem:         ${s.problem}`);
  if (s.testing) lines.push('test:            in progress (feeding stopped on purpose)');
  return `${lines.join('\n')}\n`;
}

export function registerWatchdogCli(program: Command): void {
  const wd = program.command('watchdog').description('the hardware watchdog fed by the daemon');

  withDaemonOptions(wd.command('status'))
    .description('show mode, device, effective timeout, last feed and why the box is or is not feeding')
    .option('--json', 'machine-readable output')
    .action(async (opts: ConfigOpts & { json?: boolean }) => {
      let s: WatchdogSnapshot;
      try {
        s = await callDaemon(await socketPath(opts), 'watchdog.status');
      } catch (e) {
        process.stderr.write(`rackwitness: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exitCode = 3;
        return;
      }
      process.stdout.write(opts.json ? `${JSON.stringify(s, null, 2)}\n` : fmtStatus(s));
      process.exitCode = s.mode === 'off' || (s.feeding && !s.problem) ? 0 : 1;
    });

  withDaemonOptions(wd.command('test'))
    .description('stop feeding on purpose and report whether the box resets (like sbd test-watchdog)')
    .option('--yes', 'confirm: the box WILL reset (or the daemon be restarted) if the watchdog works')
    .option('--no-wait', 'return after the daemon stopped feeding instead of watching for the reset')
    .action(async (opts: ConfigOpts & { yes?: boolean; wait?: boolean }) => {
      if (!opts.yes) {
        process.stderr.write(
          'rackwitness: watchdog test resets this box when the watchdog works; add --yes to proceed\n',
        );
        process.exitCode = 2;
        return;
      }
      const sock = await socketPath(opts);
      let r: WatchdogTestResult;
      try {
        r = await callDaemon(sock, 'watchdog.test', { yes: true });
      } catch (e) {
        process.stderr.write(`rackwitness: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exitCode = e instanceof DaemonUnreachableError ? 3 : 1;
        return;
      }
      process.stderr.write(
        `rackwitness: feeding stopped on purpose${r.device ? ` (${r.device}, timeout ${r.timeout_s} s)` : ''}; expected: ${r.expect}\n`,
      );
      if (opts.wait === false || r.give_up_after_s === 0) {
        process.stdout.write(`${JSON.stringify(r)}\n`);
        process.exitCode = r.give_up_after_s === 0 ? 1 : 0;
        return;
      }
      const end = performance.now() + r.give_up_after_s * 1000;
      while (performance.now() < end) {
        await new Promise((res) => setTimeout(res, 1000));
        try {
          await callDaemon(sock, 'watchdog.status', {}, 2000);
        } catch (e) {
          if (e instanceof DaemonUnreachableError) {
            process.stdout.write('the daemon went away: the watchdog acted as expected\n');
            process.exitCode = 0;
            return;
          }
        }
      }
      process.stdout.write(
        `FAILED: still running ${r.give_up_after_s} s after the last feed; the watchdog did not act (${r.expect} was expected)\n`,
      );
      process.exitCode = 1;
    });
}
