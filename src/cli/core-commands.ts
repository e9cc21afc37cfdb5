/** The commands of the foundation: run, status, events, config. */
import type { Command } from 'commander';
import { ConfigError } from '../config/errors.js';
import { EVENTS_FILE, type EventEntry, parseDuration, readEventsFile } from '../daemon/events.js';
import type { DaemonStatus } from '../daemon/service.js';
import { bytes, rackAlerts, rackView, span, when } from '../status/rack-view.js';
import {
  type ConfigOpts,
  configPath,
  loadFor,
  socketPath,
  withConfigOption,
  withDaemonOptions,
} from './config-source.js';
import { callDaemon, DaemonUnreachableError } from './control-client.js';
import { jsonText, renderDetails, snakeKeys, table } from './output.js';

/** Prints a config error the way every command does, and sets exit code 1. */
export function reportConfigError(e: unknown): boolean {
  if (!(e instanceof ConfigError)) return false;
  process.stderr.write(`rackwitness: invalid config ${e.source}:\n`);
  for (const p of e.problems) process.stderr.write(`  ${p.path}: ${p.message}\n`);
  process.exitCode = 1;
  return true;
}

export function registerCoreCli(program: Command): void {
  registerRun(program);
  registerStatus(program);
  registerEvents(program);
  registerConfig(program);
  registerTables(program);
  void configPath;
}

function registerRun(program: Command): void {
  withConfigOption(program.command('run'))
    .description('run the daemon in the foreground (systemd runs it as a Type=notify service)')
    .action(async (opts: ConfigOpts) => {
      const { runDaemon } = await import('./run.js');
      process.exitCode = await runDaemon(opts);
    });
}

function registerStatus(program: Command): void {
  withDaemonOptions(program.command('status'))
    .description('print the state of every service; exit 0 ok, 1 degraded, 2 failed, 3 daemon unreachable')
    .option('--json', 'machine-readable output')
    .action(statusCommand);
}

/** rackwitness status: exit 0 ok, 1 degraded, 2 failed, 3 daemon unreachable. */
async function statusCommand(opts: ConfigOpts & { json?: boolean }): Promise<void> {
  let status: DaemonStatus;
  try {
    status = await callDaemon(await socketPath(opts), 'status');
  } catch (e) {
    if (opts.json) {
      // scripts get an answer they can parse, and the Nagios "unknown" exit code
      const unreachable = e instanceof DaemonUnreachableError;
      process.stdout.write(
        jsonText({
          overall: 'unknown',
          error: {
            code: unreachable ? 'daemon_unreachable' : e instanceof ConfigError ? 'invalid_config' : 'daemon_error',
            message: e instanceof Error ? e.message : String(e),
            ...(unreachable ? { socket: e.socketPath } : {}),
          },
        }),
      );
      process.exitCode = 3;
      return;
    }
    if (reportConfigError(e)) {
      process.exitCode = 3;
      return;
    }
    process.stderr.write(`rackwitness: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 3;
    return;
  }
  if (opts.json) process.stdout.write(jsonText(status));
  else process.stdout.write(formatStatus(status));
  process.exitCode = { ok: 0, degraded: 1, failed: 2 }[status.overall];
}

function registerEvents(program: Command): void {
  withDaemonOptions(program.command('events'))
    .description(
      'print the decisions the box took, one sentence each (from the daemon, or from the state directory when it is not running)',
    )
    .option('--since <duration>', 'only events newer than this, e.g. 90s, 15m, 1h30m, 2d')
    .option('--json', 'one JSON object per line')
    .action(eventsCommand);
}

/** rackwitness events: from the daemon, or from the state directory when it is not running. */
async function eventsCommand(opts: ConfigOpts & { since?: string; json?: boolean }): Promise<void> {
  let sinceMs: number | undefined;
  if (opts.since !== undefined) {
    const d = parseDuration(opts.since);
    if (d === undefined) {
      process.stderr.write(`rackwitness: --since ${opts.since}: expected a duration like 90s, 15m, 1h30m, 2d\n`);
      process.exitCode = 2;
      return;
    }
    sinceMs = Date.now() - d;
  }
  let entries: EventEntry[];
  try {
    entries = await callDaemon(await socketPath(opts), 'events', sinceMs === undefined ? {} : { since_ms: sinceMs });
  } catch (e) {
    if (reportConfigError(e)) return;
    if (!(e instanceof DaemonUnreachableError)) throw e;
    // Post-mortem: the daemon is down; read its persisted log.
    const { join } = await import('node:path');
    const { existsSync } = await import('node:fs');
    const loaded = await loadFor(opts, { skipFileChecks: true });
    const file = join(loaded.config.box.state_dir, EVENTS_FILE);
    if (!existsSync(file)) {
      process.stderr.write(`rackwitness: ${e.message}; and no events file at ${file}\n`);
      process.exitCode = 1;
      return;
    }
    process.stderr.write(`rackwitness: daemon not running; reading ${file}\n`);
    entries = readEventsFile(file).filter((x) => sinceMs === undefined || Date.parse(x.ts) >= sinceMs);
  }
  for (const e of entries) {
    process.stdout.write(
      opts.json
        ? `${JSON.stringify(snakeKeys(e))}\n`
        : `${e.ts.replace('T', ' ').slice(0, 23)}  ${e.service.padEnd(10)} ${e.sentence}\n`,
    );
  }
}

function registerConfig(program: Command): void {
  const config = program.command('config').description('check, show and document the configuration');
  withConfigOption(config.command('check'))
    .description(
      'validate a config file: every problem with its YAML path, exit 1; a one-line summary and exit 0 when valid',
    )
    .action(async (opts: ConfigOpts) => {
      try {
        const loaded = await loadFor(opts);
        // the checks `run` makes before it starts anything (src/config/preflight.ts)
        const { preflight } = await import('../config/preflight.js');
        await preflight(loaded);
        process.stdout.write(`${summaryLine(loaded.source, loaded.config as unknown as Record<string, unknown>)}\n`);
      } catch (e) {
        if (!reportConfigError(e)) throw e;
      }
    });
  config
    .command('schema')
    .description('print the JSON Schema of the config file')
    .action(async () => {
      const { configJsonSchema } = await import('../config/json-schema.js');
      process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
    });
  config
    .command('docs')
    .description('print the config reference (Markdown) generated from the schema')
    .action(async () => {
      const { configDocs } = await import('../config/docs.js');
      process.stdout.write(configDocs());
    });
  withConfigOption(config.command('show'))
    .description(
      'print the effective config (file + environment + defaults) as JSON; it holds no secrets, only file names',
    )
    .action(async (opts: ConfigOpts) => {
      try {
        const loaded = await loadFor(opts, { skipFileChecks: true });
        process.stdout.write(`${JSON.stringify(loaded.config, null, 2)}\n`);
      } catch (e) {
        if (!reportConfigError(e)) throw e;
      }
    });
}

function registerTables(program: Command): void {
  const tables = program.command('tables').description('the decision tables: their rows, as docs or checked');
  tables
    .command('docs')
    .description('print docs/tables.md (Markdown) generated from the rows of every decision table')
    .action(async () => {
      const { tablesDocs } = await import('../decisions/registry.js');
      process.stdout.write(tablesDocs());
    });
  tables
    .command('check')
    .description('check every decision table is well formed (unique ids, comments, one catch-all per phase)')
    .action(async () => {
      const { TABLES } = await import('../decisions/registry.js');
      const problems = TABLES.flatMap((t) => t.problems());
      for (const p of problems) process.stderr.write(`${p}\n`);
      if (problems.length > 0) process.exitCode = 1;
      else process.stdout.write(`ok: ${TABLES.length} decision tables well formed\n`);
    });
}

/** "ok: FILE: box witness; services status, fencing (2 targets)". */
export function summaryLine(source: string, config: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(config)) {
    if (!v || typeof v !== 'object' || !('enabled' in v) || !(v as { enabled: boolean }).enabled) continue;
    const targets = (v as { targets?: unknown }).targets;
    const n = Array.isArray(targets)
      ? targets.length
      : targets && typeof targets === 'object'
        ? Object.keys(targets).length
        : undefined;
    parts.push(n === undefined ? k : `${k} (${n} target${n === 1 ? '' : 's'})`);
  }
  const box = (config.box as { name: string }).name;
  return `ok: ${source}: box ${box}; services: ${parts.join(', ') || 'none'}`;
}

/**
 * The rack at a glance, as the status page shows it (src/status/rack-view.ts): one row per node
 * (power, last fence, PostgreSQL role, timeline, lag, promotion score), what must not be missed,
 * the tickets and their holder, the watchdog and why it feeds, the quorum device when one runs.
 */
export function formatRack(s: DaemonStatus, now = new Date()): string[] {
  const v = rackView(s, [], now);
  const lines: string[] = [];
  if (v.nodes.length) {
    lines.push(
      ...table([
        ['NODE', 'POWER', 'LAST FENCE', 'POSTGRESQL', 'TL', 'LAG', 'SCORE'],
        ...v.nodes.map((n) => {
          const f = n.last_fence;
          const p = n.pg;
          return [
            n.name,
            n.fenced_by_box
              ? `${n.power ?? 'unknown'}${n.fencing ? (n.fencing.stage === 'fence' ? ' (FENCING)' : ' (FENCED)') : ''}`
              : '-',
            f
              ? `${f.action} ${f.result} ${when(f.at, now)}${f.level !== null ? ` level ${f.level}` : ''}${f.power_on ? `, power-on ${f.power_on}` : ''}`
              : n.fenced_by_box
                ? 'none'
                : '-',
            p ? p.role : '-',
            p?.timeline !== null && p?.timeline !== undefined ? String(p.timeline) : '-',
            p?.role === 'standby'
              ? `${bytes(p.lag_bytes)}, ${p.lag_seconds ?? '-'} s, ${p.streaming ? `streaming${p.sync ? ` (${p.sync})` : ''}` : 'NOT streaming'}`
              : '-',
            p?.score !== null && p?.score !== undefined ? String(p.score) : '-',
          ];
        }),
      ]).split('\n'),
    );
  }
  for (const a of rackAlerts(v, now)) lines.push(`  ! ${a.text}`);
  if (v.pg?.summary) lines.push(`PostgreSQL: ${v.pg.summary}`);
  if (v.tickets?.length) {
    lines.push(
      '',
      ...table([
        ['TICKET', 'HOLDER', 'STATE', 'EXPIRES', 'TERM'],
        ...v.tickets.map((k) => [
          k.name,
          k.holder ? `${k.holder}${k.holder_kind ? ` (${k.holder_kind})` : ''}` : 'nobody',
          k.state,
          k.expires_in_s !== null ? `in ${span(k.expires_in_s)}` : '-',
          k.term !== null ? String(k.term) : '-',
        ]),
      ]).split('\n'),
    );
  }
  if (v.watchdog)
    lines.push(
      '',
      `watchdog: ${v.watchdog.feeding === null ? 'UNKNOWN' : v.watchdog.feeding ? 'FEEDING' : 'NOT FEEDING'}: ${v.watchdog.reason}`,
    );
  if (v.quorum)
    lines.push(
      `quorum device (${v.quorum.service.name}): ${v.quorum.service.health.state}${v.quorum.service.health.reason ? `: ${v.quorum.service.health.reason}` : ''}`,
    );
  return lines;
}

export function formatStatus(s: DaemonStatus, now = new Date()): string {
  const lines = [
    `rackwitness ${s.version} on ${s.box}${s.demo ? ' (demo)' : ''}: ${s.overall.toUpperCase()}  (pid ${s.pid}, up ${s.uptime_s} s)`,
  ];
  for (const p of s.problems) lines.push(`  ! ${p}`);
  const rack = formatRack(s, now);
  if (rack.length) lines.push('', ...rack);
  lines.push(
    '',
    table([
      ['SERVICE', 'STATE', 'REASON'],
      ...s.services.map((svc) => [
        `${svc.name}${svc.optional ? ' (optional)' : ''}`,
        svc.health.state,
        svc.health.reason ?? '',
      ]),
    ]),
  );
  for (const svc of s.services) {
    const details = renderDetails(snakeKeys(svc.snapshot));
    if (details.length) lines.push('', `${svc.name}:`, ...details);
  }
  return `${lines.join('\n')}\n`;
}
