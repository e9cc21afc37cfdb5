/**
 * The observation query (one round trip per node and poll, readable by a pg_monitor member) and
 * the pure parser of its single result row into `NodeRows`. Functions that error on the wrong side
 * of recovery (pg_current_wal_lsn, pg_walfile_name, pg_is_wal_replay_paused) sit behind CASE, which
 * PostgreSQL evaluates lazily for volatile functions. Needs PostgreSQL 13 or later.
 */
import type { CheckpointRow, NodeRows, ReplicationRow, SlotRow, WalReceiverRow } from './types.js';

export const OBSERVATION_SQL = `
SELECT
  pg_is_in_recovery() AS in_recovery,
  current_setting('server_version_num')::int AS version_num,
  CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END AS current_lsn,
  CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_walfile_name(pg_current_wal_lsn()) END AS current_walfile,
  pg_last_wal_receive_lsn()::text AS receive_lsn,
  pg_last_wal_replay_lsn()::text AS replay_lsn,
  CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() ELSE NULL END AS replay_paused,
  extract(epoch FROM pg_last_xact_replay_timestamp())::float8 AS last_replay_at,
  extract(epoch FROM clock_timestamp())::float8 AS server_now,
  extract(epoch FROM pg_postmaster_start_time())::float8 AS started_at,
  current_setting('synchronous_standby_names') AS sync_standby_names,
  current_setting('primary_slot_name') AS primary_slot_name,
  (SELECT json_build_object(
      'status', r.status, 'received_tli', r.received_tli, 'flushed_lsn', r.flushed_lsn::text,
      'latest_end_lsn', r.latest_end_lsn::text, 'slot_name', r.slot_name, 'sender_host', r.sender_host,
      'sender_port', r.sender_port, 'last_msg_receipt_at', extract(epoch FROM r.last_msg_receipt_time)::float8)
     FROM pg_stat_wal_receiver r LIMIT 1) AS wal_receiver,
  (SELECT coalesce(json_agg(json_build_object(
      'application_name', s.application_name, 'client_addr', host(s.client_addr), 'state', s.state,
      'sync_state', s.sync_state, 'sync_priority', s.sync_priority,
      'sent_lsn', s.sent_lsn::text, 'write_lsn', s.write_lsn::text, 'flush_lsn', s.flush_lsn::text,
      'replay_lsn', s.replay_lsn::text,
      'write_lag_s', extract(epoch FROM s.write_lag)::float8, 'flush_lag_s', extract(epoch FROM s.flush_lag)::float8,
      'replay_lag_s', extract(epoch FROM s.replay_lag)::float8,
      'reply_at', extract(epoch FROM s.reply_time)::float8) ORDER BY s.application_name), '[]'::json)
     FROM pg_stat_replication s) AS replication,
  (SELECT coalesce(json_agg(json_build_object(
      'slot_name', l.slot_name, 'slot_type', l.slot_type, 'active', l.active,
      'restart_lsn', l.restart_lsn::text, 'wal_status', l.wal_status, 'safe_wal_size', l.safe_wal_size)
      ORDER BY l.slot_name), '[]'::json)
     FROM pg_replication_slots l) AS slots,
  (SELECT json_build_object('checkpoint_lsn', c.checkpoint_lsn::text, 'redo_lsn', c.redo_lsn::text,
      'timeline_id', c.timeline_id, 'checkpoint_at', extract(epoch FROM c.checkpoint_time)::float8)
     FROM pg_control_checkpoint() c) AS checkpoint
`;

/** A row that does not have the shape the query promises (wrong server, proxy, permissions). */
export class ObservationFormatError extends Error {
  readonly code = 'RW_FORMAT';
  constructor(field: string, detail: string) {
    super(`observation row field ${field}: ${detail}`);
    this.name = 'ObservationFormatError';
  }
}

type Row = Record<string, unknown>;

function obj(v: unknown, field: string): Row {
  const x = typeof v === 'string' ? safeJson(v, field) : v;
  if (x === null || typeof x !== 'object' || Array.isArray(x))
    throw new ObservationFormatError(field, 'expected an object');
  return x as Row;
}

function arr(v: unknown, field: string): Row[] {
  const x = typeof v === 'string' ? safeJson(v, field) : v;
  if (!Array.isArray(x)) throw new ObservationFormatError(field, 'expected an array');
  return x.map((e, i) => obj(e, `${field}[${i}]`));
}

function safeJson(s: string, field: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    throw new ObservationFormatError(field, 'malformed JSON');
  }
}

function bool(v: unknown, field: string): boolean {
  if (typeof v === 'boolean') return v;
  throw new ObservationFormatError(field, `expected a boolean, got ${JSON.stringify(v)}`);
}

function optBool(v: unknown, field: string): boolean | null {
  return v === null || v === undefined ? null : bool(v, field);
}

function num(v: unknown, field: string): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n === 'number' && Number.isFinite(n)) return n;
  throw new ObservationFormatError(field, `expected a number, got ${JSON.stringify(v)}`);
}

function optNum(v: unknown, field: string): number | null {
  return v === null || v === undefined ? null : num(v, field);
}

const LSN_TEXT = /^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/i;

function optLsn(v: unknown, field: string): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' && LSN_TEXT.test(v)) return v.toUpperCase();
  throw new ObservationFormatError(field, `expected an LSN like 0/3000148, got ${JSON.stringify(v)}`);
}

function lsn(v: unknown, field: string): string {
  const x = optLsn(v, field);
  if (x === null) throw new ObservationFormatError(field, 'missing');
  return x;
}

function optStr(v: unknown, field: string): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  throw new ObservationFormatError(field, `expected a string, got ${JSON.stringify(v)}`);
}

function str(v: unknown, field: string): string {
  const x = optStr(v, field);
  if (x === null) throw new ObservationFormatError(field, 'missing');
  return x;
}

function walReceiver(v: unknown): WalReceiverRow | null {
  if (v === null || v === undefined) return null;
  const r = obj(v, 'wal_receiver');
  return {
    status: str(r.status, 'wal_receiver.status'),
    receivedTli: optNum(r.received_tli, 'wal_receiver.received_tli'),
    flushedLsn: optLsn(r.flushed_lsn, 'wal_receiver.flushed_lsn'),
    latestEndLsn: optLsn(r.latest_end_lsn, 'wal_receiver.latest_end_lsn'),
    slotName: optStr(r.slot_name, 'wal_receiver.slot_name'),
    senderHost: optStr(r.sender_host, 'wal_receiver.sender_host'),
    senderPort: optNum(r.sender_port, 'wal_receiver.sender_port'),
    lastMsgReceiptAt: optNum(r.last_msg_receipt_at, 'wal_receiver.last_msg_receipt_at'),
  };
}

function replicationRow(r: Row, i: number): ReplicationRow {
  const f = (k: string) => `replication[${i}].${k}`;
  return {
    // application_name is '' for a walsender whose client set none
    applicationName: optStr(r.application_name, f('application_name')) ?? '',
    clientAddr: optStr(r.client_addr, f('client_addr')),
    // state/sync_state are NULL when the monitoring role lacks pg_read_all_stats
    state: optStr(r.state, f('state')) ?? 'unknown',
    syncState: optStr(r.sync_state, f('sync_state')),
    syncPriority: optNum(r.sync_priority, f('sync_priority')),
    sentLsn: optLsn(r.sent_lsn, f('sent_lsn')),
    writeLsn: optLsn(r.write_lsn, f('write_lsn')),
    flushLsn: optLsn(r.flush_lsn, f('flush_lsn')),
    replayLsn: optLsn(r.replay_lsn, f('replay_lsn')),
    writeLagS: optNum(r.write_lag_s, f('write_lag_s')),
    flushLagS: optNum(r.flush_lag_s, f('flush_lag_s')),
    replayLagS: optNum(r.replay_lag_s, f('replay_lag_s')),
    replyAt: optNum(r.reply_at, f('reply_at')),
  };
}

function slotRow(r: Row, i: number): SlotRow {
  const f = (k: string) => `slots[${i}].${k}`;
  return {
    slotName: str(r.slot_name, f('slot_name')),
    slotType: str(r.slot_type, f('slot_type')),
    active: bool(r.active, f('active')),
    restartLsn: optLsn(r.restart_lsn, f('restart_lsn')),
    walStatus: optStr(r.wal_status, f('wal_status')),
    safeWalSizeBytes: optNum(r.safe_wal_size, f('safe_wal_size')),
  };
}

function checkpoint(v: unknown): CheckpointRow | null {
  if (v === null || v === undefined) return null;
  const c = obj(v, 'checkpoint');
  return {
    checkpointLsn: lsn(c.checkpoint_lsn, 'checkpoint.checkpoint_lsn'),
    redoLsn: lsn(c.redo_lsn, 'checkpoint.redo_lsn'),
    timelineId: num(c.timeline_id, 'checkpoint.timeline_id'),
    checkpointAt: num(c.checkpoint_at, 'checkpoint.checkpoint_at'),
  };
}

/** Parses the observation row; throws ObservationFormatError naming the first bad field. */
export function parseObservationRow(row: unknown): NodeRows {
  const r = obj(row, '(row)');
  const walfile = optStr(r.current_walfile, 'current_walfile');
  if (walfile !== null && !/^[0-9A-F]{24}$/i.test(walfile)) {
    throw new ObservationFormatError(
      'current_walfile',
      `expected a 24-hex-digit WAL file name, got ${JSON.stringify(walfile)}`,
    );
  }
  return {
    inRecovery: bool(r.in_recovery, 'in_recovery'),
    versionNum: num(r.version_num, 'version_num'),
    currentLsn: optLsn(r.current_lsn, 'current_lsn'),
    currentWalFile: walfile,
    receiveLsn: optLsn(r.receive_lsn, 'receive_lsn'),
    replayLsn: optLsn(r.replay_lsn, 'replay_lsn'),
    replayPaused: optBool(r.replay_paused, 'replay_paused'),
    lastReplayAt: optNum(r.last_replay_at, 'last_replay_at'),
    serverNow: num(r.server_now, 'server_now'),
    startedAt: num(r.started_at, 'started_at'),
    syncStandbyNames: optStr(r.sync_standby_names, 'sync_standby_names') ?? '',
    primarySlotName: optStr(r.primary_slot_name, 'primary_slot_name') || null,
    walReceiver: walReceiver(r.wal_receiver),
    replication: arr(r.replication ?? [], 'replication').map(replicationRow),
    slots: arr(r.slots ?? [], 'slots').map(slotRow),
    checkpoint: checkpoint(r.checkpoint),
  };
}
