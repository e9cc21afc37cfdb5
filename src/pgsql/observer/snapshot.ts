/**
 * Pure snapshot building: the probes of one poll (typed query rows or errors) plus the previous
 * snapshot in, one immutable RackSnapshot out. Scores and the failover candidate come from the
 * shared decision core (src/pgsql/core), the same functions the OCF agent runs on the nodes.
 *
 * Lag in bytes is the primary's current LSN minus the standby's OWN positions (both nodes are read
 * in parallel; the primary's pg_stat_replication copy of them is only as fresh as the standby's
 * last status reply, up to wal_receiver_status_interval old). When the box cannot read the standby,
 * the primary's view is used. Lag in seconds is the primary's replay_lag measurement, else the age
 * of the standby's last replayed commit while it holds unreplayed WAL.
 */
import { electCandidate, type NodePosition } from '../core/election.js';
import { formatLsn, type Lsn, maxLsn, parseLsn } from '../core/lsn.js';
import { computeScores } from '../core/scores.js';
import { segmentTimeline } from '../core/wal.js';
import type {
  NodeProbe,
  NodeRole,
  NodeRows,
  NodeView,
  ProbeError,
  RackEvent,
  RackSnapshot,
  SlotView,
} from './types.js';

export interface ObservedNode {
  name: string;
  host: string;
  port: number;
  /** application_name in pg_stat_replication; default: the node name. */
  applicationName?: string | undefined;
}

export interface BuildInput {
  nodes: readonly ObservedNode[];
  probes: ReadonlyMap<string, NodeProbe>;
  prev?: RackSnapshot | undefined;
  seq: number;
  source: 'postgresql' | 'simulated';
  /** Bytes; 0 = no limit. */
  maxlagBytes: number;
  /** Seconds; 0 = no limit. */
  maxlagSeconds?: number;
  /** Poll time, epoch ms. */
  at: number;
}

/** SQLSTATEs and errno codes that mean "the server is not serving" rather than "the box cannot tell". */
const DOWN_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', '57P01', '57P02', '57P03', 'ENOENT']);
const DOWN_MESSAGES = [
  /connection terminated/i,
  /the database system is (starting up|shutting down|in recovery mode|not yet accepting)/i,
];

/**
 * down: the server refuses or drops connections (not running, starting, stopping, crashed);
 * unknown: the box cannot tell (timeout, unreachable host, authentication, permissions, odd rows).
 */
export function classifyFailure(e: ProbeError): { role: 'down' | 'unknown'; reason: string } {
  const msg = e.message.replace(/\s+/g, ' ').trim();
  if ((e.code && DOWN_CODES.has(e.code)) || DOWN_MESSAGES.some((re) => re.test(msg))) {
    const why =
      e.code === 'ECONNREFUSED'
        ? 'connection refused (PostgreSQL not running)'
        : e.code === '57P03'
          ? `not accepting connections yet (${msg})`
          : e.code === '57P01'
            ? `the server is shutting down (${msg})`
            : msg;
    return { role: 'down', reason: why };
  }
  if (/timeout|timed out/i.test(msg) || e.code === 'ETIMEDOUT' || e.code === '57014') {
    return { role: 'unknown', reason: `no answer in time (${msg})` };
  }
  if (e.code === '28P01' || e.code === '28000') return { role: 'unknown', reason: `authentication failed (${msg})` };
  if (e.code === '42501')
    return { role: 'unknown', reason: `permission denied; grant pg_monitor to the monitoring role (${msg})` };
  return { role: 'unknown', reason: e.code ? `${msg} [${e.code}]` : msg };
}

function iso(epochS: number): string {
  return new Date(Math.round(epochS * 1000)).toISOString();
}

function diff(a: Lsn | null, b: Lsn | null): number | null {
  if (a === null || b === null) return null;
  const d = a - b;
  return d > 0n ? Number(d) : 0;
}

/** The live timeline of a running node, and where it was read. */
function timelineOf(rows: NodeRows): { tl: number | null; src: NodeView['timelineSource'] } {
  if (!rows.inRecovery && rows.currentWalFile) {
    const t = segmentTimeline(rows.currentWalFile.toUpperCase());
    if (t !== null) return { tl: t, src: 'wal' };
  }
  if (rows.inRecovery && rows.walReceiver?.receivedTli) return { tl: rows.walReceiver.receivedTli, src: 'walreceiver' };
  if (rows.checkpoint) return { tl: rows.checkpoint.timelineId, src: 'controlfile' };
  return { tl: null, src: null };
}

/** A running node's WAL position: current on a primary, max(receive, replay) on a standby (PAF#225). */
function positionOf(rows: NodeRows): Lsn | null {
  return rows.inRecovery ? maxLsn(parseLsn(rows.receiveLsn), parseLsn(rows.replayLsn)) : parseLsn(rows.currentLsn);
}

function bytesText(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export function buildSnapshot(input: BuildInput): RackSnapshot {
  const at = new Date(input.at).toISOString();
  // pass 1: what each node says about itself
  const rowsOf = new Map<string, NodeRows>();
  const views: NodeView[] = input.nodes.map((n) => selfView(input, n, at, rowsOf));

  // pass 2: relations to the primary
  const writable = views.filter((v) => v.role === 'primary').map((v) => v.name);
  const primary = writable.length === 1 ? (views.find((v) => v.name === writable[0]) as NodeView) : null;
  for (const v of views) relateToPrimary(input, v, primary, rowsOf);

  // scores: the primary's view, computed by the shared core exactly as the agent does
  if (primary) applyScores(input, views, primary, rowsOf);

  // the failover candidate: timeline first, then max(receive, replay), among the running standbys
  const candidate = failoverCandidate(views, rowsOf);

  const { state, summary } = judge(views, writable, primary, input.maxlagBytes, input.maxlagSeconds ?? 0);
  const snap: RackSnapshot = {
    at,
    seq: input.seq,
    source: input.source,
    nodes: views,
    primary: primary?.name ?? null,
    writablePrimaries: writable,
    candidate,
    state,
    summary,
  };
  return deepFreeze(snap);
}

const appName = (n: ObservedNode) => n.applicationName ?? n.name;

/** Pass 1: what one node says about itself (its rows go to rowsOf when it answered). */
function selfView(input: BuildInput, n: ObservedNode, at: string, rowsOf: Map<string, NodeRows>): NodeView {
  const probe = input.probes.get(n.name);
  const prev = input.prev?.nodes.find((x) => x.name === n.name);
  const base: NodeView = {
    name: n.name,
    host: n.host,
    port: n.port,
    role: 'unknown',
    reason: null,
    roleSince: at,
    versionNum: null,
    timeline: null,
    timelineSource: null,
    currentLsn: null,
    receiveLsn: null,
    replayLsn: null,
    position: null,
    lagBytes: null,
    replayLagBytes: null,
    lagSeconds: null,
    streaming: false,
    syncState: null,
    senderState: null,
    receiverStatus: null,
    receivedTli: null,
    replayPaused: null,
    slots: [],
    checkpoint: null,
    score: null,
    scoreReason: null,
    primarySlotName: null,
    pollMs: probe ? Math.round(probe.durationMs) : null,
    failures: 0,
  };
  if (!probe) {
    base.reason = 'not polled yet';
  } else if (!probe.ok) {
    const c = classifyFailure(probe.error);
    base.role = c.role;
    base.reason = c.reason;
    base.failures = (prev?.failures ?? 0) + 1;
  } else {
    const r = probe.rows;
    rowsOf.set(n.name, r);
    const { tl, src } = timelineOf(r);
    const pos = positionOf(r);
    base.role = r.inRecovery ? 'standby' : 'primary';
    base.versionNum = r.versionNum;
    base.timeline = tl;
    base.timelineSource = src;
    base.currentLsn = r.currentLsn;
    base.receiveLsn = r.receiveLsn;
    base.replayLsn = r.replayLsn;
    base.position = pos === null ? null : formatLsn(pos);
    base.receiverStatus = r.walReceiver?.status ?? null;
    base.receivedTli = r.walReceiver?.receivedTli ?? null;
    base.replayPaused = r.replayPaused;
    base.primarySlotName = r.primarySlotName;
    base.slots = r.slots.map(
      (s): SlotView => ({
        name: s.slotName,
        type: s.slotType,
        active: s.active,
        restartLsn: s.restartLsn,
        retainedBytes: diff(pos, parseLsn(s.restartLsn)),
        walStatus: s.walStatus,
      }),
    );
    base.checkpoint = r.checkpoint
      ? {
          lsn: r.checkpoint.checkpointLsn,
          redoLsn: r.checkpoint.redoLsn,
          timeline: r.checkpoint.timelineId,
          at: iso(r.checkpoint.checkpointAt),
        }
      : null;
    if (r.replayPaused) base.reason = 'WAL replay is paused';
  }
  base.roleSince = prev && prev.role === base.role ? prev.roleSince : at;
  return base;
}

/** Pass 2: a node's lag, sync state and streaming as seen against the one primary. */
function relateToPrimary(
  input: BuildInput,
  v: NodeView,
  primary: NodeView | null,
  rowsOf: Map<string, NodeRows>,
): void {
  if (v.role === 'primary') {
    v.lagBytes = 0;
    v.replayLagBytes = 0;
    v.lagSeconds = 0;
    return;
  }
  if (!primary) return;
  const r = rowsOf.get(v.name);
  const pRows = rowsOf.get(primary.name) as NodeRows;
  const cfg = input.nodes.find((n) => n.name === v.name) as ObservedNode;
  const rep = pRows.replication.find((x) => x.applicationName === appName(cfg));
  const pCur = parseLsn(pRows.currentLsn);
  v.syncState = rep?.syncState ?? null;
  v.senderState = rep?.state ?? null;
  if (!r) {
    // the box cannot read the standby itself: the primary's (possibly older) view is all there is
    v.lagBytes = diff(pCur, parseLsn(rep?.flushLsn));
    v.replayLagBytes = diff(pCur, parseLsn(rep?.replayLsn));
    v.lagSeconds = v.replayLagBytes === 0 ? 0 : (rep?.replayLagS ?? null);
    return;
  }
  // bytes: the standby's own positions (fresh; the primary's copy of them is only as new as the
  // standby's last status reply, up to wal_receiver_status_interval old)
  v.lagBytes = diff(pCur, maxLsn(parseLsn(r.receiveLsn), parseLsn(r.replayLsn)) ?? parseLsn(rep?.flushLsn));
  v.replayLagBytes = diff(pCur, parseLsn(r.replayLsn) ?? parseLsn(rep?.replayLsn));
  // seconds: the primary's replay_lag measurement when it has one; else the standby's age of the
  // last replayed commit (only meaningful while it has received WAL it did not replay)
  const standbySide =
    r.receiveLsn !== null && r.receiveLsn === r.replayLsn
      ? 0
      : r.lastReplayAt !== null
        ? Math.max(0, r.serverNow - r.lastReplayAt)
        : null;
  v.lagSeconds = v.replayLagBytes === 0 ? 0 : (rep?.replayLagS ?? standbySide);
  v.streaming =
    rep?.state === 'streaming' &&
    r.walReceiver?.status === 'streaming' &&
    primary.timeline !== null &&
    r.walReceiver.receivedTli === primary.timeline;
}

/** The promotion scores from the primary's view (PAF rules, the shared core). */
function applyScores(input: BuildInput, views: NodeView[], primary: NodeView, rowsOf: Map<string, NodeRows>): void {
  const pRows = rowsOf.get(primary.name) as NodeRows;
  const pCur = parseLsn(pRows.currentLsn);
  if (pCur !== null) {
    const byApp = new Map(input.nodes.map((n) => [appName(n), n.name]));
    const scores = computeScores({
      localNode: appName(input.nodes.find((n) => n.name === primary.name) as ObservedNode),
      partitionNodes: input.nodes.map(appName),
      currentLsn: pCur,
      walSenders: pRows.replication.map((x) => ({
        applicationName: x.applicationName,
        state: x.state,
        writeLsn: parseLsn(x.writeLsn),
      })),
      maxlag: input.maxlagBytes,
    });
    for (const s of scores) {
      const v = views.find((x) => x.name === byApp.get(s.node));
      if (v) {
        v.score = s.score;
        v.scoreReason = s.reason;
      }
    }
  }
}

/** The failover candidate: timeline first, then max(receive, replay), among the running standbys. */
function failoverCandidate(views: NodeView[], rowsOf: Map<string, NodeRows>): string | null {
  const positions: NodePosition[] = views
    .filter((v) => v.role === 'standby')
    .map((v) => {
      const r = rowsOf.get(v.name) as NodeRows;
      return {
        node: v.name,
        timeline: v.timeline,
        receiveLsn: parseLsn(r.receiveLsn),
        replayLsn: parseLsn(r.replayLsn),
      };
    });
  const [first, ...rest] = positions;
  return first ? electCandidate(first, rest).winner : null;
}

function describeNode(v: NodeView): string {
  if (v.role === 'down') return `${v.name} is down (${v.reason})`;
  if (v.role === 'unknown') return `${v.name} is unknown (${v.reason})`;
  return `${v.name} is ${v.role === 'primary' ? 'primary' : 'a standby'} on timeline ${v.timeline ?? '?'}`;
}

/** Overall verdict and the one sentence the status page shows. */
function judge(
  views: NodeView[],
  writable: string[],
  primary: NodeView | null,
  maxlagBytes: number,
  maxlagSeconds: number,
): { state: 'ok' | 'degraded'; summary: string } {
  if (writable.length > 1) {
    const tls = views.filter((v) => v.role === 'primary').map((v) => `${v.name} on timeline ${v.timeline ?? '?'}`);
    return {
      state: 'degraded',
      summary: `SPLIT BRAIN: ${tls.join(' and ')} are both writable primaries; writes to one of them will be lost, fence one now.`,
    };
  }
  if (!primary) {
    if (views.every((v) => v.role === 'down' || v.role === 'unknown')) {
      return { state: 'degraded', summary: `No node answers: ${views.map(describeNode).join('; ')}.` };
    }
    return { state: 'degraded', summary: `No writable primary: ${views.map(describeNode).join('; ')}.` };
  }
  const problems: string[] = [];
  const fine: string[] = [];
  for (const v of views) {
    if (v === primary) continue;
    if (v.role === 'unknown' && v.senderState === 'streaming') {
      problems.push(`the box cannot read ${v.name} (${v.reason}), but ${primary.name} reports it streaming`);
    } else if (v.role !== 'standby') {
      problems.push(`${describeNode(v)}, so there is no failover target`);
    } else if (!v.streaming) {
      problems.push(
        `${v.name} is a standby but does not stream from ${primary.name} (sender ${v.senderState ?? 'absent'}, receiver ${v.receiverStatus ?? 'absent'}${v.receivedTli !== null && v.receivedTli !== primary.timeline ? `, on timeline ${v.receivedTli}` : ''})`,
      );
    } else if (maxlagBytes > 0 && v.lagBytes !== null && v.lagBytes > maxlagBytes) {
      problems.push(
        `${v.name} lags ${bytesText(v.lagBytes)} behind ${primary.name}, beyond maxlag ${bytesText(maxlagBytes)}`,
      );
    } else if (maxlagSeconds > 0 && v.lagSeconds !== null && v.lagSeconds > maxlagSeconds) {
      problems.push(`${v.name} replays ${v.lagSeconds.toFixed(1)} s behind ${primary.name}, beyond ${maxlagSeconds} s`);
    } else {
      fine.push(
        `${v.name} streams (${v.syncState ?? 'async'}) ${v.lagBytes === null ? 'with unknown lag' : `${bytesText(v.lagBytes)} behind`}`,
      );
    }
  }
  const head = `${primary.name} is primary on timeline ${primary.timeline ?? '?'}`;
  if (problems.length) return { state: 'degraded', summary: `${head}; ${problems.join('; ')}.` };
  return { state: 'ok', summary: `${head}; ${fine.join('; ')}.` };
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as Record<string, unknown>)) deepFreeze(v);
  }
  return o;
}

function roleWord(r: NodeRole): string {
  return r === 'primary' ? 'primary' : r === 'standby' ? 'a standby' : r;
}

/** What changed between two snapshots, one sentence each (decisions and role changes for ctx.events). */
export function rackEvents(prev: RackSnapshot | undefined, next: RackSnapshot): RackEvent[] {
  const out: RackEvent[] = [];
  if (!prev) {
    out.push({
      kind: 'pgsql.observe',
      sentence: `First observation of the rack${next.source === 'simulated' ? ' (SIMULATED)' : ''}: ${next.summary}`,
      data: { state: next.state, primary: next.primary },
    });
    if (next.writablePrimaries.length > 1) {
      out.push({ kind: 'pgsql.split-brain', sentence: next.summary, data: { primaries: next.writablePrimaries } });
    }
    return out;
  }
  for (const v of next.nodes) {
    const p = prev.nodes.find((x) => x.name === v.name);
    if (!p) continue;
    const data = { node: v.name, role: v.role, previous: p.role, timeline: v.timeline };
    if (p.role !== v.role) {
      let sentence: string;
      if (v.role === 'primary')
        sentence = `${v.name} is now primary on timeline ${v.timeline ?? '?'} (was ${roleWord(p.role)}).`;
      else if (v.role === 'standby')
        sentence = `${v.name} is now a standby on timeline ${v.timeline ?? '?'} (was ${roleWord(p.role)}).`;
      else if (v.role === 'down') sentence = `${v.name} is down: ${v.reason} (was ${roleWord(p.role)}).`;
      else sentence = `The box cannot tell what ${v.name} is: ${v.reason} (was ${roleWord(p.role)}).`;
      out.push({ kind: 'pgsql.role', sentence, data });
    } else if (v.timeline !== null && p.timeline !== null && v.timeline !== p.timeline) {
      out.push({
        kind: 'pgsql.timeline',
        sentence: `${v.name} (${roleWord(v.role)}) moved from timeline ${p.timeline} to ${v.timeline}.`,
        data,
      });
    }
    if (v.role === 'standby' && next.primary) {
      if (v.streaming && !p.streaming) {
        out.push({
          kind: 'pgsql.replication',
          sentence: `${v.name} streams from ${next.primary} on timeline ${v.receivedTli ?? '?'} (${v.syncState ?? 'async'}).`,
          data: { node: v.name, primary: next.primary, syncState: v.syncState },
        });
      } else if (!v.streaming && p.streaming && prev.primary === next.primary) {
        out.push({
          kind: 'pgsql.replication',
          sentence: `${v.name} stopped streaming from ${next.primary} (sender ${v.senderState ?? 'absent'}, receiver ${v.receiverStatus ?? 'absent'}).`,
          data: { node: v.name, primary: next.primary },
        });
      }
    }
  }
  const wasSplit = prev.writablePrimaries.length > 1;
  const isSplit = next.writablePrimaries.length > 1;
  if (isSplit && !wasSplit)
    out.push({ kind: 'pgsql.split-brain', sentence: next.summary, data: { primaries: next.writablePrimaries } });
  if (!isSplit && wasSplit) {
    out.push({
      kind: 'pgsql.split-brain',
      sentence: `Split brain over: ${next.writablePrimaries.length === 1 ? `${next.writablePrimaries[0]} is the only writable primary` : 'no writable primary is left'}.`,
      data: { primaries: next.writablePrimaries },
    });
  }
  if (prev.state !== next.state) {
    out.push({
      kind: 'pgsql.health',
      sentence: next.state === 'ok' ? `Rack healthy again: ${next.summary}` : `Rack degraded: ${next.summary}`,
      data: { state: next.state },
    });
  }
  return out;
}
