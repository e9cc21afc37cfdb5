/**
 * Fence arbitration: in a split both nodes of the rack may ask the box to fence the other, and
 * without arbitration the first request wins (the race guard then refuses the loser). The box
 * sees both nodes' PostgreSQL, so it prefers the node that holds the newest data: when the OTHER
 * node asks to fence the preferred one, the request is held for `fencing.arbitration.hold_s`;
 * if the preferred node asks to fence the requester within that window, its request runs and the
 * held one is refused with one sentence in the journal. When the window ends without such a
 * request, the held request goes on (the preferred node may be dead: the only live node must
 * always be able to fence).
 *
 * Who is preferred: by the observer (the one writable primary, else the highest timeline then
 * WAL position), when its data is younger than `observer_max_age_s`; without fresh, decisive
 * PostgreSQL data, the configured `preferred_node`; without that, first come (as before). When
 * the box runs an observer whose data is missing or stale (it just started), a request waits for
 * a fresh poll within the same window rather than fall to first come.
 *
 * The decision is the pure table `arbitrationTable` (src/decisions/table.ts) over a snapshot that
 * holds everything it needs: the request, the clock, the observer's data and its time, the asks
 * the box saw recently. The `Arbiter` class is the I/O edge: it builds snapshots, holds requests
 * (timer, wake-up when the rival asks, a short re-check while it waits for observer data) and
 * reports decisions. The race guard (core.ts) still
 * decides afterwards what happens to a request arbitration lets through.
 */
import { type DecisionTable, decideBy, type TableDecision } from '../../decisions/table.js';
import { parseLsn } from '../../pgsql/core/lsn.js';
import type { RackSnapshot } from '../../pgsql/observer/types.js';
import type { FenceAction } from './core.js';

/** What the observer said about one node's PostgreSQL, as far as arbitration needs it. */
export interface ArbNodeView {
  name: string;
  role: 'primary' | 'standby' | 'down' | 'unknown';
  timeline: number | null;
  /** WAL position as a number (bytes), null when unknown. */
  position: bigint | null;
}

export interface ArbObserverView {
  /** When the observer polled (ms, epoch). */
  atMs: number;
  nodes: readonly ArbNodeView[];
  /** Nodes that answered as writable primaries in that poll. */
  writablePrimaries: readonly string[];
}

export interface ArbitrationSnapshot {
  readonly enabled: boolean;
  readonly action: FenceAction;
  readonly target: string;
  /** How the request came: the fence agent API, or the box's own CLI/control socket. */
  readonly via: 'api' | 'local';
  /** Cluster node the request comes from (by its source address); absent when none matches. */
  readonly requester?: string;
  /** Source address of an API request (for the sentence). */
  readonly addr?: string;
  /** Whether any target lists its addresses (without them the box cannot tell who asks). */
  readonly addressesConfigured: boolean;
  readonly nowMs: number;
  readonly holdMs: number;
  readonly observerMaxAgeMs: number;
  /** The observer's last data; absent when the box runs no observer or it has not polled yet. */
  readonly observer?: ArbObserverView;
  /** The box runs a PostgreSQL observer (its data may still be missing, e.g. just after a start). */
  readonly observerExpected?: boolean;
  /** Fallback when PostgreSQL data is missing, stale or undecided. */
  readonly preferredNode?: string;
  /** When this request arrived (ms). */
  readonly arrivedAtMs: number;
  /** When this request started to be held (absent: not held yet). */
  readonly heldSinceMs?: number;
  /** When the target last asked to fence the requester (ms), if the box saw it. */
  readonly rivalAskedAtMs?: number;
  /** The box itself verified the target off and has not seen it on since: it cannot ask. */
  readonly targetVerifiedOff?: boolean;
}

export type ArbitrationVerdict =
  | 'pass' // let the request go on to the race guard
  | 'hold' // wait for the preferred node's request (up to the window), then decide again
  | 'refuse'; // journal one sentence, answer "refused", touch nothing

export interface Preference {
  node: string;
  /** Where the preference comes from. */
  source: 'postgresql' | 'config';
  /** One clause: why this node. */
  why: string;
}

const fencing = (s: ArbitrationSnapshot) => s.action === 'off' || s.action === 'reboot';
const sec = (ms: number) => `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s`;

/** Whether the observer's data is young enough to decide on. */
export function observerFresh(s: ArbitrationSnapshot): boolean {
  return (
    s.observer !== undefined && s.nowMs - s.observer.atMs <= s.observerMaxAgeMs && s.nowMs >= s.observer.atMs - 1000
  );
}

/**
 * The node PostgreSQL prefers: the one writable primary; else (none, or two) the node with the
 * highest timeline, then the highest WAL position, among the nodes the observer read. Undefined
 * when the data does not single one out (nothing read, or a tie).
 */
export function postgresPreference(o: ArbObserverView): { node: string; why: string } | undefined {
  if (o.writablePrimaries.length === 1) {
    const node = o.writablePrimaries[0] as string;
    return { node, why: `${node} holds the writable primary` };
  }
  const pool = o.nodes.filter(
    (n) =>
      (n.role === 'primary' || n.role === 'standby') &&
      n.timeline !== null &&
      n.position !== null &&
      (o.writablePrimaries.length === 0 || o.writablePrimaries.includes(n.name)),
  );
  if (pool.length === 0) return undefined;
  const key = (n: ArbNodeView) => [n.timeline as number, n.position as bigint] as const;
  const sorted = [...pool].sort((a, b) => {
    const [ta, pa] = key(a);
    const [tb, pb] = key(b);
    if (ta !== tb) return tb - ta;
    return pb > pa ? 1 : pb < pa ? -1 : 0;
  });
  const [best, next] = sorted;
  if (!best) return undefined;
  if (next && next.timeline === best.timeline && next.position === best.position) return undefined;
  const what = o.writablePrimaries.length > 1 ? 'of the two writable primaries, ' : 'no writable primary; ';
  return {
    node: best.name,
    why: `${what}${best.name} has the highest timeline then WAL position (timeline ${best.timeline})`,
  };
}

/** Who arbitration prefers for this snapshot: PostgreSQL (fresh), else the configured node, else nobody. */
export function preference(s: ArbitrationSnapshot): Preference | undefined {
  if (observerFresh(s) && s.observer) {
    const p = postgresPreference(s.observer);
    if (p) return { ...p, source: 'postgresql' };
  }
  if (s.preferredNode) {
    const why =
      s.observer === undefined
        ? 'the box has no PostgreSQL data'
        : !observerFresh(s)
          ? `the PostgreSQL data is ${sec(Math.max(0, s.nowMs - s.observer.atMs))} old (bound ${sec(s.observerMaxAgeMs)}) and counts as unknown`
          : 'the PostgreSQL data singles out no node';
    return {
      node: s.preferredNode,
      source: 'config',
      why: `${s.preferredNode} is the configured preferred node (${why})`,
    };
  }
  return undefined;
}

/** The target asked to fence the requester in this race: at most one window before this request arrived, or since. */
const rivalAsked = (s: ArbitrationSnapshot) =>
  s.rivalAskedAtMs !== undefined && s.rivalAskedAtMs >= s.arrivedAtMs - Math.max(s.holdMs, 1000);

/** Arbitration looks at off/reboot requests from a node of the rack against the other node. */
const contested = (s: ArbitrationSnapshot) =>
  s.enabled && fencing(s) && s.requester !== undefined && s.requester !== s.target;

export const arbitrationTable: DecisionTable<ArbitrationSnapshot, ArbitrationVerdict> = {
  name: 'fence arbitration',
  summary:
    'Consulted for every fence request before the race guard. It decides which of two nodes that ask to fence each other wins: the node holding the PostgreSQL primary (by the observer), else the configured preferred node, else the first request. The loser is held for `fencing.arbitration.hold_s` and refused if the winner asks within it.',
  outcomeLabel: (row) => ARB_OUTCOME[row.id] ?? '',
  rows: [
    {
      id: 'arb.disabled',
      comment:
        'Arbitration is switched off (fencing.arbitration.enabled: false): the first request wins, as the race guard decides.',
      when: (s) => !s.enabled,
      outcome: () => 'pass',
      reason: () => 'fence arbitration is disabled: first come, first served',
    },
    {
      id: 'arb.not-a-fence',
      comment: 'Only off and reboot take a node away; on and status are never arbitrated.',
      when: (s) => !fencing(s),
      outcome: () => 'pass',
      reason: (s) => `${s.action} is not arbitrated`,
    },
    {
      id: 'arb.local',
      comment: 'A request from the box itself (CLI, control socket) is an operator’s: it is not part of a race.',
      when: (s) => s.via === 'local',
      outcome: () => 'pass',
      reason: (s) => `a local ${s.action} of ${s.target} (operator) is not arbitrated`,
    },
    {
      id: 'arb.unknown-address',
      comment:
        'An API request from an address that belongs to no node (fencing.targets.*.addresses): the box cannot tell who asks, so it cannot arbitrate; a rack’s nodes fence only from their own addresses.',
      when: (s) => s.requester === undefined && s.addressesConfigured,
      outcome: () => 'refuse',
      reason: (s) =>
        `refused: the request to ${s.action} ${s.target} comes from ${s.addr ?? 'an unknown address'}, which belongs to no node of the rack (fencing.targets.*.addresses)`,
    },
    {
      id: 'arb.no-addresses',
      comment:
        'No target lists its addresses, so the box cannot tell which node asks: first come (the docs and `rackwitness config check` say to list them).',
      when: (s) => s.requester === undefined,
      outcome: () => 'pass',
      reason: (s) =>
        `no node addresses are configured, so the box cannot tell who asks to ${s.action} ${s.target}: first come`,
    },
    {
      id: 'arb.self',
      comment: 'A node asking to fence itself is not a race between two nodes.',
      when: (s) => !contested(s),
      outcome: () => 'pass',
      reason: (s) => `${s.requester} asks to ${s.action} itself: not arbitrated`,
    },
    {
      id: 'arb.rival-won',
      comment:
        'The target is the preferred node and asked to fence the requester within the window (before or while this request was held): its request was granted, this one loses.',
      when: (s) => rivalAsked(s) && preference(s)?.node === s.target,
      outcome: () => 'refuse',
      reason: (s) =>
        `refused: ${s.requester} asked to ${s.action} ${s.target}, but ${preference(s)?.why} and ${s.target} asked to fence ${s.requester} too; the box granted ${s.target}'s request (fence arbitration)`,
    },
    {
      id: 'arb.window-over',
      comment:
        'The request was held for the whole window and the preferred node never asked: it may be dead, and the only live node must be able to fence. Go on.',
      when: (s) => s.heldSinceMs !== undefined && s.nowMs - s.heldSinceMs >= s.holdMs,
      outcome: () => 'pass',
      reason: (s) =>
        `${s.target} did not ask to fence ${s.requester} within ${sec(s.holdMs)}: ${s.requester}'s ${s.action} of ${s.target} goes on`,
    },
    {
      id: 'arb.await-observer',
      comment:
        'The box runs a PostgreSQL observer but its data is missing (the box just started) or older than the bound: hold the request until a fresh poll says who holds the primary, within the same window (nothing is decided on stale data).',
      when: (s) => s.observerExpected === true && !observerFresh(s) && s.holdMs > 0,
      outcome: () => 'hold',
      reason: (s) =>
        `holding ${s.requester}'s ${s.action} of ${s.target} for up to ${sec(s.holdMs)}: ${s.observer === undefined ? 'the PostgreSQL observer has not polled yet' : `the PostgreSQL data is ${sec(Math.max(0, s.nowMs - s.observer.atMs))} old (bound ${sec(s.observerMaxAgeMs)})`}, and the box decides on a fresh poll`,
    },
    {
      id: 'arb.requester-preferred',
      comment: 'The requester is the preferred node: its request is granted at once.',
      when: (s) => preference(s)?.node === s.requester,
      outcome: () => 'pass',
      reason: (s) => `${preference(s)?.why}: ${s.requester}'s ${s.action} of ${s.target} is granted at once`,
    },
    {
      id: 'arb.preferred-off',
      comment:
        'The preferred node is off by the box’s own verified off (not seen on since): it cannot ask, so holding would only delay the only live node.',
      when: (s) => preference(s)?.node === s.target && s.targetVerifiedOff === true,
      outcome: () => 'pass',
      reason: (s) => `${s.target} is off (verified by the box), so it cannot ask: ${s.requester}'s ${s.action} goes on`,
    },
    {
      id: 'arb.hold-for-preferred',
      comment:
        'The requester asks to fence the preferred node: hold the request for the window so that the preferred node’s own request, if it comes, wins the race.',
      when: (s) => preference(s)?.node === s.target && s.holdMs > 0,
      outcome: () => 'hold',
      reason: (s) =>
        `holding ${s.requester}'s ${s.action} of ${s.target} for up to ${sec(s.holdMs)}: ${preference(s)?.why}, so its request wins if it comes`,
    },
    {
      id: 'arb.first-come',
      comment:
        'No preference (no fresh PostgreSQL data that singles out a node, no preferred node configured) or a zero window: the first request wins, as the race guard decides.',
      outcome: () => 'pass',
      reason: (s) =>
        `no preferred node (${s.observer === undefined ? 'no PostgreSQL data' : observerFresh(s) ? 'PostgreSQL data singles out no node' : 'PostgreSQL data too old'}${s.preferredNode ? '' : ', no preferred_node'}): first come`,
    },
  ],
};

const ARB_OUTCOME: Record<string, string> = {
  'arb.disabled': 'pass',
  'arb.not-a-fence': 'pass',
  'arb.local': 'pass',
  'arb.unknown-address': 'refuse',
  'arb.no-addresses': 'pass',
  'arb.self': 'pass',
  'arb.rival-won': 'refuse',
  'arb.window-over': 'pass',
  'arb.await-observer': 'hold',
  'arb.requester-preferred': 'pass',
  'arb.preferred-off': 'pass',
  'arb.hold-for-preferred': 'hold',
  'arb.first-come': 'pass',
};

export function arbitrate(s: ArbitrationSnapshot): TableDecision<ArbitrationVerdict> {
  return decideBy(arbitrationTable, s);
}

// ══ The edge: holds requests, records who asked whom, builds snapshots ═══════════════════════

export interface ArbiterRequest {
  target: string;
  action: FenceAction;
  via: 'api' | 'local';
  requester?: string;
  addr?: string;
  /** Re-read at every decision: the box verified the target off and has not seen it on since. */
  targetVerifiedOff?: () => boolean;
}

export interface ArbiterOptions {
  enabled: boolean;
  holdMs: number;
  observerMaxAgeMs: number;
  preferredNode?: string;
  addressesConfigured: boolean;
  /** The observer's last data (read at each decision). */
  observer: () => ArbObserverView | undefined;
  /** Whether the box runs an observer now (read at each decision); default: never. */
  observerExpected?: () => boolean;
  /** How often a request held for observer data looks again (ms, default 200). */
  observerRecheckMs?: number;
  now?: () => number;
  /** Every decision, for the log and events. */
  onDecision?: (req: ArbiterRequest, d: TableDecision<ArbitrationVerdict>) => void;
}

/** The outcome the fencer acts on: go on, or refuse with this sentence. */
export type ArbiterAnswer =
  | { verdict: 'pass'; reason: string; row: string }
  | { verdict: 'refuse'; reason: string; row: string };

export class Arbiter {
  /** Last time `from` asked to fence `to` ("from>to" → ms). */
  private readonly asks = new Map<string, number>();
  private readonly waiters = new Set<() => void>();
  private readonly now: () => number;

  constructor(private readonly o: ArbiterOptions) {
    this.now = o.now ?? Date.now;
  }

  snapshot(req: ArbiterRequest, arrivedAtMs: number, heldSinceMs?: number): ArbitrationSnapshot {
    const nowMs = this.now();
    const rival = req.requester === undefined ? undefined : this.asks.get(`${req.target}>${req.requester}`);
    const observer = this.o.observer();
    return {
      enabled: this.o.enabled,
      action: req.action,
      target: req.target,
      via: req.via,
      ...(req.requester !== undefined ? { requester: req.requester } : {}),
      ...(req.addr !== undefined ? { addr: req.addr } : {}),
      addressesConfigured: this.o.addressesConfigured,
      nowMs,
      holdMs: this.o.holdMs,
      observerMaxAgeMs: this.o.observerMaxAgeMs,
      ...(observer ? { observer } : {}),
      ...(this.o.observerExpected?.() ? { observerExpected: true } : {}),
      ...(this.o.preferredNode ? { preferredNode: this.o.preferredNode } : {}),
      arrivedAtMs,
      ...(heldSinceMs !== undefined ? { heldSinceMs } : {}),
      ...(rival !== undefined ? { rivalAskedAtMs: rival } : {}),
      ...(req.targetVerifiedOff?.() ? { targetVerifiedOff: true } : {}),
    };
  }

  /**
   * Decides on a request; holds it (resolving later) when the table says so. Resolves with pass
   * or refuse, never rejects.
   */
  async decide(req: ArbiterRequest): Promise<ArbiterAnswer> {
    const arrived = this.now();
    if (req.requester !== undefined && (req.action === 'off' || req.action === 'reboot')) {
      this.asks.set(`${req.requester}>${req.target}`, arrived);
      for (const w of [...this.waiters]) w();
    }
    let heldSince: number | undefined;
    let lastRow: string | undefined;
    for (;;) {
      const d = arbitrate(this.snapshot(req, arrived, heldSince));
      // a request looked at again under the same row is one decision, reported once
      if (d.row !== lastRow) this.o.onDecision?.(req, d);
      lastRow = d.row;
      if (d.outcome !== 'hold') return { verdict: d.outcome, reason: d.reason, row: d.row };
      heldSince ??= this.now();
      const windowLeft = Math.max(1, heldSince + this.o.holdMs - this.now());
      // waiting for observer data: look again at the next poll, not only when the rival asks
      const left = d.row === 'arb.await-observer' ? Math.min(windowLeft, this.o.observerRecheckMs ?? 200) : windowLeft;
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.waiters.add(wake);
      });
    }
  }

  /** Requests held right now (for status). */
  holding(): number {
    return this.waiters.size;
  }
}

// ══ The observer's data (the pgsql service provides it as ctx.providers 'pgsql.rack') ══════════

/** What arbitration needs of a rack snapshot: roles, timelines, WAL positions, the poll time. */
export function observerView(s: RackSnapshot | undefined): ArbObserverView | undefined {
  if (!s) return undefined;
  const atMs = Date.parse(s.at);
  if (!Number.isFinite(atMs)) return undefined;
  return {
    atMs,
    writablePrimaries: [...s.writablePrimaries],
    nodes: s.nodes.map((n) => ({
      name: n.name,
      role: n.role,
      timeline: n.timeline,
      position: parseLsn(n.position),
    })),
  };
}
