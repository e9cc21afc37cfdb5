/**
 * An in-process SIMULATED rack for the demo when PostgreSQL is not installed: two nodes whose
 * observation rows look like what the real query returns (same NodeRows type, same builder), a
 * primary whose WAL position grows, a standby that follows with a small lag, and controls to
 * crash, start, promote and cut replication so the demo can show every state. Time is passed in,
 * so tests drive it deterministically. Everything it reports is labelled "simulated".
 */
import { formatLsn, type Lsn } from '../pgsql/core/lsn.js';
import type { NodeProbe, NodeRows, RackSource } from '../pgsql/observer/types.js';

interface SimNode {
  name: string;
  running: boolean;
  inRecovery: boolean;
  timeline: number;
  /** primary: current LSN; standby: last received */
  lsn: Lsn;
  replay: Lsn;
  /** standby: WAL receiver connected to the primary */
  streaming: boolean;
  startedAt: number;
  lastReplayAt: number | null;
  checkpointLsn: Lsn;
  checkpointAt: number;
  checkpointTli: number;
}

export interface SimulatedRackOptions {
  names?: [string, string];
  /** WAL written per second by the simulated primary. */
  walBytesPerSecond?: number;
  /** Clock, epoch ms (tests pass their own). */
  now?: () => number;
}

const START_LSN = 0x3000000n;

function slotName(n: string): string {
  return n.replace(/[^a-z0-9_]/g, '_');
}

export class SimulatedRack implements RackSource {
  readonly kind = 'simulated' as const;
  private readonly nodes: SimNode[];
  private readonly rate: number;
  private readonly now: () => number;
  private last: number;

  constructor(opts: SimulatedRackOptions = {}) {
    const [a, b] = opts.names ?? ['node-a', 'node-b'];
    this.now = opts.now ?? Date.now;
    this.rate = opts.walBytesPerSecond ?? 64 * 1024;
    this.last = this.now();
    const t = this.last / 1000;
    const mk = (name: string, inRecovery: boolean): SimNode => ({
      name,
      running: true,
      inRecovery,
      timeline: 1,
      lsn: START_LSN,
      replay: START_LSN,
      streaming: inRecovery,
      startedAt: t,
      lastReplayAt: null,
      checkpointLsn: START_LSN - 0x60n,
      checkpointAt: t,
      checkpointTli: 1,
    });
    this.nodes = [mk(a, false), mk(b, true)];
  }

  names(): string[] {
    return this.nodes.map((n) => n.name);
  }

  private node(name: string): SimNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no simulated node named ${name}`);
    return n;
  }

  private primary(): SimNode | undefined {
    const p = this.nodes.filter((n) => n.running && !n.inRecovery);
    return p.length === 1 ? p[0] : undefined;
  }

  /** Advances WAL and replication up to now. */
  private advance(): void {
    const now = this.now();
    const dt = Math.max(0, (now - this.last) / 1000);
    this.last = now;
    for (const p of this.nodes.filter((n) => n.running && !n.inRecovery)) p.lsn += BigInt(Math.round(dt * this.rate));
    const p = this.primary();
    for (const s of this.nodes.filter((n) => n.running && n.inRecovery)) {
      if (s.streaming && p && p.timeline >= s.timeline) {
        s.timeline = p.timeline;
        // the standby trails by up to ~100 ms of WAL and replays what it received
        const target = p.lsn - BigInt(Math.round(Math.random() * 0.1 * this.rate));
        if (target > s.lsn) s.lsn = target;
        if (s.lsn > s.replay) {
          s.replay = s.lsn;
          s.lastReplayAt = now / 1000;
        }
      } else {
        s.streaming = false;
      }
    }
  }

  /** Kills a node (like kill -9 of its postmaster). */
  crash(name: string): void {
    this.advance();
    this.node(name).running = false;
  }

  /** Starts a stopped node as a standby of the current primary (a rejoin). */
  startAsStandby(name: string): void {
    this.advance();
    const n = this.node(name);
    n.running = true;
    n.inRecovery = true;
    n.streaming = this.primary() !== undefined;
    n.startedAt = this.now() / 1000;
    const p = this.primary();
    if (p && n.lsn > p.lsn) n.lsn = p.lsn;
    if (n.replay > n.lsn) n.replay = n.lsn;
  }

  /** Promotes a standby: new timeline, writable. */
  promote(name: string): void {
    this.advance();
    const n = this.node(name);
    if (!n.running || !n.inRecovery) throw new Error(`${name} is not a running standby`);
    n.inRecovery = false;
    n.streaming = false;
    n.timeline += 1;
    n.lsn = n.replay;
  }

  /** Cuts (false) or restores (true) a standby's replication stream. */
  setStreaming(name: string, on: boolean): void {
    this.advance();
    const n = this.node(name);
    n.streaming = on && n.running && n.inRecovery;
  }

  /** A controlled switchover: the primary is demoted (clean stop, restart as standby), the standby promoted. */
  switchover(): void {
    this.advance();
    const p = this.primary();
    const s = this.nodes.find((n) => n !== p && n.running && n.inRecovery);
    if (!p || !s) throw new Error('a switchover needs one primary and one running standby');
    s.lsn = p.lsn;
    s.replay = p.lsn;
    this.promote(s.name);
    p.inRecovery = true;
    p.streaming = true;
    p.timeline = s.timeline;
  }

  async probe(name: string): Promise<NodeProbe> {
    this.advance();
    const at = this.now();
    const n = this.node(name);
    const durationMs = 1 + Math.random() * 2;
    if (!n.running) {
      return {
        ok: false,
        at,
        durationMs,
        error: { code: 'ECONNREFUSED', message: `connect ECONNREFUSED (simulated ${name})` },
      };
    }
    return { ok: true, at, durationMs, rows: this.rowsOf(n) };
  }

  private rowsOf(n: SimNode): NodeRows {
    const now = this.now() / 1000;
    const others = this.nodes.filter((x) => x !== n);
    const seg = (lsn: Lsn) =>
      `${n.timeline.toString(16).padStart(8, '0')}${(lsn >> 32n).toString(16).padStart(8, '0')}${((lsn & 0xffffffffn) >> 24n).toString(16).padStart(8, '0')}`.toUpperCase();
    const p = this.primary();
    const followers = n.inRecovery ? [] : others.filter((o) => o.running && o.inRecovery && o.streaming && p === n);
    return {
      inRecovery: n.inRecovery,
      versionNum: 150000,
      currentLsn: n.inRecovery ? null : formatLsn(n.lsn),
      currentWalFile: n.inRecovery ? null : seg(n.lsn),
      receiveLsn: n.inRecovery ? formatLsn(n.lsn) : null,
      replayLsn: n.inRecovery ? formatLsn(n.replay) : null,
      replayPaused: n.inRecovery ? false : null,
      lastReplayAt: n.inRecovery ? n.lastReplayAt : null,
      serverNow: now,
      startedAt: n.startedAt,
      syncStandbyNames: '',
      primarySlotName: slotName(n.name),
      walReceiver:
        n.inRecovery && n.streaming
          ? {
              status: 'streaming',
              receivedTli: n.timeline,
              flushedLsn: formatLsn(n.lsn),
              latestEndLsn: formatLsn(n.lsn),
              slotName: slotName(n.name),
              senderHost: 'simulated',
              senderPort: 5432,
              lastMsgReceiptAt: now,
            }
          : null,
      replication: followers.map((o) => ({
        applicationName: o.name,
        clientAddr: '192.0.2.1',
        state: 'streaming',
        syncState: 'async',
        syncPriority: 0,
        sentLsn: formatLsn(o.lsn),
        writeLsn: formatLsn(o.lsn),
        flushLsn: formatLsn(o.lsn),
        replayLsn: formatLsn(o.replay),
        writeLagS: 0.001,
        flushLagS: 0.002,
        replayLagS: o.replay === n.lsn ? null : 0.003,
        replyAt: now,
      })),
      slots: others.map((o) => {
        const active = followers.includes(o);
        const restart = active ? o.lsn : n.inRecovery ? null : o.lsn;
        return {
          slotName: slotName(o.name),
          slotType: 'physical',
          active,
          restartLsn: restart === null ? null : formatLsn(restart),
          walStatus: restart === null ? null : 'reserved',
          safeWalSizeBytes: 256 * 1024 * 1024,
        };
      }),
      checkpoint: {
        checkpointLsn: formatLsn(n.checkpointLsn),
        redoLsn: formatLsn(n.checkpointLsn - 0x38n),
        timelineId: n.checkpointTli,
        checkpointAt: n.checkpointAt,
      },
    };
  }

  async close(): Promise<void> {
    // nothing to release
  }
}
