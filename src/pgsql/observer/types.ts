/**
 * The observer's data model. One poll gives one `NodeProbe` per node (the typed rows of the
 * observation query, or the error that prevented it); the pure builder turns both probes into one
 * immutable `RackSnapshot` that the status feed, /metrics, the events and the CLI read.
 * LSNs stay in PostgreSQL's text form ("0/3000148") in the snapshot; byte distances are numbers.
 */

export type NodeRole = 'primary' | 'standby' | 'down' | 'unknown';

/** pg_stat_wal_receiver on a standby (absent when no WAL receiver runs). */
export interface WalReceiverRow {
  status: string;
  receivedTli: number | null;
  flushedLsn: string | null;
  latestEndLsn: string | null;
  slotName: string | null;
  senderHost: string | null;
  senderPort: number | null;
  /** Epoch seconds of the last message from the sender. */
  lastMsgReceiptAt: number | null;
}

/** One row of pg_stat_replication on a primary (or a cascading standby). */
export interface ReplicationRow {
  applicationName: string;
  clientAddr: string | null;
  state: string;
  syncState: string | null;
  syncPriority: number | null;
  sentLsn: string | null;
  writeLsn: string | null;
  flushLsn: string | null;
  replayLsn: string | null;
  writeLagS: number | null;
  flushLagS: number | null;
  replayLagS: number | null;
  /** Epoch seconds of the standby's last reply. */
  replyAt: number | null;
}

/** One row of pg_replication_slots. */
export interface SlotRow {
  slotName: string;
  slotType: string;
  active: boolean;
  restartLsn: string | null;
  walStatus: string | null;
  safeWalSizeBytes: number | null;
}

/** pg_control_checkpoint(): the last checkpoint (restartpoint on a standby) in the control file. */
export interface CheckpointRow {
  checkpointLsn: string;
  redoLsn: string;
  timelineId: number;
  /** Epoch seconds. */
  checkpointAt: number;
}

/** The typed result of the observation query on one node. */
export interface NodeRows {
  inRecovery: boolean;
  versionNum: number;
  /** pg_current_wal_lsn() (primary only). */
  currentLsn: string | null;
  /** pg_walfile_name(pg_current_wal_lsn()) (primary only): its first 8 hex digits are the live timeline. */
  currentWalFile: string | null;
  /** pg_last_wal_receive_lsn() (standby; NULL when the WAL receiver never ran since start). */
  receiveLsn: string | null;
  /** pg_last_wal_replay_lsn() (standby). */
  replayLsn: string | null;
  replayPaused: boolean | null;
  /** Epoch seconds of pg_last_xact_replay_timestamp(). */
  lastReplayAt: number | null;
  /** Server clock, epoch seconds (to compute ages without trusting the box clock). */
  serverNow: number;
  /** Epoch seconds the postmaster started. */
  startedAt: number;
  syncStandbyNames: string;
  /** primary_slot_name (PAF layout: set permanently on both nodes); null when empty. */
  primarySlotName: string | null;
  walReceiver: WalReceiverRow | null;
  replication: ReplicationRow[];
  slots: SlotRow[];
  checkpoint: CheckpointRow | null;
}

export interface ProbeError {
  /** SQLSTATE or errno code when there is one (57P03, ECONNREFUSED...). */
  code?: string;
  message: string;
}

/** One poll of one node. */
export type NodeProbe =
  | { ok: true; at: number; durationMs: number; rows: NodeRows }
  | { ok: false; at: number; durationMs: number; error: ProbeError };

/** Where observations come from: PostgreSQL itself, or the demo's in-process simulation. */
export interface RackSource {
  readonly kind: 'postgresql' | 'simulated';
  /** Polls one node; never rejects (errors come back as a failed probe). */
  probe(node: string): Promise<NodeProbe>;
  close(): Promise<void>;
}

export interface SlotView {
  name: string;
  type: string;
  active: boolean;
  restartLsn: string | null;
  /** WAL this slot keeps on the node: node position − restart_lsn. */
  retainedBytes: number | null;
  walStatus: string | null;
}

export interface CheckpointView {
  lsn: string;
  redoLsn: string;
  timeline: number;
  /** ISO-8601. */
  at: string;
}

export interface NodeView {
  name: string;
  host: string;
  port: number;
  role: NodeRole;
  /** Why the node is down/unknown (one clause), or a note on a running node. */
  reason: string | null;
  /** ISO time the role was first seen (carried over while it does not change). */
  roleSince: string;
  versionNum: number | null;
  timeline: number | null;
  /** Where the timeline was read: the live WAL file, the WAL receiver, or the (lagging) control file. */
  timelineSource: 'wal' | 'walreceiver' | 'controlfile' | null;
  currentLsn: string | null;
  receiveLsn: string | null;
  replayLsn: string | null;
  /** The node's WAL position: current on a primary, max(receive, replay) on a standby. */
  position: string | null;
  /** WAL the standby does not hold yet (primary current − standby flush), bytes; 0 on the primary. */
  lagBytes: number | null;
  /** WAL the standby has not replayed yet, bytes. */
  replayLagBytes: number | null;
  /** Replay delay in seconds (pg_stat_replication.replay_lag, or from the standby's replay timestamp). */
  lagSeconds: number | null;
  /** Standby: streams from the current primary and both sides agree, on the primary's timeline. */
  streaming: boolean;
  /** Standby: sync_state the primary reports for it (async, potential, sync, quorum). */
  syncState: string | null;
  /** Standby: walsender state on the primary (startup, catchup, streaming, backup, stopping). */
  senderState: string | null;
  /** Standby: WAL receiver status on the node itself. */
  receiverStatus: string | null;
  /** Standby: received timeline of its WAL receiver. */
  receivedTli: number | null;
  replayPaused: boolean | null;
  slots: SlotView[];
  checkpoint: CheckpointView | null;
  /** Promotion score (PAF rules, computed by the shared core from the primary's view). */
  score: number | null;
  /** The core's one-clause reason for the score. */
  scoreReason: string | null;
  /** primary_slot_name of the node: the slot it uses on its upstream when it streams. */
  primarySlotName: string | null;
  pollMs: number | null;
  /** Consecutive failed polls (0 when the last one succeeded). */
  failures: number;
}

export interface RackSnapshot {
  /** ISO time of the poll. */
  at: string;
  seq: number;
  source: 'postgresql' | 'simulated';
  nodes: NodeView[];
  /** The one writable primary, or null (none, or more than one). */
  primary: string | null;
  writablePrimaries: string[];
  /** The best promotion candidate if the primary were lost now (timeline, then WAL position). */
  candidate: string | null;
  state: 'ok' | 'degraded';
  /** One sentence: what the box sees. */
  summary: string;
}

/** A change worth one line in the events log. */
export interface RackEvent {
  kind: string;
  sentence: string;
  data: Record<string, unknown>;
}
