/**
 * `rackwitness pg status` and `rackwitness pg preflight`.
 *
 * Both connect to the two nodes DIRECTLY with the config's pgsql section (one fresh poll, the same
 * collector, snapshot builder and core functions as the daemon), so they work when the daemon is
 * down and always judge fresh data. `--daemon` asks the running daemon instead (its service polls
 * once more and answers); that is also what happens automatically when the config observes the
 * demo's simulated rack, which only exists inside the daemon.
 *
 * Exit codes: status 0 rack ok, 1 degraded, 3 cannot observe (config, daemon); preflight 0 safe,
 * 1 not safe or undecidable; 2 usage errors (commander).
 */
import type { Command } from 'commander';
import { type ConfigOpts, loadFor, socketPath, withDaemonOptions } from '../cli/config-source.js';
import { reportConfigError } from '../cli/core-commands.js';
import { jsonText, table } from '../cli/output.js';
import { ConfigError } from '../config/errors.js';
import type { ControlParams, ControlResult } from '../daemon/control-protocol.js';
import type { PgsqlConfig } from './config.js';
import type { PreflightResult } from './observer/preflight.js';
import type { NodeView, RackSnapshot } from './observer/types.js';

type PgOpts = ConfigOpts & { json?: boolean; daemon?: boolean; to?: string };

class CliProblem extends Error {}

async function configSection(opts: PgOpts): Promise<PgsqlConfig> {
  const loaded = await loadFor(opts);
  const cfg = loaded.config.pgsql;
  if (!cfg) throw new CliProblem(`${loaded.source} has no pgsql section: nothing to observe`);
  return cfg;
}

async function viaDaemon<M extends 'pgsql.status' | 'pgsql.preflight'>(
  opts: PgOpts,
  method: M,
  params: ControlParams<M>,
): Promise<ControlResult<M>> {
  const { callDaemon } = await import('../cli/control-client.js');
  return callDaemon<M>(await socketPath(opts), method, params, 30_000);
}

/** One direct poll of both nodes; closes the connections before returning. */
async function observeDirect(cfg: PgsqlConfig): Promise<RackSnapshot> {
  const { pollRack, sourceFor } = await import('./service.js');
  const source = sourceFor(cfg, false);
  try {
    return (await pollRack(source, cfg, undefined, 1)).snapshot;
  } finally {
    await source.close();
  }
}

/** Direct poll, or the daemon's answer (with --daemon, or when the config observes the simulated rack). */
async function getSnapshot(opts: PgOpts): Promise<RackSnapshot> {
  // The demo's rack (real or simulated) is created by the demo daemon: ask it.
  if (opts.daemon || opts.demo) return viaDaemon(opts, 'pgsql.status', {});
  const cfg = await configSection(opts);
  if (cfg.simulated) {
    process.stderr.write(
      'rackwitness: pgsql observes the demo’s simulated rack, which lives in the daemon: asking the daemon\n',
    );
    return viaDaemon(opts, 'pgsql.status', {});
  }
  return observeDirect(cfg);
}

function errorText(e: unknown): string {
  if (e instanceof ConfigError)
    return `invalid config ${e.source}: ${e.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`;
  return e instanceof Error ? e.message : String(e);
}

function fail(e: unknown, code: number): void {
  if (reportConfigError(e)) {
    process.exitCode = code;
    return;
  }
  process.stderr.write(`rackwitness: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = code;
}

function fmtBytes(n: number | null): string {
  if (n === null) return '?';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function formatRackStatus(s: RackSnapshot): string {
  const head = `${s.source === 'simulated' ? '[SIMULATED rack] ' : ''}rack ${s.state.toUpperCase()}: ${s.summary}`;
  const rows: string[][] = [
    ['NODE', 'ADDRESS', 'ROLE', 'TL', 'POSITION', 'LAG', 'LAG_S', 'STREAMING', 'SYNC', 'SCORE'],
  ];
  const cell = (v: unknown) => (v === null || v === undefined ? '-' : String(v));
  for (const n of s.nodes as NodeView[]) {
    rows.push([
      n.name,
      `${n.host}:${n.port}`,
      n.role,
      cell(n.timeline),
      cell(n.position),
      n.lagBytes === null ? '-' : fmtBytes(n.lagBytes),
      n.lagSeconds === null ? '-' : n.lagSeconds.toFixed(1),
      n.role === 'standby' ? (n.streaming ? 'yes' : 'NO') : '-',
      cell(n.syncState),
      cell(n.score),
    ]);
  }
  const notes = s.nodes.filter((n) => n.reason).map((n) => `  ${n.name}: ${n.reason}`);
  const slots = s.nodes.flatMap((n) =>
    n.slots.map(
      (sl) =>
        `  ${n.name}: slot ${sl.name} ${sl.active ? 'active' : 'inactive'}, retains ${sl.retainedBytes === null ? '-' : fmtBytes(sl.retainedBytes)}`,
    ),
  );
  return [
    head,
    '',
    table(rows),
    ...(notes.length ? ['', 'notes:', ...notes] : []),
    ...(slots.length ? ['', 'replication slots:', ...slots] : []),
    ...(s.candidate ? ['', `failover candidate: ${s.candidate}`] : []),
    `observed at ${s.at}`,
    '',
  ].join('\n');
}

export function formatPreflight(r: PreflightResult): string {
  const lines = [`${r.safe ? 'SAFE' : 'NOT SAFE'}: ${r.summary}`, ''];
  for (const c of r.checks)
    lines.push(`  ${c.ok ? 'ok  ' : c.blocking ? 'FAIL' : 'warn'}  ${c.id.padEnd(20)} ${c.sentence}`);
  lines.push('', `observed at ${r.snapshotAt}`, '');
  return lines.join('\n');
}

export function registerPgsqlCli(program: Command): void {
  const pgCmd = program
    .command('pg')
    .description('the PostgreSQL rack as the box sees it: status and switchover preflight');

  withDaemonOptions(pgCmd.command('status'))
    .description(
      'roles, timelines, WAL positions, lag, slots and scores of both nodes; exit 0 ok, 1 degraded, 3 cannot observe',
    )
    .option('--json', 'machine-readable output (the snapshot)')
    .option('--daemon', 'ask the running daemon instead of connecting to the nodes directly')
    .action(async (opts: PgOpts) => {
      let s: RackSnapshot;
      try {
        s = await getSnapshot(opts);
      } catch (e) {
        if (opts.json) process.stdout.write(jsonText({ state: 'unknown', error: { message: errorText(e) } }));
        fail(e, 3);
        return;
      }
      process.stdout.write(opts.json ? jsonText(s) : formatRackStatus(s));
      process.exitCode = s.state === 'ok' ? 0 : 1;
    });

  withDaemonOptions(pgCmd.command('preflight'))
    .description('would a controlled switchover be lossless now? exit 0 safe, 1 not safe (every reason is printed)')
    .option('--to <node>', 'the standby to switch over to (default: the other node)')
    .option('--json', 'machine-readable output')
    .option('--daemon', 'ask the running daemon instead of connecting to the nodes directly')
    .action(async (opts: PgOpts) => {
      let r: PreflightResult;
      try {
        const params = opts.to === undefined ? {} : { to: opts.to };
        if (opts.daemon || opts.demo) {
          r = await viaDaemon(opts, 'pgsql.preflight', params);
        } else {
          const cfg = await configSection(opts);
          if (cfg.simulated) {
            process.stderr.write(
              'rackwitness: pgsql observes the demo’s simulated rack, which lives in the daemon: asking the daemon\n',
            );
            r = await viaDaemon(opts, 'pgsql.preflight', params);
          } else {
            const { preflight } = await import('./observer/preflight.js');
            const { preflightOptions } = await import('./service.js');
            r = preflight(await observeDirect(cfg), preflightOptions(cfg, opts.to));
          }
        }
      } catch (e) {
        fail(e, 1);
        return;
      }
      process.stdout.write(opts.json ? jsonText(r) : formatPreflight(r));
      process.exitCode = r.safe ? 0 : 1;
    });
}
