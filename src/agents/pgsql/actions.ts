/**
 * The OCF actions of rackwitness-pgsqlms. I/O goes through PgEdge (PostgreSQL binaries) and
 * Attributes (crm_attribute); every decision is one of the pure cores in ../core/. Semantics follow
 * PAF (pgsqlms 2.3) where PAF is right, and deviate where its issues showed it wrong: bounded
 * waits, max(received, replayed) positions, rejoin with pg_rewind, diverged nodes never promoted.
 */
import { chownSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type {
  Classification,
  ClusterState,
  ControlData,
  HistoryEntry,
  NodePosition,
  RejoinDecision,
  SwitchoverVerdict,
} from '../../pgsql/core/index.js';
import {
  aloneInCluster,
  checkSwitchover,
  classifyInstance,
  classifyTransition,
  computeScores,
  decideBootstrap,
  decideLoneStandby,
  decideRejoin,
  decodePosition,
  electCandidate,
  electionNodes,
  encodePosition,
  firstSegmentStart,
  formatLsn,
  maxLsn,
  newestTimeline,
  OCF,
  parseLsn,
  parseNotifyEnv,
  parseTimelineHistory,
  parseWaldump,
  walEnd,
} from '../../pgsql/core/index.js';
import { Attributes } from './attrs.js';
import type { Logger } from './io.js';
import { Deadline, isExecutable, PgEdge, parseConninfo, run, splitOpts } from './io.js';
import type { AgentParams, ParamError } from './params.js';

export interface AgentContext {
  env: Readonly<Record<string, string | undefined>>;
  action: string;
  p: AgentParams;
  paramErrors: ParamError[];
  node: string;
  resource: string;
  deadline: Deadline;
  pg: PgEdge;
  attrs: Attributes;
  log: Logger;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Says why an action failed: Pacemaker shows ocf-exit-reason lines in crm_mon. */
function fail(ctx: AgentContext, rc: number, reason: string): number {
  ctx.log.error(reason);
  process.stderr.write(`ocf-exit-reason:${reason}\n`);
  return rc;
}

const REQUIRED_BINARIES = ['pg_ctl', 'psql', 'pg_controldata', 'pg_isready', 'pg_waldump', 'postgres'];

/** Cheap checks done before every action (except meta-data/methods). */
export function lightValidate(ctx: AgentContext): { rc: number; reason: string } {
  const err = ctx.paramErrors[0];
  if (err) return { rc: OCF.ERR_CONFIGURED, reason: err.message };
  for (const b of REQUIRED_BINARIES) {
    if (!isExecutable(ctx.pg.bin(b)))
      return { rc: OCF.ERR_INSTALLED, reason: `${b} is not executable in bindir=${ctx.p.bindir}` };
  }
  if (!existsSync(join(ctx.p.datadir, 'PG_VERSION'))) {
    return { rc: OCF.ERR_ARGS, reason: `datadir=${ctx.p.datadir} is not a PostgreSQL data directory (no PG_VERSION)` };
  }
  if (!existsSync(ctx.p.pgdata)) return { rc: OCF.ERR_ARGS, reason: `pgdata=${ctx.p.pgdata} does not exist` };
  return { rc: OCF.SUCCESS, reason: '' };
}

/** validate-all: everything PAF checks (PG12+), plus the configured port. */
export async function validateAll(ctx: AgentContext): Promise<number> {
  const light = lightValidate(ctx);
  if (light.rc !== OCF.SUCCESS) return fail(ctx, light.rc, light.reason);
  const env = ctx.env;
  if (env.OCF_RESKEY_CRM_meta_clone_max !== undefined) {
    if ((env.OCF_RESKEY_CRM_meta_notify ?? '').toLowerCase() !== 'true') {
      return fail(
        ctx,
        OCF.ERR_CONFIGURED,
        'the clone must be configured with notify=true (the election and the switchover check run in notifications)',
      );
    }
    const pmax = env.OCF_RESKEY_CRM_meta_promoted_max ?? env.OCF_RESKEY_CRM_meta_master_max;
    if (pmax !== undefined && pmax !== '1')
      return fail(ctx, OCF.ERR_CONFIGURED, `promoted-max is ${pmax}: exactly one primary is supported`);
  }
  const major = Number.parseInt(readFileSync(join(ctx.p.datadir, 'PG_VERSION'), 'utf8'), 10);
  if (!(major >= 12))
    return fail(ctx, OCF.ERR_INSTALLED, `PostgreSQL ${major} is not supported (12 or later required)`);
  for (const f of ['recovery.conf', 'recovery.conf.pcmk']) {
    if (existsSync(join(ctx.p.datadir, f)))
      return fail(
        ctx,
        OCF.ERR_ARGS,
        `${join(ctx.p.datadir, f)} must not exist on PostgreSQL 12+ (remove it; standby.signal is used)`,
      );
  }
  if (ctx.p.recoveryTemplate && existsSync(ctx.p.recoveryTemplate)) {
    return fail(ctx, OCF.ERR_ARGS, `recovery_template=${ctx.p.recoveryTemplate} must not exist on PostgreSQL 12+`);
  }
  const show = async (name: string) => {
    const r = await ctx.pg.showConfig(name);
    return r.code === 0 ? { ok: true, value: r.stdout.trim() } : { ok: false, value: r.stderr.trim() };
  };
  // one postgres -C per setting (it accepts only one name); run them together
  const [uid, port, rtt, pci] = await Promise.all([
    run('id', ['-u', ctx.p.systemUser], { timeoutMs: ctx.deadline.cap(5000) }),
    show('port'),
    show('recovery_target_timeline'),
    show('primary_conninfo'),
  ]);
  if (uid.code !== 0) return fail(ctx, OCF.ERR_ARGS, `system_user=${ctx.p.systemUser} does not exist`);
  if (!port.ok)
    return fail(ctx, OCF.ERR_CONFIGURED, `postgres -C port failed for pgdata=${ctx.p.pgdata}: ${port.value}`);
  if (Number(port.value) !== ctx.p.pgport)
    return fail(
      ctx,
      OCF.ERR_ARGS,
      `pgport=${ctx.p.pgport} but the server in pgdata=${ctx.p.pgdata} is configured with port ${port.value}`,
    );
  if (rtt.value !== 'latest')
    return fail(ctx, OCF.ERR_ARGS, `recovery_target_timeline is "${rtt.value}"; it must be "latest"`);
  const app = parseConninfo(pci.value).get('application_name');
  if (app !== ctx.node) {
    return fail(
      ctx,
      OCF.ERR_ARGS,
      `primary_conninfo must contain application_name=${ctx.node} (the Pacemaker node name); it has ${app === undefined ? 'none' : `application_name=${app}`}`,
    );
  }
  const { control, error } = await ctx.pg.controldata();
  if (!control) return fail(ctx, OCF.ERR_INSTALLED, `pg_controldata failed on datadir=${ctx.p.datadir}: ${error}`);
  if (!['replica', 'logical', 'hot_standby'].includes(control.walLevel)) {
    return fail(ctx, OCF.ERR_ARGS, `wal_level is ${control.walLevel}; replication needs replica or logical`);
  }
  return OCF.SUCCESS;
}

export function isProbe(ctx: AgentContext): boolean {
  return ctx.action === 'monitor' && Number(ctx.env.OCF_RESKEY_CRM_meta_interval ?? '0') === 0;
}

export type Observation = Classification & { control: ControlData | null; alive: boolean; postgresRunning: boolean };

/** Observe until the state is not transitional (bounded by the deadline). */
export async function observe(ctx: AgentContext): Promise<Observation> {
  for (;;) {
    const s = await ctx.pg.snapshot(isProbe(ctx));
    const c = classifyInstance(s);
    if (!c.retry || ctx.deadline.remainingMs() < 1500) {
      if (c.retry) ctx.log.warn(`still transitional at the deadline: ${c.reason}`);
      return { ...c, control: s.control, alive: s.postmasterAlive, postgresRunning: s.postgresRunning !== false };
    }
    await sleep(300);
  }
}

/** A crashed instance (primary or standby) of which nothing runs: no postmaster, no process in the data directory. */
function crashedAndGone(c: Observation): boolean {
  return (c.role === 'crashed-primary' || c.role === 'crashed-standby') && !c.alive && !c.postgresRunning;
}

async function waitFor(ctx: AgentContext, rc: number): Promise<Classification> {
  let c = await observe(ctx);
  while (c.rc !== rc && ctx.deadline.remainingMs() > 500) {
    await sleep(200);
    c = await observe(ctx);
  }
  return c;
}

/** Files the agent writes into the data directory get the data directory's owner (the system user). */
function ownedLikeDatadir(ctx: AgentContext, path: string): void {
  if (process.getuid?.() !== 0) return;
  const st = statSync(ctx.p.datadir);
  chownSync(path, st.uid, st.gid);
}

// ---------------------------------------------------------------------------------------------
// monitor

export async function monitor(ctx: AgentContext): Promise<number> {
  const c = await observe(ctx);
  if (c.rc === OCF.RUNNING_PROMOTED) {
    // every monitor of the primary, the probe included: a probe that finds a running primary (the
    // clone created over it, or Pacemaker restarted) publishes 1001 so Pacemaker keeps it promoted
    await publishScores(ctx).catch((e) => ctx.log.warn(`could not update promotion scores: ${(e as Error).message}`));
  } else if (isProbe(ctx) && c.rc === OCF.NOT_RUNNING) {
    await bootstrapScore(ctx, c.control?.state ?? null).catch((e) =>
      ctx.log.warn(`could not set a bootstrap score: ${(e as Error).message}`),
    );
  } else if (c.rc === OCF.SUCCESS) {
    await loneStandbyScore(ctx).catch((e) =>
      ctx.log.warn(`could not update the promotion score: ${(e as Error).message}`),
    );
  }
  if (c.rc !== OCF.SUCCESS && c.rc !== OCF.RUNNING_PROMOTED && c.rc !== OCF.NOT_RUNNING)
    return fail(ctx, c.rc, c.reason);
  if (c.row.endsWith('-probe-nothing-runs')) ctx.log.warn(c.reason);
  return c.rc;
}

/** Every node Pacemaker knows (crm_node -l: "id name state" lines), or null when it cannot be asked. */
async function knownNodes(ctx: AgentContext): Promise<string[] | null> {
  const r = await run('crm_node', ['-l'], { timeoutMs: ctx.deadline.cap(5000) });
  const names = r.code === 0 ? r.stdout.split('\n').map((l) => l.trim().split(/\s+/)[1] ?? '') : [];
  const out = names.filter(Boolean);
  return out.length > 0 ? out : null;
}

/**
 * Bring-up from cleanly stopped instances, from the probe (so the very first transition knows whom to
 * promote) and again from start: a pure decision (bootstrapDecision) over the control state, the
 * scores the partition already has, and whether every known node is in the partition. The election
 * in promote then compares the exact positions of every started node and redirects to the newest.
 */
async function bootstrapScore(ctx: AgentContext, state: ClusterState | null): Promise<void> {
  if (state !== 'shut down' && state !== 'shut down in recovery') return;
  const [part, known] = await Promise.all([partition(ctx), knownNodes(ctx)]);
  const members = part ?? [ctx.node];
  const scores = await Promise.all(members.map(async (n) => ({ node: n, score: await ctx.attrs.getScore(n) })));
  const d = decideBootstrap({
    localNode: ctx.node,
    controlState: state,
    scores,
    allKnownNodesPresent: part !== null && (known?.every((n) => part.includes(n)) ?? false),
  });
  if (d.score === null) {
    ctx.log.info(`bootstrap: ${d.reason}`);
    return;
  }
  if (scores.find((x) => x.node === ctx.node)?.score === d.score) return;
  ctx.log.info(`bootstrap: promotion score ${d.score}: ${d.reason}`);
  await ctx.attrs.setScore(ctx.node, d.score);
}

/**
 * A running standby that is the only node of its cluster (a booth site) scores itself
 * (decideLoneStandby); a clone of more than one instance skips it, and elsewhere it costs one
 * crm_node -l and changes nothing.
 */
async function loneStandbyScore(ctx: AgentContext): Promise<void> {
  // a clone that may run more than one instance is not alone in its cluster: the two-node rack's
  // standby monitor spawns no crm_node for this
  if (Number(ctx.env.OCF_RESKEY_CRM_meta_clone_max ?? 'NaN') > 1) return;
  const known = await knownNodes(ctx);
  if (!aloneInCluster(ctx.node, known)) return;
  const [q, diverged, current] = await Promise.all([
    ctx.pg.query("SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'"),
    ctx.attrs.get(ctx.node, 'diverged'),
    ctx.attrs.getScore(ctx.node),
  ]);
  if (!q.ok) throw new Error(q.error);
  const d = decideLoneStandby({
    localNode: ctx.node,
    knownNodes: known,
    streaming: q.rows[0]?.[0] === '1',
    diverged: diverged === '1',
  });
  if (d.score === 'keep' || d.score === current) return;
  ctx.log.info(`promotion score of ${ctx.node} set to ${d.score}: ${d.reason}`);
  await ctx.attrs.setScore(ctx.node, d.score);
}

/** crm_node --partition, or null when it cannot be asked. */
async function partition(ctx: AgentContext): Promise<string[] | null> {
  const r = await run('crm_node', ['--partition'], { timeoutMs: ctx.deadline.cap(5000) });
  const nodes = r.code === 0 ? r.stdout.split(/\s+/).filter(Boolean) : [];
  return nodes.length > 0 ? nodes : null;
}

async function partitionNodes(ctx: AgentContext, fallback: string[]): Promise<string[]> {
  return (await partition(ctx)) ?? [...new Set([ctx.node, ...fallback])];
}

async function publishScores(ctx: AgentContext): Promise<void> {
  const q = await ctx.pg.query(
    'SELECT pg_current_wal_lsn(), r.application_name, r.state, r.write_lsn FROM (SELECT 1) x LEFT JOIN pg_stat_replication r ON true',
  );
  if (!q.ok) throw new Error(q.error);
  const current = parseLsn(q.rows[0]?.[0]) ?? 0n;
  const senders = q.rows
    .filter((r) => r[1])
    .map((r) => ({ applicationName: r[1] as string, state: r[2] ?? '', writeLsn: parseLsn(r[3]) }));
  const partition = await partitionNodes(
    ctx,
    senders.map((s) => s.applicationName),
  );
  const diverged: string[] = [];
  for (const n of partition) if (n !== ctx.node && (await ctx.attrs.get(n, 'diverged')) === '1') diverged.push(n);
  const scores = computeScores({
    localNode: ctx.node,
    partitionNodes: partition,
    currentLsn: current,
    walSenders: senders,
    maxlag: ctx.p.maxlag,
    divergedNodes: diverged,
  });
  for (const s of scores) {
    if (s.node === ctx.node && senders.some((x) => x.applicationName === ctx.node))
      ctx.log.warn('streaming replication with myself (application_name equals the local node name)');
    if ((await ctx.attrs.getScore(s.node)) !== s.score) {
      ctx.log.info(`promotion score of ${s.node} set to ${s.score}: ${s.reason}`);
      await ctx.attrs.setScore(s.node, s.score);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// start / stop

/**
 * start, or the standby start inside demote/promote (`internal`: no validation again, and no
 * bootstrap score: a demoted primary's score belongs to the primary's monitor, and writing one here
 * would abort the running transition, so the promote that follows a demote would run in a new
 * transition that no longer sees the demote and would skip the switchover check).
 */
export async function start(ctx: AgentContext, internal = false): Promise<number> {
  if (!internal) {
    const v = await validateAll(ctx);
    if (v !== OCF.SUCCESS) return v;
  }
  const c = await observe(ctx);
  if (c.rc === OCF.SUCCESS) {
    ctx.log.info('the instance already runs as a standby');
    return OCF.SUCCESS;
  }
  if (c.rc === OCF.RUNNING_PROMOTED) {
    return fail(
      ctx,
      OCF.ERR_GENERIC,
      'the instance is already running as a primary; start only ever starts a standby (promote makes a primary)',
    );
  }
  // a killed primary whose postmaster is gone (9), or a crashed instance nothing runs of: start as a
  // standby after the rejoin check (crash recovery then runs in standby mode and writes nothing)
  const crashedPrimaryGone = c.rc === OCF.FAILED_PROMOTED && !c.alive;
  if (c.rc !== OCF.NOT_RUNNING && !crashedPrimaryGone && !crashedAndGone(c))
    return fail(ctx, OCF.ERR_GENERIC, `cannot start: ${c.reason}`);
  const state = c.control?.state ?? null;
  let bootstrapCandidate = false;
  if (c.control && (state === 'shut down' || state === 'in production')) {
    const d = await rejoinDecision(ctx, c.control);
    ctx.log.info(`rejoin: ${d.reason}`);
    if (d.action === 'refuse') {
      await ctx.attrs.set(ctx.node, 'diverged', '1');
      return fail(ctx, OCF.ERR_GENERIC, d.reason);
    }
    if (d.action === 'rewind') {
      const rc = await rewind(ctx);
      if (rc !== OCF.SUCCESS) return rc;
    }
    bootstrapCandidate = /no primary answers/.test(d.reason);
  } else if (state === 'shut down in recovery') {
    bootstrapCandidate = true;
  }
  const signal = join(ctx.p.datadir, 'standby.signal');
  writeFileSync(signal, '');
  ownedLikeDatadir(ctx, signal);
  const opts = ctx.p.startOpts ? ['-o', ctx.p.startOpts] : [];
  const r = await ctx.pg.pgCtl(['-l', ctx.p.logfile || '/dev/null', ...opts, 'start']);
  if (r.code !== 0)
    return fail(ctx, OCF.ERR_GENERIC, `pg_ctl start failed: ${(r.stderr || r.stdout).trim().split('\n').pop()}`);
  const after = await waitFor(ctx, OCF.SUCCESS);
  if (after.rc !== OCF.SUCCESS)
    return fail(ctx, OCF.ERR_GENERIC, `the instance did not come up as a standby: ${after.reason}`);
  await ctx.attrs.del(ctx.node, 'diverged');
  await dropForeverScore(ctx);
  // the bootstrap rule again (the probe may have run long before, e.g. target-role Stopped → Started);
  // not when a primary answered: that primary's monitor sets the scores
  if (bootstrapCandidate && !internal) await bootstrapScore(ctx, state);
  ctx.log.info('started as a standby');
  return OCF.SUCCESS;
}

export async function stop(ctx: AgentContext): Promise<number> {
  const c = await observe(ctx);
  if (c.rc === OCF.NOT_RUNNING) return OCF.SUCCESS;
  if (crashedAndGone(c)) {
    // nothing runs or writes this data here: fencing this node would bring nothing; start decides the rejoin
    ctx.log.warn(`${c.reason}; no process works in the data directory, so it is stopped`);
    return OCF.SUCCESS;
  }
  if (c.rc !== OCF.SUCCESS && c.rc !== OCF.RUNNING_PROMOTED) {
    // uncertain (postmaster alive but not answering, orphans still running, unreadable state): fail so Pacemaker fences
    return fail(ctx, OCF.ERR_GENERIC, `refusing to report a clean stop: ${c.reason}`);
  }
  return fastStop(ctx);
}

async function fastStop(ctx: AgentContext): Promise<number> {
  const r = await ctx.pg.pgCtl(['-m', 'fast', 'stop']);
  if (r.code !== 0)
    return fail(ctx, OCF.ERR_GENERIC, `pg_ctl stop -m fast failed: ${(r.stderr || r.stdout).trim().split('\n').pop()}`);
  const c = await waitFor(ctx, OCF.NOT_RUNNING);
  if (c.rc !== OCF.NOT_RUNNING) return fail(ctx, OCF.ERR_GENERIC, `the instance did not stop: ${c.reason}`);
  return OCF.SUCCESS;
}

// ---------------------------------------------------------------------------------------------
// rejoin (a returning ex-primary decides before it starts)

async function primaryConninfo(ctx: AgentContext): Promise<string | null> {
  const r = await ctx.pg.showConfig('primary_conninfo');
  const v = r.code === 0 ? r.stdout.trim() : '';
  if (!v) return null;
  // strip application_name: probes must not pose as the node's walreceiver
  return v.replace(/application_name\s*=\s*('(?:[^'\\]|\\.)*'|\S+)/, '').trim();
}

async function rejoinDecision(ctx: AgentContext, control: ControlData): Promise<RejoinDecision> {
  const conninfo = await primaryConninfo(ctx);
  let primary: { timeline: number; currentLsn: bigint; history: HistoryEntry[]; where: string } | null = null;
  if (conninfo) {
    const where = describeConninfo(conninfo);
    const probe = await ctx.pg.query('SELECT pg_is_in_recovery()', conninfo, 8000);
    if (probe.ok && probe.rows[0]?.[0] === 'f') {
      // the new primary's control file and history must be current before we compare (lab finding 1)
      await ctx.pg.query('CHECKPOINT', conninfo, ctx.deadline.cap(30_000));
      const q = await ctx.pg.query(
        'SELECT pg_walfile_name(pg_current_wal_lsn()), pg_current_wal_lsn()',
        conninfo,
        8000,
      );
      const tli = Number.parseInt((q.rows[0]?.[0] ?? '').slice(0, 8), 16);
      const cur = parseLsn(q.rows[0]?.[1]);
      if (q.ok && Number.isInteger(tli) && cur !== null) {
        let history: HistoryEntry[] = [];
        if (tli > 1) {
          const h = await ctx.pg.query(
            `SELECT pg_read_file('pg_wal/${tli.toString(16).toUpperCase().padStart(8, '0')}.history')`,
            conninfo,
            8000,
          );
          history = parseTimelineHistory(h.rows.map((r) => r.join('|')).join('\n'));
        }
        primary = { timeline: tli, currentLsn: cur, history, where };
      }
    }
  }
  const names = ctx.pg.walFileNames();
  const tl = newestTimeline(names) ?? control.timeline;
  let end: bigint | null = null;
  const startLsn =
    tl === control.timeline
      ? control.redoLsn
      : maxLsn(firstSegmentStart(names, tl), control.timeline < tl ? null : control.redoLsn);
  if (primary && startLsn !== null) {
    const args = ['--path', join(ctx.p.datadir, 'pg_wal'), '--timeline', String(tl), '--start', formatLsn(startLsn)];
    const r = await ctx.pg.waldump([...args, '--quiet']);
    // --quiet prints no records; fall back to a full read when it did not say where the WAL ends
    let d = parseWaldump(r.stdout, r.stderr);
    if (d.invalidAt === null) {
      const full = await ctx.pg.waldump(args);
      d = parseWaldump(full.stdout, full.stderr);
    }
    end = walEnd(d);
  }
  return decideRejoin({
    local: { timeline: tl, walEnd: end, controlState: control.state },
    primary,
    rewind: {
      allowed: ctx.p.rewind,
      hintsOrChecksums: control.walLogHints || control.dataChecksums,
      binaryPresent: isExecutable(ctx.pg.bin('pg_rewind')),
    },
  });
}

function describeConninfo(conninfo: string): string {
  const m = parseConninfo(conninfo);
  return `${m.get('host') ?? m.get('hostaddr') ?? 'localhost'}:${m.get('port') ?? '5432'}`;
}

/**
 * A crashed primary must finish its crash recovery before pg_rewind compares it. PostgreSQL 15's
 * pg_rewind does that itself with `postgres --single -D <datadir>`, which fails when the
 * configuration lives outside PGDATA (the layout the docs recommend, and Debian's). So the agent
 * runs that step with pgdata, where postgresql.conf is: crash recovery, then a shutdown checkpoint
 * on the old timeline, which pg_rewind then rewinds like any cleanly stopped diverged node.
 */
async function finishCrashRecovery(ctx: AgentContext): Promise<string | null> {
  const { control } = await ctx.pg.controldata();
  if (control?.state !== 'in production') return null;
  const r = await run(
    ctx.pg.bin('postgres'),
    ['--single', '-F', '-D', ctx.p.pgdata, ...splitOpts(ctx.p.startOpts), 'template1'],
    { timeoutMs: ctx.deadline.cap(ctx.deadline.remainingMs() / 2), asUser: ctx.p.systemUser, stdinNull: true },
  );
  if (r.code === 0) return null;
  return firstErrorLine(r.stderr || r.stdout) || `postgres --single exited ${r.code}`;
}

/** The line of a tool's output that says what went wrong (pg_rewind ends with a "detail:" line). */
function firstErrorLine(text: string): string {
  const lines = text.trim().split('\n');
  return (lines.find((l) => /error|fatal|could not/i.test(l)) ?? lines.pop() ?? '').trim();
}

async function rewind(ctx: AgentContext): Promise<number> {
  const conninfo = await primaryConninfo(ctx);
  if (!conninfo) return fail(ctx, OCF.ERR_GENERIC, 'pg_rewind needs primary_conninfo to reach the primary');
  const t0 = performance.now();
  const recovery = await finishCrashRecovery(ctx);
  if (recovery) {
    await ctx.attrs.set(ctx.node, 'diverged', '1');
    return fail(
      ctx,
      OCF.ERR_GENERIC,
      `crash recovery before pg_rewind failed (${recovery}), so the node refuses to join until it is rebuilt`,
    );
  }
  const r = await run(
    ctx.pg.bin('pg_rewind'),
    ['--target-pgdata', ctx.p.datadir, '--source-server', `${conninfo} dbname=postgres`],
    {
      timeoutMs: ctx.deadline.cap(ctx.deadline.remainingMs() - 5000),
      asUser: ctx.p.systemUser,
    },
  );
  if (r.code !== 0) {
    await ctx.attrs.set(ctx.node, 'diverged', '1');
    const last = firstErrorLine(r.stderr || r.stdout);
    return fail(
      ctx,
      OCF.ERR_GENERIC,
      `pg_rewind from ${describeConninfo(conninfo)} failed (${r.timedOut ? 'timed out' : last}), so the node refuses to join until it is rebuilt`,
    );
  }
  // pg_rewind copies the source's files: never keep a stale signal or recovery.conf from it
  rmSync(join(ctx.p.datadir, 'recovery.conf'), { force: true });
  ctx.log.info(`pg_rewind from ${describeConninfo(conninfo)} done in ${Math.round(performance.now() - t0)} ms`);
  return OCF.SUCCESS;
}

// ---------------------------------------------------------------------------------------------
// promote / demote

const PRIVATE = ['lsn_location', 'nodes', 'cancel_switchover', 'cancel_reason', 'recover_primary'];

export async function promote(ctx: AgentContext): Promise<number> {
  const v = await validateAll(ctx);
  if (v !== OCF.SUCCESS) return v;
  let c = await observe(ctx);
  if (c.rc === OCF.RUNNING_PROMOTED) return OCF.SUCCESS;
  if (c.rc === OCF.NOT_RUNNING) {
    const s = await start(ctx, true);
    if (s !== OCF.SUCCESS)
      return fail(ctx, OCF.ERR_GENERIC, 'promote: the instance could not be started as a standby first');
    c = await observe(ctx);
  }
  if (c.rc !== OCF.SUCCESS) return fail(ctx, OCF.ERR_GENERIC, `cannot promote: ${c.reason}`);

  const partP = partition(ctx);
  const [cancel, cancelReason, diverged, recoverAttr, nodesAttr] = await Promise.all(
    ['cancel_switchover', 'cancel_reason', 'diverged', 'recover_primary', 'nodes'].map((k) =>
      ctx.attrs.get(ctx.node, k),
    ),
  );
  const part = await partP;
  if (cancel) {
    await Promise.all([ctx.attrs.del(ctx.node, 'cancel_switchover'), ctx.attrs.del(ctx.node, 'cancel_reason')]);
    return fail(
      ctx,
      cancel === '2' ? OCF.ERR_ARGS : OCF.ERR_GENERIC,
      `switchover refused: ${cancelReason ?? 'see the pre-promote log'}`,
    );
  }
  if (diverged === '1') {
    return fail(
      ctx,
      OCF.ERR_GENERIC,
      'this node is marked diverged (a returning ex-primary not rewound) and is never promoted',
    );
  }
  // nodes outside this partition were lost by Pacemaker (and fenced before it promotes anything):
  // never wait on them, never probe them
  const inPartition = (n: string) => part === null || part.includes(n);
  const other = await otherPrimary(ctx, part);
  if (other)
    return fail(
      ctx,
      OCF.ERR_GENERIC,
      `another primary answers at ${other}; refusing to create a second writable primary`,
    );

  const recover = recoverAttr === '1';
  if (!recover) {
    if (!nodesAttr) {
      ctx.log.warn(
        'no election data from a pre-promote notify (clone without notify, or a manual promote): promoting without election',
      );
    } else {
      const local = (await ownPosition(ctx)) ?? { node: ctx.node, timeline: null, receiveLsn: null, replayLsn: null };
      const peers = nodesAttr.split(/\s+/).filter((n) => n && n !== ctx.node);
      const others: NodePosition[] = [];
      const budgetEnd = performance.now() + Math.min(5000, ctx.deadline.remainingMs() / 3);
      for (const n of peers) {
        if (!inPartition(n)) {
          ctx.log.warn(`${n} is not in this partition: it is not a candidate and nobody waits for it`);
          continue;
        }
        // attrd replicates asynchronously: the value a peer wrote in its pre-promote notify may arrive late
        const val = await ctx.attrs.poll(n, 'lsn_location', Math.max(0, budgetEnd - performance.now()));
        if (val === null) ctx.log.warn(`${n} published no WAL position in time: it is not a candidate`);
        others.push(decodePosition(n, val, (await ctx.attrs.get(n, 'diverged')) === '1'));
      }
      const e = electCandidate(local, others);
      ctx.log.info(`election: ${e.reason}`);
      if (!e.promoteLocal) {
        if (e.winner) {
          await ctx.attrs.setScore(ctx.node, 1);
          await ctx.attrs.setScore(e.winner, 1000);
        }
        return fail(ctx, OCF.ERR_GENERIC, `not promoting ${ctx.node}: ${e.reason}`);
      }
    }
  }
  const r = await ctx.pg.pgCtl(['promote']);
  if (r.code !== 0)
    return fail(ctx, OCF.ERR_GENERIC, `pg_ctl promote failed: ${(r.stderr || r.stdout).trim().split('\n').pop()}`);
  const after = await waitFor(ctx, OCF.RUNNING_PROMOTED);
  if (after.rc !== OCF.RUNNING_PROMOTED)
    return fail(ctx, OCF.ERR_GENERIC, `the instance did not become primary: ${after.reason}`);
  if (ctx.p.manageSlots) await ensureSlots(ctx, nodesAttr ? nodesAttr.split(/\s+/) : await partitionNodes(ctx, []));
  await ctx.attrs.setScore(ctx.node, 1001);
  ctx.log.info('promoted');
  return OCF.SUCCESS;
}

/** How long the other-primary probe may take (a live primary on the cluster network answers well within it). */
export const OTHER_PRIMARY_PROBE_MS = 500;

/**
 * The primary_conninfo target, if it is a writable primary right now ("host:port"). Skipped when no
 * other node is in this partition (the peer was lost and, with fencing, fenced: whatever answers at
 * primary_conninfo is not a cluster member's instance Pacemaker could see); otherwise bounded to
 * OTHER_PRIMARY_PROBE_MS, after which "no answer" counts as "no primary".
 */
async function otherPrimary(ctx: AgentContext, part: string[] | null): Promise<string | null> {
  if (part?.every((n) => n === ctx.node)) {
    ctx.log.info('no other node is in this partition: the primary_conninfo probe for a second primary is skipped');
    return null;
  }
  const conninfo = await primaryConninfo(ctx);
  if (!conninfo) return null;
  const t0 = performance.now();
  const q = await ctx.pg.query('SELECT pg_is_in_recovery()', conninfo, OTHER_PRIMARY_PROBE_MS, OTHER_PRIMARY_PROBE_MS);
  if (!q.ok)
    ctx.log.info(
      `no primary answered at ${describeConninfo(conninfo)} within ${Math.round(performance.now() - t0)} ms: ${q.error.split('\n').pop()}`,
    );
  return q.ok && q.rows[0]?.[0] === 'f' ? describeConninfo(conninfo) : null;
}

/** Scores of the earlier builds lived forever in the CIB's nodes section; a current one is transient. */
async function dropForeverScore(ctx: AgentContext): Promise<void> {
  if ((await ctx.attrs.getScore(ctx.node, 'forever')) !== null) {
    ctx.log.info('removing a permanent promotion score left by an earlier version (scores are transient now)');
    await ctx.attrs.delScore(ctx.node, 'forever');
  }
}

export function slotName(node: string): string {
  return node.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}

async function ensureSlots(ctx: AgentContext, nodes: string[]): Promise<void> {
  for (const n of nodes.filter((x) => x && x !== ctx.node)) {
    const s = slotName(n);
    const q = await ctx.pg.query(
      `SELECT pg_create_physical_replication_slot('${s}') WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = '${s}')`,
    );
    if (!q.ok) ctx.log.warn(`could not create replication slot ${s}: ${q.error}`);
  }
}

export async function demote(ctx: AgentContext): Promise<number> {
  const c = await observe(ctx);
  if (c.rc === OCF.SUCCESS) return OCF.SUCCESS;
  if (c.rc === OCF.ERR_CONFIGURED) return fail(ctx, OCF.ERR_CONFIGURED, c.reason);
  if (c.rc === OCF.RUNNING_PROMOTED) {
    const s = await fastStop(ctx);
    if (s !== OCF.SUCCESS) return s;
  } else if (crashedAndGone(c)) {
    // a crashed primary nothing runs of: demote = start it as a standby, after the rejoin check (a
    // refusal fails the demote; the stop that follows succeeds, so nobody fences a dead database)
    ctx.log.warn(`${c.reason}; nothing runs in the data directory, so the demote starts it as a standby`);
  } else if (c.rc !== OCF.NOT_RUNNING) {
    return fail(ctx, OCF.ERR_GENERIC, `cannot demote: ${c.reason}`);
  }
  return start(ctx, true);
}

// ---------------------------------------------------------------------------------------------
// notify: election data and the switchover check

/** This node's position: timeline (max of received_tli, newest WAL segment, control file) and max(received, replayed). */
async function ownPosition(ctx: AgentContext): Promise<NodePosition | null> {
  const q = await ctx.pg.query(
    'SELECT pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn(), (SELECT received_tli FROM pg_stat_wal_receiver)',
  );
  if (!q.ok) return null;
  const row = q.rows[0] ?? [];
  const { control } = await ctx.pg.controldata();
  const tlis = [Number(row[2]) || 0, newestTimeline(ctx.pg.walFileNames()) ?? 0, control?.timeline ?? 0];
  const tl = Math.max(...tlis);
  return { node: ctx.node, timeline: tl > 0 ? tl : null, receiveLsn: parseLsn(row[0]), replayLsn: parseLsn(row[1]) };
}

export async function switchoverCheck(ctx: AgentContext): Promise<SwitchoverVerdict> {
  const end = performance.now() + Math.min(ctx.p.switchoverWaitS * 1000, ctx.deadline.remainingMs() / 2);
  for (;;) {
    const pos = await ownPosition(ctx);
    const received = pos ? maxLsn(pos.receiveLsn, pos.replayLsn) : null;
    const { control } = await ctx.pg.controldata();
    let verdict: SwitchoverVerdict;
    if (!pos || received === null || pos.timeline === null) {
      verdict = checkSwitchover({ timeline: pos?.timeline ?? null, receivedLsn: received, waldump: parseWaldump('') });
    } else {
      // the old primary's last record is near the end: read from the last restartpoint's REDO, or
      // only the last MiB when that is far behind (falling back to REDO when the MiB starts in a
      // zeroed tail after a segment switch: "could not find a valid record")
      // pg_waldump reads one timeline's files only: never start before this timeline's first segment
      const redo = maxLsn(control?.redoLsn ?? 0n, firstSegmentStart(ctx.pg.walFileNames(), pos.timeline)) ?? 0n;
      const dump = (from: bigint) =>
        ctx.pg.waldump([
          '--path',
          join(ctx.p.datadir, 'pg_wal'),
          '--timeline',
          String(pos.timeline),
          '--start',
          formatLsn(from),
          '--end',
          formatLsn(received),
        ]);
      let r = received - redo > 16n * 1048576n ? await dump(received - 1048576n) : await dump(redo);
      if (r.code !== 0 && /could not find a valid record/.test(r.stderr)) r = await dump(redo);
      const d = parseWaldump(r.stdout, r.stderr);
      const broken = r.missing || r.timedOut || (r.code !== 0 && d.records.length === 0 && d.invalidAt === null);
      verdict = checkSwitchover({
        timeline: pos.timeline,
        receivedLsn: received,
        waldump: broken ? null : d,
        waldumpError: broken ? (r.stderr.trim().split('\n').pop() ?? 'pg_waldump failed') : undefined,
      });
    }
    if (verdict.safe || verdict.code === 2 || performance.now() >= end) return verdict;
    await sleep(200);
  }
}

export async function notify(ctx: AgentContext): Promise<number> {
  const n = parseNotifyEnv(ctx.env);
  const key = `${n.type}-${n.operation}`;
  if (key === 'post-promote') {
    await Promise.all(PRIVATE.map((k) => ctx.attrs.del(ctx.node, k)));
    return OCF.SUCCESS;
  }
  if (key !== 'pre-promote') return OCF.SUCCESS;
  const t = classifyTransition(n, ctx.node);
  ctx.log.info(`pre-promote: ${t.reason}`);
  if (t.kind === 'primary-recover') {
    if (t.target === ctx.node) await ctx.attrs.set(ctx.node, 'recover_primary', '1');
    return OCF.SUCCESS;
  }
  await Promise.all(PRIVATE.map((k) => ctx.attrs.del(ctx.node, k)));
  const c = await observe(ctx);
  if (c.rc !== OCF.SUCCESS) {
    ctx.log.warn(`not a running standby (${c.reason}): publishing no WAL position`);
    return OCF.SUCCESS;
  }
  if (t.kind === 'switchover' && t.target === ctx.node) {
    const verdict = await switchoverCheck(ctx);
    if (!verdict.safe) {
      ctx.log.error(`switchover check: ${verdict.reason}`);
      await ctx.attrs.set(ctx.node, 'cancel_reason', verdict.reason);
      await ctx.attrs.set(ctx.node, 'cancel_switchover', String(verdict.code));
      return OCF.SUCCESS;
    }
    ctx.log.info(`switchover check: ${verdict.reason}`);
  }
  const pos = await ownPosition(ctx);
  const lsn = pos ? maxLsn(pos.receiveLsn, pos.replayLsn) : null;
  if (pos?.timeline && lsn !== null) {
    await ctx.attrs.set(ctx.node, 'lsn_location', encodePosition(pos.timeline, lsn));
  } else {
    ctx.log.warn('no WAL position known (walreceiver never started and nothing replayed): not a candidate');
  }
  if (t.target === ctx.node) await ctx.attrs.set(ctx.node, 'nodes', electionNodes(n).join(' '));
  return OCF.SUCCESS;
}

export function newContext(
  env: Readonly<Record<string, string | undefined>>,
  action: string,
  p: AgentParams,
  paramErrors: ParamError[],
  node: string,
  log: Logger,
): AgentContext {
  const timeout = Number(env.OCF_RESKEY_CRM_meta_timeout ?? '');
  const deadline = new Deadline(Number.isFinite(timeout) && timeout > 0 ? timeout : 60_000);
  const resource = (env.OCF_RESOURCE_INSTANCE ?? 'pgsqlms').replace(/:\d+$/, '');
  return {
    env,
    action,
    p,
    paramErrors,
    node,
    resource,
    deadline,
    pg: new PgEdge(p, deadline),
    attrs: new Attributes(resource, deadline),
    log,
  };
}

export { splitOpts };
