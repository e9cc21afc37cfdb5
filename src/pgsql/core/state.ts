/**
 * Instance state classification (the agent's `monitor`): one observation of the instance in, one
 * OCF code out, with PAF's semantics. When the server is down or not accepting connections the
 * control file decides: it is not updated by a crash, so "postmaster gone + in production" proves an
 * unclean primary stop (9) and "gone + in archive recovery" a crashed standby (1) — except in a probe
 * that finds no process at all working in the data directory: the node was just (re)started (after
 * a fence), nothing runs this data anywhere on it, and 7 lets Pacemaker start it, so start's rejoin
 * check runs instead of a stop that fails and a fence that repeats forever.
 */
import { type ConstantRow, constantOutcomes, type DecisionTable, decideBy } from '../../decisions/table.js';
import type { ClusterState, ControlData } from './types.js';
import { OCF, ocfName } from './types.js';

/** pg_isready outcome: rc 0 accepting, 1 rejecting (startup/shutdown/recovery), 2 no response, 3 bad arguments. */
export type Readiness = 'accepting' | 'rejecting' | 'no-response' | 'bad-args';

export function readinessFromPgIsready(rc: number | null): Readiness {
  if (rc === 0) return 'accepting';
  if (rc === 1) return 'rejecting';
  if (rc === 2) return 'no-response';
  return 'bad-args';
}

/** One observation of the local instance. */
export interface InstanceSnapshot {
  readiness: Readiness;
  /** `SELECT pg_is_in_recovery()` when accepting: true/false, 'connect-failed' (psql could not connect), 'garbage' (query failed or odd output). */
  inRecovery?: boolean | 'connect-failed' | 'garbage';
  /** The pid in postmaster.pid exists (a zombie counts: it is not reaped yet). */
  postmasterAlive: boolean;
  /** backup_label present: a fresh base backup that never started. */
  backupLabel: boolean;
  /** Parsed pg_controldata, or null when it could not be read. */
  control: ControlData | null;
  /** The observation is a probe (monitor with interval 0: Pacemaker learns the state after a node joins). */
  probe?: boolean;
  /**
   * Some process works in this data directory (a postgres whose cwd is the data directory: the
   * postmaster and every backend chdir there), or the process table could not be read. Default true
   * (unknown counts as running).
   */
  postgresRunning?: boolean;
}

export type Role = 'primary' | 'standby' | 'stopped' | 'crashed-primary' | 'crashed-standby' | 'unknown';

export interface Classification {
  /** Id of the table row that decided. */
  row: string;
  rc: number;
  role: Role;
  /** True: a transitional state; observe again (bounded by the action timeout), then report rc. */
  retry: boolean;
  reason: string;
}

const TRANSITIONAL: readonly ClusterState[] = ['starting up', 'shutting down', 'in crash recovery'];

/** What a row decides: the OCF code, the role, and whether to observe again first. */
export interface StateOutcome {
  rc: number;
  role: Role;
  retry?: boolean;
}

const st = (s: InstanceSnapshot): string => s.control?.state ?? 'unreadable';

/** The classification rows, first matching row wins. Unit tests walk every row. */
const stateRows: readonly ConstantRow<InstanceSnapshot, StateOutcome>[] = [
  {
    id: 'bad-args',
    comment: 'pg_isready got bad arguments (pghost/pgport malformed): a configuration error.',
    when: (s) => s.readiness === 'bad-args',
    out: { rc: OCF.ERR_CONFIGURED, role: 'unknown' },
    reason: () => 'pg_isready rejected the connection parameters (check pghost and pgport)',
  },
  {
    id: 'standby',
    comment: 'Accepting and in recovery: a running hot standby.',
    when: (s) => s.readiness === 'accepting' && s.inRecovery === true,
    out: { rc: OCF.SUCCESS, role: 'standby' },
    reason: () => 'the instance accepts connections and is in recovery (standby)',
  },
  {
    id: 'primary',
    comment: 'Accepting and not in recovery: a running primary.',
    when: (s) => s.readiness === 'accepting' && s.inRecovery === false,
    out: { rc: OCF.RUNNING_PROMOTED, role: 'primary' },
    reason: () => 'the instance accepts connections and is not in recovery (primary)',
  },
  {
    id: 'connect-failed',
    comment: 'pg_isready said yes but psql could not connect (e.g. max_connections reached): soft error.',
    when: (s) => s.readiness === 'accepting' && s.inRecovery === 'connect-failed',
    out: { rc: OCF.ERR_GENERIC, role: 'unknown' },
    reason: () => 'the instance answers pg_isready but a session could not connect',
  },
  {
    id: 'garbage',
    comment: 'Accepting but the role query failed or returned garbage: cannot trust this instance.',
    when: (s) => s.readiness === 'accepting',
    out: { rc: OCF.ERR_CONFIGURED, role: 'unknown' },
    reason: () => 'pg_is_in_recovery() failed or returned an unexpected value',
  },
  {
    id: 'rejecting-transitional',
    comment:
      'Rejecting connections in a transitional control state (starting, shutting down, crash recovery): look again.',
    when: (s) => s.readiness === 'rejecting' && s.control !== null && TRANSITIONAL.includes(s.control.state),
    out: { rc: OCF.ERR_GENERIC, role: 'unknown', retry: true },
    reason: (s) => `the instance rejects connections while "${st(s)}"`,
  },
  {
    id: 'rejecting-running',
    comment:
      'Rejecting although the control file says running: a warm standby (hot_standby off) or a stuck start; unsupported.',
    when: (s) =>
      s.readiness === 'rejecting' &&
      (s.control?.state === 'in production' || s.control?.state === 'in archive recovery'),
    out: { rc: OCF.ERR_GENERIC, role: 'unknown', retry: true },
    reason: (s) =>
      `the instance rejects connections although the control file says "${st(s)}" (warm standby or hot_standby=off is unsupported)`,
  },
  {
    id: 'rejecting-stopped',
    comment: 'Rejecting with a stopped control state: the postmaster is starting or going away; look again.',
    when: (s) => s.readiness === 'rejecting' && s.control !== null,
    out: { rc: OCF.ERR_GENERIC, role: 'unknown', retry: true },
    reason: (s) => `the instance rejects connections with control state "${st(s)}"`,
  },
  {
    id: 'rejecting-unreadable',
    comment: 'Rejecting and the control file is unreadable: the installation is broken.',
    when: (s) => s.readiness === 'rejecting',
    out: { rc: OCF.ERR_INSTALLED, role: 'unknown' },
    reason: () => 'the instance rejects connections and pg_controldata could not be read',
  },
  {
    id: 'postmaster-alive',
    comment:
      'No response but the postmaster pid is alive (or a zombie not reaped yet): not listening, something is wrong.',
    when: (s) => s.postmasterAlive,
    out: { rc: OCF.ERR_GENERIC, role: 'unknown' },
    reason: () => 'the postmaster process exists but does not answer connections',
  },
  {
    id: 'backup-label',
    comment: 'Stopped with backup_label: a fresh base backup that never started counts as stopped.',
    when: (s) => s.backupLabel,
    out: { rc: OCF.NOT_RUNNING, role: 'stopped' },
    reason: () => 'the instance is stopped (a base backup that never started: backup_label present)',
  },
  {
    id: 'control-unreadable',
    comment: 'Stopped, control file unreadable: cannot tell what this data directory is.',
    when: (s) => s.control === null,
    out: { rc: OCF.ERR_INSTALLED, role: 'unknown' },
    reason: () => 'the instance is not running and pg_controldata could not be read',
  },
  {
    id: 'crashed-primary-probe-nothing-runs',
    comment:
      'Probe, postmaster gone, no process in the data directory, control file "in production": a crashed primary on a node that was just fenced/rebooted. Nothing runs or writes this data here, so it is not running (7); start then runs the rejoin check (rewind or refuse+diverged). 9 here made Pacemaker demote/stop/fence it again in a loop.',
    when: (s) =>
      s.probe === true && s.postgresRunning === false && !s.postmasterAlive && s.control?.state === 'in production',
    out: { rc: OCF.NOT_RUNNING, role: 'crashed-primary' },
    reason: () =>
      'the primary crashed earlier (control file "in production") and nothing runs in its data directory: not running; start decides how it rejoins',
  },
  {
    id: 'crashed-standby-probe-nothing-runs',
    comment:
      'Probe, postmaster gone, no process in the data directory, control file "in archive recovery": a crashed standby on a rebooted node; not running (7), start restarts it as a standby (a standby writes nothing).',
    when: (s) =>
      s.probe === true &&
      s.postgresRunning === false &&
      !s.postmasterAlive &&
      s.control?.state === 'in archive recovery',
    out: { rc: OCF.NOT_RUNNING, role: 'crashed-standby' },
    reason: () =>
      'the standby crashed earlier (control file "in archive recovery") and nothing runs in its data directory: not running',
  },
  {
    id: 'crashed-primary',
    comment:
      'Stopped but the control file says "in production" (recurring monitor, or something still runs in the data directory): the primary crashed (not a clean stop); 9 so Pacemaker recovers it.',
    when: (s) => s.control?.state === 'in production',
    out: { rc: OCF.FAILED_PROMOTED, role: 'crashed-primary' },
    reason: () => 'the postmaster is gone and the control file still says "in production": the primary crashed',
  },
  {
    id: 'crashed-standby',
    comment: 'Stopped but "in archive recovery": a crashed standby (OCF has no failed-standby code).',
    when: (s) => s.control?.state === 'in archive recovery',
    out: { rc: OCF.ERR_GENERIC, role: 'crashed-standby' },
    reason: () => 'the postmaster is gone and the control file still says "in archive recovery": the standby crashed',
  },
  {
    id: 'clean-stop',
    comment: 'Cleanly shut down (as a primary or as a standby): not running.',
    when: (s) => s.control?.state === 'shut down' || s.control?.state === 'shut down in recovery',
    out: { rc: OCF.NOT_RUNNING, role: 'stopped' },
    reason: (s) => `the instance is stopped cleanly ("${st(s)}")`,
  },
  {
    id: 'stopped-transitional',
    comment: 'Not running while the control file is transitional (a crash during start/stop): look again, then fail.',
    out: { rc: OCF.ERR_GENERIC, role: 'unknown', retry: true },
    reason: (s) => `the instance is not running and the control file says "${st(s)}"`,
  },
];

/** The classification table (src/decisions/table.ts shape; docs/tables.md is generated from it). */
export const STATE_TABLE: DecisionTable<InstanceSnapshot, StateOutcome> = {
  name: 'PostgreSQL instance state',
  summary:
    "The agent's monitor (and every action that needs the instance's state): one observation of the local instance (pg_isready, pg_is_in_recovery(), the postmaster pid, backup_label, pg_controldata, whether anything runs in the data directory, probe or not) to one OCF code, with PAF's semantics. The outcome column is the OCF code and the role; \"retry\" means observe again (bounded by the action timeout), then report the code.",
  ...constantOutcomes(
    stateRows,
    (o) => `${o.rc} ${ocfName(o.rc).replace(/ \(\d+\)$/, '')}, ${o.role}${o.retry ? ', retry' : ''}`,
  ),
};

export function classifyInstance(s: InstanceSnapshot): Classification {
  const d = decideBy(STATE_TABLE, s);
  return { row: d.row, rc: d.outcome.rc, role: d.outcome.role, retry: d.outcome.retry ?? false, reason: d.reason };
}
