/**
 * Observation rows for the unit tests, shaped like the real query's output (captured from a PG15
 * rack: node-pg returns the json columns already parsed, floats as numbers, pg_lsn as text).
 */
import type { NodeProbe, NodeRows, ReplicationRow } from '../../../src/pgsql/observer/types.js';

export const NOW_S = 1_795_322_200;

/** A raw row as node-pg hands it over for a primary with one streaming standby (captured). */
export const RAW_PRIMARY_ROW = {
  in_recovery: false,
  version_num: 150020,
  current_lsn: '0/3000000',
  current_walfile: '000000010000000000000002',
  receive_lsn: null,
  replay_lsn: null,
  replay_paused: null,
  last_replay_at: null,
  server_now: 1795322199.64148,
  started_at: 1795322199.104417,
  sync_standby_names: '',
  primary_slot_name: 'node_a',
  wal_receiver: null,
  replication: [
    {
      application_name: 'node-b',
      client_addr: '127.0.0.1',
      state: 'streaming',
      sync_state: 'async',
      sync_priority: 0,
      sent_lsn: '0/3000000',
      write_lsn: '0/3000000',
      flush_lsn: '0/3000000',
      replay_lsn: '0/3000000',
      write_lag_s: 0.100315,
      flush_lag_s: 0.100315,
      replay_lag_s: 0.100315,
      reply_at: 1795322199.623728,
    },
  ],
  slots: [
    {
      slot_name: 'node_b',
      slot_type: 'physical',
      active: true,
      restart_lsn: '0/3000000',
      wal_status: 'reserved',
      safe_wal_size: 285212672,
    },
  ],
  checkpoint: { checkpoint_lsn: '0/2000060', redo_lsn: '0/2000028', timeline_id: 1, checkpoint_at: 1795322199 },
};

/** The standby's raw row (captured). */
export const RAW_STANDBY_ROW = {
  in_recovery: true,
  version_num: 150020,
  current_lsn: null,
  current_walfile: null,
  receive_lsn: '0/3000000',
  replay_lsn: '0/3000000',
  replay_paused: false,
  last_replay_at: null,
  server_now: 1795322199.659079,
  started_at: 1795322199.516418,
  sync_standby_names: '',
  primary_slot_name: 'node_b',
  wal_receiver: {
    status: 'streaming',
    received_tli: 1,
    flushed_lsn: '0/3000000',
    latest_end_lsn: null,
    slot_name: 'node_b',
    sender_host: '127.0.0.1',
    sender_port: 36897,
    last_msg_receipt_at: 1795322199.520045,
  },
  replication: [],
  slots: [
    {
      slot_name: 'node_a',
      slot_type: 'physical',
      active: false,
      restart_lsn: null,
      wal_status: null,
      safe_wal_size: 285212672,
    },
  ],
  checkpoint: { checkpoint_lsn: '0/2000060', redo_lsn: '0/2000028', timeline_id: 1, checkpoint_at: 1795322199 },
};

export function repRow(over: Partial<ReplicationRow> = {}): ReplicationRow {
  return {
    applicationName: 'node-b',
    clientAddr: '127.0.0.1',
    state: 'streaming',
    syncState: 'async',
    syncPriority: 0,
    sentLsn: '0/5000000',
    writeLsn: '0/5000000',
    flushLsn: '0/5000000',
    replayLsn: '0/5000000',
    writeLagS: null,
    flushLagS: null,
    replayLagS: null,
    replyAt: NOW_S,
    ...over,
  };
}

export function primaryRows(over: Partial<NodeRows> = {}): NodeRows {
  return {
    inRecovery: false,
    versionNum: 150020,
    currentLsn: '0/5000000',
    currentWalFile: '000000010000000000000004',
    receiveLsn: null,
    replayLsn: null,
    replayPaused: null,
    lastReplayAt: null,
    serverNow: NOW_S,
    startedAt: NOW_S - 100,
    syncStandbyNames: '',
    primarySlotName: 'node_a',
    walReceiver: null,
    replication: [repRow()],
    slots: [
      {
        slotName: 'node_b',
        slotType: 'physical',
        active: true,
        restartLsn: '0/5000000',
        walStatus: 'reserved',
        safeWalSizeBytes: 1 << 28,
      },
    ],
    checkpoint: { checkpointLsn: '0/4000060', redoLsn: '0/4000028', timelineId: 1, checkpointAt: NOW_S - 50 },
    ...over,
  };
}

export function standbyRows(over: Partial<NodeRows> = {}): NodeRows {
  return {
    inRecovery: true,
    versionNum: 150020,
    currentLsn: null,
    currentWalFile: null,
    receiveLsn: '0/5000000',
    replayLsn: '0/5000000',
    replayPaused: false,
    lastReplayAt: NOW_S - 1,
    serverNow: NOW_S,
    startedAt: NOW_S - 90,
    syncStandbyNames: '',
    primarySlotName: 'node_b',
    walReceiver: {
      status: 'streaming',
      receivedTli: 1,
      flushedLsn: '0/5000000',
      latestEndLsn: '0/5000000',
      slotName: 'node_b',
      senderHost: '127.0.0.1',
      senderPort: 5432,
      lastMsgReceiptAt: NOW_S,
    },
    replication: [],
    slots: [
      {
        slotName: 'node_a',
        slotType: 'physical',
        active: false,
        restartLsn: null,
        walStatus: null,
        safeWalSizeBytes: 1 << 28,
      },
    ],
    checkpoint: { checkpointLsn: '0/4000060', redoLsn: '0/4000028', timelineId: 1, checkpointAt: NOW_S - 40 },
    ...over,
  };
}

export function ok(rows: NodeRows, at = NOW_S * 1000): NodeProbe {
  return { ok: true, at, durationMs: 3, rows };
}

export function failed(code: string | undefined, message: string, at = NOW_S * 1000): NodeProbe {
  return { ok: false, at, durationMs: 2, error: code ? { code, message } : { message } };
}

export const NODES = [
  { name: 'node-a', host: '10.0.0.1', port: 5432 },
  { name: 'node-b', host: '10.0.0.2', port: 5432 },
] as const;
