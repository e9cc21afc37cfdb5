/**
 * Instance state classification (the agent's `monitor`): one observation of the instance in, one
 * OCF code out, with PAF's semantics. When the server is down or not accepting connections the
 * control file decides: it is not updated by a crash, so "postmaster gone + in production" proves an
 * unclean primary stop (9) and "gone + in archive recovery" a crashed standby (1) — except in a probe
 * that finds no process at all working in the data directory: the node was just (re)started (after
 * a fence), nothing runs this data anywhere on it, and 7 lets Pacemaker start it, so start's rejoin
 * check runs instead of a stop that fails and a fence that repeats forever.
 */
import type { ClusterState, ControlData } from './types.js';
import { OCF } from './types.js';

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

interface Row {
  /** Stable id (tests and docs name rows by it). */
  id: string;
  /** Why this row exists. */
  comment: string;
  when: (s: InstanceSnapshot) => boolean;
  decide: (s: InstanceSnapshot) => Omit<Classification, 'retry' | 'row'> & { retry?: boolean };
}

const st = (s: InstanceSnapshot): string => s.control?.state ?? 'unreadable';

/** The classification table, first matching row wins. Unit tests walk every row. */
export const STATE_TABLE: readonly Row[] = [
  {
    id: 'bad-args',
    comment: 'pg_isready got bad arguments (pghost/pgport malformed): a configuration error.',
    when: (s) => s.readiness === 'bad-args',
    decide: () => ({
      rc: OCF.ERR_CONFIGURED,
      role: 'unknown',
      reason: 'pg_isready rejected the connection parameters (check pghost and pgport)',
    }),
  },
  {
    id: 'standby',
    comment: 'Accepting and in recovery: a running hot standby.',
    when: (s) => s.readiness === 'accepting' && s.inRecovery === true,
    decide: () => ({
      rc: OCF.SUCCESS,
      role: 'standby',
      reason: 'the instance accepts connections and is in recovery (standby)',
    }),
  },
  {
    id: 'primary',
    comment: 'Accepting and not in recovery: a running primary.',
    when: (s) => s.readiness === 'accepting' && s.inRecovery === false,
    decide: () => ({
      rc: OCF.RUNNING_PROMOTED,
      role: 'primary',
      reason: 'the instance accepts connections and is not in recovery (primary)',
    }),
  },
  {
    id: 'connect-failed',
    comment: 'pg_isready said yes but psql could not connect (e.g. max_connections reached): soft error.',
    when: (s) => s.readiness === 'accepting' && s.inRecovery === 'connect-failed',
    decide: () => ({
      rc: OCF.ERR_GENERIC,
      role: 'unknown',
      reason: 'the instance answers pg_isready but a session could not connect',
    }),
  },
  {
    id: 'garbage',
    comment: 'Accepting but the role query failed or returned garbage: cannot trust this instance.',
    when: (s) => s.readiness === 'accepting',
    decide: () => ({
      rc: OCF.ERR_CONFIGURED,
      role: 'unknown',
      reason: 'pg_is_in_recovery() failed or returned an unexpected value',
    }),
  },
  {
    id: 'rejecting-transitional',
    comment:
      'Rejecting connections in a transitional control state (starting, shutting down, crash recovery): look again.',
    when: (s) => s.readiness === 'rejecting' && s.control !== null && TRANSITIONAL.includes(s.control.state),
    decide: (s) => ({
      rc: OCF.ERR_GENERIC,
      role: 'unknown',
      retry: true,
      reason: `the instance rejects connections while "${st(s)}"`,
    }),
  },
  {
    id: 'rejecting-running',
    comment:
      'Rejecting although the control file says running: a warm standby (hot_standby off) or a stuck start; unsupported.',
    when: (s) =>
      s.readiness === 'rejecting' &&
      (s.control?.state === 'in production' || s.control?.state === 'in archive recovery'),
    decide: (s) => ({
      rc: OCF.ERR_GENERIC,
      role: 'unknown',
      retry: true,
      reason: `the instance rejects connections although the control file says "${st(s)}" (warm standby or hot_standby=off is unsupported)`,
    }),
  },
  {
    id: 'rejecting-stopped',
    comment: 'Rejecting with a stopped control state: the postmaster is starting or going away; look again.',
    when: (s) => s.readiness === 'rejecting' && s.control !== null,
    decide: (s) => ({
      rc: OCF.ERR_GENERIC,
      role: 'unknown',
      retry: true,
      reason: `the instance rejects connections with control state "${st(s)}"`,
    }),
  },
  {
    id: 'rejecting-unreadable',
    comment: 'Rejecting and the control file is unreadable: the installation is broken.',
    when: (s) => s.readiness === 'rejecting',
    decide: () => ({
      rc: OCF.ERR_INSTALLED,
      role: 'unknown',
      reason: 'the instance rejects connections and pg_controldata could not be read',
    }),
  },
  {
    id: 'postmaster-alive',
    comment:
      'No response but the postmaster pid is alive (or a zombie not reaped yet): not listening, something is wrong.',
    when: (s) => s.postmasterAlive,
    decide: () => ({
      rc: OCF.ERR_GENERIC,
      role: 'unknown',
      reason: 'the postmaster process exists but does not answer connections',
    }),
  },
  {
    id: 'backup-label',
    comment: 'Stopped with backup_label: a fresh base backup that never started counts as stopped.',
    when: (s) => s.backupLabel,
    decide: () => ({
      rc: OCF.NOT_RUNNING,
      role: 'stopped',
      reason: 'the instance is stopped (a base backup that never started: backup_label present)',
    }),
  },
  {
    id: 'control-unreadable',
    comment: 'Stopped, control file unreadable: cannot tell what this data directory is.',
    when: (s) => s.control === null,
    decide: () => ({
      rc: OCF.ERR_INSTALLED,
      role: 'unknown',
      reason: 'the instance is not running and pg_controldata could not be read',
    }),
  },
  {
    id: 'crashed-primary-probe-nothing-runs',
    comment:
      'Probe, postmaster gone, no process in the data directory, control file "in production": a crashed primary on a node that was just fenced/rebooted. Nothing runs or writes this data here, so it is not running (7); start then runs the rejoin check (rewind or refuse+diverged). 9 here made Pacemaker demote/stop/fence it again in a loop.',
    when: (s) =>
      s.probe === true && s.postgresRunning === false && !s.postmasterAlive && s.control?.state === 'in production',
    decide: () => ({
      rc: OCF.NOT_RUNNING,
      role: 'crashed-primary',
      reason:
        'the primary crashed earlier (control file "in production") and nothing runs in its data directory: not running; start decides how it rejoins',
    }),
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
    decide: () => ({
      rc: OCF.NOT_RUNNING,
      role: 'crashed-standby',
      reason:
        'the standby crashed earlier (control file "in archive recovery") and nothing runs in its data directory: not running',
    }),
  },
  {
    id: 'crashed-primary',
    comment:
      'Stopped but the control file says "in production" (recurring monitor, or something still runs in the data directory): the primary crashed (not a clean stop); 9 so Pacemaker recovers it.',
    when: (s) => s.control?.state === 'in production',
    decide: () => ({
      rc: OCF.FAILED_PROMOTED,
      role: 'crashed-primary',
      reason: 'the postmaster is gone and the control file still says "in production": the primary crashed',
    }),
  },
  {
    id: 'crashed-standby',
    comment: 'Stopped but "in archive recovery": a crashed standby (OCF has no failed-standby code).',
    when: (s) => s.control?.state === 'in archive recovery',
    decide: () => ({
      rc: OCF.ERR_GENERIC,
      role: 'crashed-standby',
      reason: 'the postmaster is gone and the control file still says "in archive recovery": the standby crashed',
    }),
  },
  {
    id: 'clean-stop',
    comment: 'Cleanly shut down (as a primary or as a standby): not running.',
    when: (s) => s.control?.state === 'shut down' || s.control?.state === 'shut down in recovery',
    decide: (s) => ({ rc: OCF.NOT_RUNNING, role: 'stopped', reason: `the instance is stopped cleanly ("${st(s)}")` }),
  },
  {
    id: 'stopped-transitional',
    comment: 'Not running while the control file is transitional (a crash during start/stop): look again, then fail.',
    when: () => true,
    decide: (s) => ({
      rc: OCF.ERR_GENERIC,
      role: 'unknown',
      retry: true,
      reason: `the instance is not running and the control file says "${st(s)}"`,
    }),
  },
];

export function classifyInstance(s: InstanceSnapshot): Classification {
  for (const row of STATE_TABLE) {
    if (row.when(s)) {
      const r = row.decide(s);
      return { row: row.id, rc: r.rc, role: r.role, retry: r.retry ?? false, reason: r.reason };
    }
  }
  /* c8 ignore next */
  return { row: 'none', rc: OCF.ERR_GENERIC, role: 'unknown', retry: false, reason: 'no classification row matched' };
}
