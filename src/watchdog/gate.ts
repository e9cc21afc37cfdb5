/**
 * The feed decision, a pure function over one snapshot taken by the feed tick. Like sbd's
 * inquisitor: the watchdog is fed only when every source is fresh and healthy; the first rule
 * that objects names the reason in one sentence. Rows are checked in order; the last one feeds.
 */
import type { Health } from '../daemon/service.js';
import { type ConstantRow, constantOutcomes, type DecisionTable, decideBy } from '../decisions/table.js';

export interface GateSnapshot {
  /** How late this tick ran behind its schedule (event-loop latency probe), ms. */
  lagMs: number;
  /** Health of every other service, as ctx.health() returned it this tick. */
  health: Readonly<Record<string, Health>>;
  /** Services the feed depends on. */
  gated: readonly string[];
  clusterViewService?: string | undefined;
  /** Decision-loop heartbeats: age in ms (undefined = never beat) and the bound. */
  heartbeats: readonly { name: string; ageMs: number | undefined; maxAgeMs: number }[];
  /** `rackwitness watchdog test --yes` asked to stop feeding. */
  testing: boolean;
}

export interface GateOptions {
  maxLoopLagMs: number;
  feedWhenDegraded: boolean;
}

export type GateCode =
  | 'ok'
  | 'test'
  | 'loop-lag'
  | 'heartbeat'
  | 'service-missing'
  | 'service-unhealthy'
  | 'service-degraded'
  | 'cluster-view';

export interface GateDecision {
  feed: boolean;
  code: GateCode;
  reason: string;
}

/** What the gate decides from: the tick's snapshot and the gate's settings. */
export type FeedSnapshot = GateSnapshot & GateOptions;

/** What a row decides (the decision without its reason). */
export type FeedOutcome = Omit<GateDecision, 'reason'>;

const FEEDING_STATES = new Set(['ok', 'degraded']);

/** The first decision loop whose heartbeat is missing or too old. */
const staleBeat = (s: FeedSnapshot) => s.heartbeats.find((h) => h.ageMs === undefined || h.ageMs > h.maxAgeMs);
const missingServices = (s: FeedSnapshot) => s.gated.filter((n) => s.health[n] === undefined);
/** The first gated service that failed, stopped or is (re)starting. */
const unhealthyService = (s: FeedSnapshot) =>
  s.gated.find((n) => {
    const h = s.health[n];
    return h !== undefined && !FEEDING_STATES.has(h.state);
  });
const degradedService = (s: FeedSnapshot) => s.gated.find((n) => s.health[n]?.state === 'degraded');
const why = (r: string | undefined) => (r ? `: ${r}` : '');

/** The feed rows: the first row that objects names the reason; the last row feeds. */
const gateRows: readonly ConstantRow<FeedSnapshot, FeedOutcome>[] = [
  {
    id: 'test',
    comment: 'An operator asked for a watchdog test: stop feeding on purpose so the reset can be observed.',
    when: (s) => s.testing,
    out: { feed: false, code: 'test' },
    reason: () => 'a watchdog test was requested: feeding stopped on purpose',
  },
  {
    id: 'loop-lag',
    comment: 'The tick ran late: the event loop was blocked, so nothing proves the daemon is responsive.',
    when: (s) => s.lagMs > s.maxLoopLagMs,
    out: { feed: false, code: 'loop-lag' },
    reason: (s) =>
      `the event loop was blocked: this tick ran ${Math.round(s.lagMs)} ms late (limit ${s.maxLoopLagMs} ms)`,
  },
  {
    id: 'heartbeat',
    comment: 'A decision loop stopped completing iterations (stuck on an await) while timers still fire.',
    when: (s) => staleBeat(s) !== undefined,
    out: { feed: false, code: 'heartbeat' },
    reason: (s) => {
      const h = staleBeat(s) as FeedSnapshot['heartbeats'][number];
      return h.ageMs === undefined
        ? `decision loop "${h.name}" has not reported a heartbeat yet`
        : `decision loop "${h.name}" last beat ${(h.ageMs / 1000).toFixed(1)} s ago (limit ${(h.maxAgeMs / 1000).toFixed(1)} s)`;
    },
  },
  {
    id: 'service-missing',
    comment: 'A gated service reported no health at all: treat silence as failure.',
    when: (s) => missingServices(s).length > 0,
    out: { feed: false, code: 'service-missing' },
    reason: (s) => `service ${missingServices(s).join(', ')} reported no health`,
  },
  {
    id: 'service-unhealthy',
    comment: 'A gated service failed, stopped or is (re)starting: the box cannot do its job.',
    when: (s) => unhealthyService(s) !== undefined,
    out: { feed: false, code: 'service-unhealthy' },
    reason: (s) => {
      const n = unhealthyService(s) as string;
      const h = s.health[n] as Health;
      return `service ${n} is ${h.state}${why(h.reason)}`;
    },
  },
  {
    id: 'service-degraded',
    comment: 'Optionally, a degraded gated service also stops the feed (feed_when_degraded: false).',
    when: (s) => !s.feedWhenDegraded && degradedService(s) !== undefined,
    out: { feed: false, code: 'service-degraded' },
    reason: (s) => {
      const n = degradedService(s) as string;
      return `service ${n} is degraded${why(s.health[n]?.reason)}`;
    },
  },
  {
    id: 'cluster-view',
    comment:
      'The box lost its view of the cluster: a witness that cannot see the rack must not keep vouching for itself.',
    when: (s) => !!s.clusterViewService && s.health[s.clusterViewService]?.state !== 'ok',
    out: { feed: false, code: 'cluster-view' },
    reason: (s) => {
      const h = s.health[s.clusterViewService as string];
      return `the cluster view (${s.clusterViewService}) is ${h ? h.state : 'unknown'}${why(h?.reason)}`;
    },
  },
  {
    id: 'ok',
    comment: 'No row objects: every source is fresh and every gated service healthy, so the watchdog is fed.',
    out: { feed: true, code: 'ok' },
    // no measured value in the sentence: it is retained status (MQTT) and must not move while all is
    // well; the loop lag has its own field, metric and place in bridge/health
    reason: (s) => (s.gated.length === 0 ? 'no gated services' : `all ${s.gated.length} gated service(s) healthy`),
  },
];

/** The feed gate (src/decisions/table.ts shape; docs/tables.md is generated from it). */
export const gateTable: DecisionTable<FeedSnapshot, FeedOutcome> = {
  name: 'Watchdog feed gate',
  summary:
    "The watchdog service's feed tick (src/watchdog/service.ts) takes one snapshot (its own lag, every service's health, the decision-loop heartbeats' ages, a requested test) and feeds the hardware watchdog only when no row objects, like sbd's inquisitor. The row id is the feed reason code shown in status, metrics and events.",
  ...constantOutcomes(gateRows, (o) => (o.feed ? 'feed' : 'no feed')),
};

/** The codes that withhold the feed, in table order (the metrics' enum series). */
export const withholdCodes: readonly Exclude<GateCode, 'ok'>[] = gateRows.flatMap((r) =>
  r.out.code === 'ok' ? [] : [r.out.code],
);

export function decideFeed(s: GateSnapshot, o: GateOptions): GateDecision {
  // a literal of fixed shape (an object spread here cost microseconds per tick)
  const snap: FeedSnapshot = {
    lagMs: s.lagMs,
    health: s.health,
    gated: s.gated,
    clusterViewService: s.clusterViewService,
    heartbeats: s.heartbeats,
    testing: s.testing,
    maxLoopLagMs: o.maxLoopLagMs,
    feedWhenDegraded: o.feedWhenDegraded,
  };
  const d = decideBy(gateTable, snap);
  return { feed: d.outcome.feed, code: d.outcome.code, reason: d.reason };
}
