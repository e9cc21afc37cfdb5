/**
 * Shared types of the PostgreSQL agent's decision cores: OCF return codes (WAL positions: lsn.ts),
 * pg_controldata snapshots and their parser. Pure: no I/O anywhere under src/pgsql/core/.
 */
import { type Lsn, parseLsn } from './lsn.js';

/** OCF return codes, with the numbers Pacemaker expects (PAF's set). */
export const OCF = {
  SUCCESS: 0,
  ERR_GENERIC: 1,
  ERR_ARGS: 2,
  ERR_UNIMPLEMENTED: 3,
  ERR_PERM: 4,
  ERR_INSTALLED: 5,
  ERR_CONFIGURED: 6,
  NOT_RUNNING: 7,
  RUNNING_PROMOTED: 8,
  FAILED_PROMOTED: 9,
} as const;
export type OcfCode = (typeof OCF)[keyof typeof OCF];

/** Human name of an OCF code, for messages ("OCF_RUNNING_MASTER (8)"). */
export function ocfName(rc: number): string {
  const names: Record<number, string> = {
    0: 'OCF_SUCCESS',
    1: 'OCF_ERR_GENERIC',
    2: 'OCF_ERR_ARGS',
    3: 'OCF_ERR_UNIMPLEMENTED',
    4: 'OCF_ERR_PERM',
    5: 'OCF_ERR_INSTALLED',
    6: 'OCF_ERR_CONFIGURED',
    7: 'OCF_NOT_RUNNING',
    8: 'OCF_RUNNING_MASTER',
    9: 'OCF_FAILED_MASTER',
  };
  return `${names[rc] ?? 'OCF_UNKNOWN'} (${rc})`;
}

/** `Database cluster state` values printed by pg_controldata (PG 12+). */
export type ClusterState =
  | 'starting up'
  | 'shut down'
  | 'shut down in recovery'
  | 'shutting down'
  | 'in crash recovery'
  | 'in archive recovery'
  | 'in production';

const CLUSTER_STATES: readonly ClusterState[] = [
  'starting up',
  'shut down',
  'shut down in recovery',
  'shutting down',
  'in crash recovery',
  'in archive recovery',
  'in production',
];

/** The fields of pg_controldata the agent reads. */
export interface ControlData {
  state: ClusterState;
  /** Latest checkpoint location. */
  checkpointLsn: Lsn;
  /** Latest checkpoint's REDO location. */
  redoLsn: Lsn;
  /** Latest checkpoint's TimeLineID (lags on a standby until a restartpoint, on a new primary until its first checkpoint). */
  timeline: number;
  walLevel: string;
  /** Minimum recovery ending location (0/0 when none). */
  minRecoveryLsn: Lsn | null;
  /** wal_log_hints setting or data checksums: pg_rewind needs one of them. */
  walLogHints: boolean;
  dataChecksums: boolean;
}

/** Parses pg_controldata output (LC_ALL=C); throws an Error naming the missing field. */
export function parseControldata(text: string): ControlData {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) fields.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  const need = (k: string): string => {
    const v = fields.get(k);
    if (v === undefined) throw new Error(`pg_controldata output has no "${k}" field`);
    return v;
  };
  const state = need('Database cluster state') as ClusterState;
  if (!CLUSTER_STATES.includes(state)) throw new Error(`pg_controldata reports an unknown cluster state "${state}"`);
  const lsn = (k: string): Lsn => {
    const v = parseLsn(need(k));
    if (v === null) throw new Error(`pg_controldata field "${k}" is not an LSN`);
    return v;
  };
  const timeline = Number(need("Latest checkpoint's TimeLineID"));
  if (!Number.isInteger(timeline) || timeline < 1)
    throw new Error('pg_controldata field "Latest checkpoint\'s TimeLineID" is not a timeline');
  const checksum = fields.get('Data page checksum version');
  return {
    state,
    checkpointLsn: lsn('Latest checkpoint location'),
    redoLsn: lsn("Latest checkpoint's REDO location"),
    timeline,
    walLevel: need('wal_level setting'),
    minRecoveryLsn: parseLsn(fields.get('Minimum recovery ending location')),
    walLogHints: fields.get('wal_log_hints setting') === 'on',
    dataChecksums: checksum !== undefined && checksum !== '0',
  };
}

/** A decision: what to do and one sentence saying why. */
export interface Decision<A extends string> {
  action: A;
  reason: string;
}
