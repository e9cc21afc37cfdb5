/**
 * `rackwitness fence <target> --action off|on|reboot|status [--json]`: runs a fence operation
 * through the daemon and prints the verified result. `rackwitness fence history [--json]`
 * prints the journal (from the daemon, or from the state directory when it is not running).
 * `rackwitness fence` alone prints the targets, their levels, power and last operation.
 *
 * Exit codes: 0 success (status: on), 2 status: off, 1 failed or refused, 3 daemon unreachable,
 * 2 usage error.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { type ConfigOpts, loadFor, socketPath, withDaemonOptions } from '../../cli/config-source.js';
import { callDaemon, DaemonUnreachableError } from '../../cli/control-client.js';
import { reportConfigError } from '../../cli/core-commands.js';
import { jsonText, table } from '../../cli/output.js';
import { fenceActions } from '../decisions/core.js';
import { type HistoryEntry, JOURNAL_FILE, readJournalFile } from '../journal.js';

interface FenceOpts extends ConfigOpts {
  action?: string;
  json?: boolean;
  limit?: string;
  target?: string;
}

/** Long enough for several levels of power timeouts and a boot delay; the daemon bounds the operation. */
const RUN_TIMEOUT_MS = 30 * 60_000;

export function registerFencingCli(program: Command): void {
  withDaemonOptions(program.command('fence'))
    .description(
      'fence a node through the daemon (`fence <target> --action off|on|reboot|status`), show the journal (`fence history`), or the fencing status (`fence`)',
    )
    .argument('[target]', 'cluster node name, or "history"')
    .option('-o, --action <action>', `one of ${fenceActions.join(', ')}`)
    .option('--json', 'machine-readable output')
    .option('--limit <n>', 'history: number of operations (newest first)', '50')
    .option('--target <node>', 'history: only this target')
    .action(async (target: string | undefined, opts: FenceOpts) => {
      try {
        if (target === 'history') await history(opts);
        else if (target === undefined) await status(opts);
        else await run(target, opts);
      } catch (e) {
        if (reportConfigError(e)) return;
        process.stderr.write(`rackwitness: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exitCode = e instanceof DaemonUnreachableError ? 3 : 1;
      }
    });
}

async function run(target: string, opts: FenceOpts): Promise<void> {
  const action = fenceActions.find((a) => a === opts.action);
  if (!action) {
    process.stderr.write(`rackwitness: fence ${target}: give --action ${fenceActions.join('|')}\n`);
    process.exitCode = 2;
    return;
  }
  const res = await callDaemon(
    await socketPath(opts),
    'fence.run',
    { target, action, user: process.env.SUDO_USER ?? process.env.USER ?? 'unknown' },
    RUN_TIMEOUT_MS,
  );
  if (opts.json) process.stdout.write(jsonText(res));
  else {
    const head = res.result === 'success' ? 'OK' : res.result === 'refused' ? 'REFUSED' : 'FAILED';
    process.stdout.write(
      `${head}: ${res.action} ${res.target}${res.power ? ` → power ${res.power}` : ''}${res.level ? ` (level ${res.level})` : ''} in ${(res.duration_ms / 1000).toFixed(1)} s\n` +
        `  ${res.reason}${res.note ? ` (${res.note})` : ''}\n` +
        (res.verified_by ? `  verified: ${res.verified_by}\n` : '') +
        (res.joined ? '  (joined an operation already running for this target)\n' : ''),
    );
  }
  if (res.result !== 'success') process.exitCode = 1;
  else if (res.action === 'status' && res.power === 'off') process.exitCode = 2;
  else process.exitCode = 0;
}

async function history(opts: FenceOpts): Promise<void> {
  const limit = Number(opts.limit ?? 50);
  if (!Number.isInteger(limit) || limit < 1) {
    process.stderr.write(`rackwitness: --limit ${opts.limit}: expected a positive integer\n`);
    process.exitCode = 2;
    return;
  }
  let entries: HistoryEntry[];
  try {
    const r = await callDaemon(await socketPath(opts), 'fence.history', {
      limit,
      ...(opts.target ? { target: opts.target } : {}),
    });
    entries = r.entries;
  } catch (e) {
    if (!(e instanceof DaemonUnreachableError)) throw e;
    // post-mortem: read the journal from the state directory
    const loaded = await loadFor(opts, { skipFileChecks: true });
    const file = join(loaded.config.box.state_dir, JOURNAL_FILE);
    process.stderr.write(`rackwitness: daemon not running; reading ${file}\n`);
    entries = readJournalFile(file)
      .filter((h) => !opts.target || h.target === opts.target)
      .reverse()
      .slice(0, limit);
  }
  if (opts.json) {
    process.stdout.write(jsonText(entries));
    return;
  }
  if (entries.length === 0) {
    process.stderr.write('no fence operations recorded\n');
    return;
  }
  const rows = [['WHEN', 'TARGET', 'ACTION', 'RESULT', 'TOOK', 'LEVEL', 'REQUESTED BY', 'DETAIL']];
  for (const h of entries) {
    const when = (h.started ?? h.finished ?? '').replace('T', ' ').slice(0, 19);
    const who = h.requester
      ? `${h.requester.via}${h.requester.addr ? ` ${h.requester.addr}` : ''}${h.requester.who ? ` (${h.requester.who})` : ''}`
      : '?';
    const dur = h.duration_ms !== undefined ? `${(h.duration_ms / 1000).toFixed(1)} s` : '-';
    const detail = [h.reason ?? '', h.verified_by ? `verified: ${h.verified_by}` : ''].filter(Boolean).join('; ');
    rows.push([
      when,
      h.target,
      h.action,
      h.result.toUpperCase(),
      dur,
      h.level === undefined ? '-' : String(h.level),
      who,
      detail,
    ]);
  }
  process.stdout.write(`${table(rows)}\n`);
}

async function status(opts: FenceOpts): Promise<void> {
  const s = await callDaemon(await socketPath(opts), 'fence.status');
  if (opts.json) {
    process.stdout.write(jsonText(s));
    return;
  }
  for (const [name, t] of Object.entries(s.targets ?? {})) {
    const last = t.last_operation;
    process.stdout.write(
      `${name}: power ${t.power}${t.in_progress ? `, ${t.in_progress.action} in progress` : ''}${last ? `; last ${String(last.action)} ${String(last.result)} at ${String(last.at)}` : ''}\n`,
    );
    for (const l of t.levels) process.stdout.write(`  level ${l.level}: ${l.plugs.join(' + ')}\n`);
  }
  for (const [name, d] of Object.entries(s.devices ?? {})) {
    process.stdout.write(
      `device ${name} (${d.family}): ${d.up === undefined ? 'not checked yet' : d.up ? 'up' : `DOWN${d.error ? `: ${d.error}` : ''}`}\n`,
    );
  }
}
