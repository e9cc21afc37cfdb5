/**
 * Prometheus metrics of the observer. Gauges read the latest in-memory snapshot at scrape time
 * (the poll loop, not the scrape, talks to PostgreSQL: values are as old as
 * rackwitness_pgsql_last_poll_timestamp_seconds says). Unknown values are omitted, not faked.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { parseLsn } from '../core/lsn.js';
import type { RackSnapshot } from './types.js';

export interface ObserverMetrics {
  /** Counts one finished poll (per node outcome). */
  polled(node: string, ok: boolean): void;
  /** Unregisters everything (service stop). */
  remove(): void;
}

const ROLES = ['primary', 'standby', 'down', 'unknown'] as const;

/** The configured thresholds (pgsql.maxlag_bytes, pgsql.maxlag_s; 0 = no limit), exported for alert rules. */
export interface ObserverLimits {
  maxlagBytes: number;
  maxlagSeconds: number;
  /** The configured node names: their poll error series exist from start, at 0. */
  nodes: readonly string[];
}

type Fill = (g: Gauge<string>, s: RackSnapshot) => void;
type NodeValue = (n: RackSnapshot['nodes'][number]) => number | null | undefined;

/** Makes the gauges of one registry and remembers their names (for remove()). */
interface GaugeMaker {
  gauge(name: string, help: string, labelNames: string[], fill: Fill): void;
  /** rackwitness_pgsql_<suffix>{node}: one series per node with a finite value. */
  perNode(suffix: string, help: string, value: NodeValue): void;
  /** A fixed value (a configured limit). */
  fixed(name: string, help: string, v: number): void;
}

function gaugeMaker(registry: Registry, get: () => RackSnapshot | undefined, names: string[]): GaugeMaker {
  const gauge = (name: string, help: string, labelNames: string[], fill: Fill) => {
    names.push(name);
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        const s = get();
        if (s) fill(this, s);
      },
    });
  };
  return {
    gauge,
    perNode: (suffix, help, value) =>
      gauge(`rackwitness_pgsql_${suffix}`, help, ['node'], (g, s) => {
        for (const n of s.nodes) {
          const v = value(n);
          if (v !== null && v !== undefined && Number.isFinite(v)) g.set({ node: n.name }, v);
        }
      }),
    fixed: (name, help, v) => {
      names.push(name);
      new Gauge({ name, help, registers: [registry] }).set(v);
    },
  };
}

export function registerObserverMetrics(
  registry: Registry,
  get: () => RackSnapshot | undefined,
  limits?: ObserverLimits,
): ObserverMetrics {
  const names: string[] = [];
  const m = gaugeMaker(registry, get, names);
  nodeGauges(m);
  rackGauges(m);
  if (limits) limitGauges(m, limits);
  statusGauges(m);
  names.push('rackwitness_pgsql_polls_total');
  const polls = new Counter({
    name: 'rackwitness_pgsql_polls_total',
    help: 'Observation polls per node and outcome.',
    labelNames: ['node', 'result'],
    registers: [registry],
  });
  for (const node of limits?.nodes ?? []) for (const result of ['ok', 'error']) polls.inc({ node, result }, 0);
  return {
    polled(node, ok) {
      polls.inc({ node, result: ok ? 'ok' : 'error' });
    },
    remove() {
      for (const n of names) registry.removeSingleMetric(n);
    },
  };
}

/** Per node: role, replication, lag, position, score, checkpoint, poll. */
function nodeGauges({ gauge, perNode }: GaugeMaker): void {
  perNode('up', '1 when the observation query succeeded on the node at the last poll.', (n) =>
    n.role === 'primary' || n.role === 'standby' ? 1 : 0,
  );
  perNode('primary', '1 when the node is a writable primary (not in recovery).', (n) => (n.role === 'primary' ? 1 : 0));
  perNode('standby', '1 when the node is a running standby (in recovery).', (n) => (n.role === 'standby' ? 1 : 0));
  gauge(
    'rackwitness_pgsql_role',
    'Role of the node as the box sees it (1 for the current role).',
    ['node', 'role'],
    (g, s) => {
      for (const n of s.nodes) for (const r of ROLES) g.set({ node: n.name, role: r }, n.role === r ? 1 : 0);
    },
  );
  perNode(
    'streaming',
    '1 when the standby streams from the current primary on its timeline (both sides agree).',
    (n) => (n.role === 'standby' ? (n.streaming ? 1 : 0) : null),
  );
  perNode('synchronous', '1 when the primary reports the standby as sync or quorum.', (n) =>
    n.role === 'standby' && n.syncState !== null ? (n.syncState === 'sync' || n.syncState === 'quorum' ? 1 : 0) : null,
  );
  perNode(
    'lag_bytes',
    'WAL the node does not hold yet: primary current LSN minus the standby flush LSN (0 on the primary).',
    (n) => n.lagBytes,
  );
  perNode('replay_lag_bytes', 'WAL the node has not replayed yet (0 on the primary).', (n) => n.replayLagBytes);
  perNode(
    'lag_seconds',
    'Replay delay of the standby in seconds (0 when caught up; 0 on the primary).',
    (n) => n.lagSeconds,
  );
  perNode('timeline', 'Current timeline of the node.', (n) => n.timeline);
  perNode(
    'wal_position_bytes',
    'WAL position of the node as a byte offset (current LSN on a primary, max(receive, replay) on a standby).',
    (n) => (n.position === null ? null : lsnNumber(n.position)),
  );
  perNode(
    'promotion_score',
    'Promotion score (PAF rules) computed from the primary’s view: 1001 primary, 1000 best standby, negative beyond maxlag.',
    (n) => n.score,
  );
  perNode(
    'last_checkpoint_timestamp_seconds',
    'Time of the last checkpoint (restartpoint on a standby) in the control file.',
    (n) => (n.checkpoint ? Date.parse(n.checkpoint.at) / 1000 : null),
  );
  perNode('poll_duration_seconds', 'Duration of the last observation poll of the node.', (n) =>
    n.pollMs === null ? null : n.pollMs / 1000,
  );
  perNode('consecutive_failures', 'Failed polls of the node in a row.', (n) => n.failures);
}

/** Slots, writable primaries and failover targets. */
function rackGauges({ gauge }: GaugeMaker): void {
  gauge(
    'rackwitness_pgsql_slot_retained_bytes',
    'WAL retained on the node by a replication slot (node position minus restart_lsn).',
    ['node', 'slot'],
    (g, s) => {
      for (const n of s.nodes)
        for (const sl of n.slots)
          if (sl.retainedBytes !== null) g.set({ node: n.name, slot: sl.name }, sl.retainedBytes);
    },
  );
  gauge('rackwitness_pgsql_slot_active', '1 when a walreceiver currently uses the slot.', ['node', 'slot'], (g, s) => {
    for (const n of s.nodes) for (const sl of n.slots) g.set({ node: n.name, slot: sl.name }, sl.active ? 1 : 0);
  });
  gauge(
    'rackwitness_pgsql_writable_primaries',
    'Number of writable primaries seen at the last poll (more than 1 is a split brain).',
    [],
    (g, s) => g.set(s.writablePrimaries.length),
  );
  gauge(
    'rackwitness_pgsql_failover_targets',
    'Standbys Pacemaker could promote if the primary failed now: streaming from the one primary, within maxlag (positive promotion score).',
    [],
    (g, s) =>
      g.set(
        s.primary === null
          ? 0
          : s.nodes.filter((n) => n.name !== s.primary && n.role === 'standby' && n.streaming && (n.score ?? 0) > 0)
              .length,
      ),
  );
}

/** The configured thresholds, for alert rules. */
function limitGauges({ fixed }: GaugeMaker, limits: ObserverLimits): void {
  fixed(
    'rackwitness_pgsql_maxlag_bytes',
    'Configured pgsql.maxlag_bytes: WAL lag beyond which a standby loses its promotion score (0 = no limit).',
    limits.maxlagBytes,
  );
  fixed(
    'rackwitness_pgsql_maxlag_seconds',
    'Configured pgsql.maxlag_s: replay lag beyond which a switchover is reported unsafe (0 = no limit).',
    limits.maxlagSeconds,
  );
}

/** Whether the rack is healthy, when it was polled, whether it is the demo's simulation. */
function statusGauges({ gauge }: GaugeMaker): void {
  gauge(
    'rackwitness_pgsql_rack_ok',
    '1 when the rack is healthy: one primary, a streaming standby within maxlag.',
    [],
    (g, s) => g.set(s.state === 'ok' ? 1 : 0),
  );
  gauge('rackwitness_pgsql_last_poll_timestamp_seconds', 'Time of the last finished poll of both nodes.', [], (g, s) =>
    g.set(Date.parse(s.at) / 1000),
  );
  gauge(
    'rackwitness_pgsql_simulated',
    '1 when the observer polls the demo’s simulated rack instead of PostgreSQL.',
    [],
    (g, s) => g.set(s.source === 'simulated' ? 1 : 0),
  );
}

function lsnNumber(text: string): number | null {
  const l = parseLsn(text);
  return l === null ? null : Number(l);
}
