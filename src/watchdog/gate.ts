/**
 * The feed decision, a pure function over one snapshot taken by the feed tick. Like sbd's
 * inquisitor: the watchdog is fed only when every source is fresh and healthy; the first rule
 * that objects names the reason in one sentence. Rows are checked in order.
 */
import type { Health } from '../daemon/service.js';

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

export interface GateRule {
  code: Exclude<GateCode, 'ok'>;
  /** Why this row exists. */
  comment: string;
  /** Returns the reason not to feed, or undefined when this row does not object. */
  objects(s: GateSnapshot, o: GateOptions): string | undefined;
}

const FEEDING_STATES = new Set(['ok', 'degraded']);

export const gateRules: readonly GateRule[] = [
  {
    code: 'test',
    comment: 'An operator asked for a watchdog test: stop feeding on purpose so the reset can be observed.',
    objects: (s) => (s.testing ? 'a watchdog test was requested: feeding stopped on purpose' : undefined),
  },
  {
    code: 'loop-lag',
    comment: 'The tick ran late: the event loop was blocked, so nothing proves the daemon is responsive.',
    objects: (s, o) =>
      s.lagMs > o.maxLoopLagMs
        ? `the event loop was blocked: this tick ran ${Math.round(s.lagMs)} ms late (limit ${o.maxLoopLagMs} ms)`
        : undefined,
  },
  {
    code: 'heartbeat',
    comment: 'A decision loop stopped completing iterations (stuck on an await) while timers still fire.',
    objects: (s) => {
      for (const h of s.heartbeats) {
        if (h.ageMs === undefined) return `decision loop "${h.name}" has not reported a heartbeat yet`;
        if (h.ageMs > h.maxAgeMs)
          return `decision loop "${h.name}" last beat ${(h.ageMs / 1000).toFixed(1)} s ago (limit ${(h.maxAgeMs / 1000).toFixed(1)} s)`;
      }
      return undefined;
    },
  },
  {
    code: 'service-missing',
    comment: 'A gated service reported no health at all: treat silence as failure.',
    objects: (s) => {
      const missing = s.gated.filter((n) => s.health[n] === undefined);
      return missing.length ? `service ${missing.join(', ')} reported no health` : undefined;
    },
  },
  {
    code: 'service-unhealthy',
    comment: 'A gated service failed, stopped or is (re)starting: the box cannot do its job.',
    objects: (s) => {
      for (const n of s.gated) {
        const h = s.health[n];
        if (h && !FEEDING_STATES.has(h.state)) return `service ${n} is ${h.state}${h.reason ? `: ${h.reason}` : ''}`;
      }
      return undefined;
    },
  },
  {
    code: 'service-degraded',
    comment: 'Optionally, a degraded gated service also stops the feed (feed_when_degraded: false).',
    objects: (s, o) => {
      if (o.feedWhenDegraded) return undefined;
      for (const n of s.gated) {
        const h = s.health[n];
        if (h?.state === 'degraded') return `service ${n} is degraded${h.reason ? `: ${h.reason}` : ''}`;
      }
      return undefined;
    },
  },
  {
    code: 'cluster-view',
    comment:
      'The box lost its view of the cluster: a witness that cannot see the rack must not keep vouching for itself.',
    objects: (s) => {
      if (!s.clusterViewService) return undefined;
      const h = s.health[s.clusterViewService];
      if (h?.state === 'ok') return undefined;
      return `the cluster view (${s.clusterViewService}) is ${h ? h.state : 'unknown'}${h?.reason ? `: ${h.reason}` : ''}`;
    },
  },
];

export function decideFeed(s: GateSnapshot, o: GateOptions): GateDecision {
  for (const r of gateRules) {
    const reason = r.objects(s, o);
    if (reason !== undefined) return { feed: false, code: r.code, reason };
  }
  const n = s.gated.length;
  // no measured value in the sentence: it is retained status (MQTT) and must not move while all is
  // well; the loop lag has its own field, metric and place in bridge/health
  return { feed: true, code: 'ok', reason: n === 0 ? 'no gated services' : `all ${n} gated service(s) healthy` };
}
