/**
 * The PostgreSQL rack observer as a daemon service ("pgsql"): polls both nodes every
 * poll_interval_s (sequentially scheduled: a slow poll delays the next one, polls never pile up),
 * builds one immutable RackSnapshot per poll, records what changed in the events log (one sentence
 * each), and publishes the snapshot to the status feed (entities pgsql/rack, pgsql/<node>), to
 * /metrics and to the control API (pgsql.status, pgsql.preflight).
 *
 * The service observes; it never writes to PostgreSQL and never acts on the rack. Its health is
 * the rack's: degraded (with the sentence) when the box sees no primary, two writable primaries,
 * or no streaming standby within maxlag.
 */
import type { Entity, Health, Service, ServiceContext, ServiceFactory } from '../daemon/service.js';
import { SimulatedRack } from '../demo/pg-simulated-rack.js';
import type { PgsqlConfig } from './config.js';
import { maxLsn, parseLsn } from './core/lsn.js';
import { type ObserverMetrics, registerObserverMetrics } from './observer/metrics.js';
import { PgRackSource } from './observer/pg-source.js';
import { type PreflightResult, preflight } from './observer/preflight.js';
import { buildSnapshot, type ObservedNode, rackEvents } from './observer/snapshot.js';
import type { NodeProbe, NodeRole, RackSnapshot, RackSource } from './observer/types.js';

export const SERVICE_NAME = 'pgsql';

/** One poll of both nodes (in parallel) and the snapshot built from it. Shared by the service and the CLI. */
export async function pollRack(
  source: RackSource,
  cfg: PgsqlConfig,
  prev: RackSnapshot | undefined,
  seq: number,
): Promise<{ snapshot: RackSnapshot; probes: Map<string, NodeProbe> }> {
  const at = Date.now();
  const results = await Promise.all(cfg.nodes.map(async (n) => [n.name, await source.probe(n.name)] as const));
  const probes = new Map(results);
  const snapshot = buildSnapshot({
    nodes: observedNodes(cfg),
    probes,
    prev,
    seq,
    source: source.kind,
    maxlagBytes: cfg.maxlag_bytes,
    maxlagSeconds: cfg.maxlag_s,
    at,
  });
  return { snapshot, probes };
}

export function observedNodes(cfg: PgsqlConfig): ObservedNode[] {
  return cfg.nodes.map((n) => ({ name: n.name, host: n.host, port: n.port, applicationName: n.application_name }));
}

/** The source the config asks for: PostgreSQL, or the demo's simulated rack (demo mode only). */
export function sourceFor(cfg: PgsqlConfig, demo: boolean, simulated?: SimulatedRack): RackSource {
  if (cfg.simulated) {
    if (!demo) throw new Error('pgsql.simulated is only allowed in demo mode (rackwitness run --demo); remove it');
    if (simulated) return simulated;
    // no demo provided its rack (a service run on its own): a fresh one with the configured names
    const [a, b] = cfg.nodes;
    return new SimulatedRack(a && b ? { names: [a.name, b.name] } : {});
  }
  return new PgRackSource(cfg.nodes, {
    connectTimeoutMs: cfg.connect_timeout_s * 1000,
    statementTimeoutMs: cfg.statement_timeout_s * 1000,
  });
}

export function preflightOptions(cfg: PgsqlConfig, to?: string): Parameters<typeof preflight>[1] {
  return { to, requireSync: cfg.require_sync, maxlagBytes: cfg.maxlag_bytes, maxlagSeconds: cfg.maxlag_s };
}

/** Every role a node can have (a Record, so a new role fails to compile here). */
const NODE_ROLE_SET: Record<NodeRole, true> = { primary: true, standby: true, down: true, unknown: true };
const NODE_ROLES = Object.keys(NODE_ROLE_SET);

/**
 * The retained status-feed entities of a snapshot. They carry no timestamp that moves on an idle
 * rack (the poll time goes to the non-retained bridge/health), so an idle rack republishes nothing.
 */
export function rackEntities(s: RackSnapshot): Entity[] {
  const simulated = s.source === 'simulated';
  return [
    {
      topic: 'pgsql/rack',
      state: {
        state: s.state,
        summary: s.summary,
        primary: s.primary,
        writable_primaries: s.writablePrimaries,
        candidate: s.candidate,
        simulated,
      },
      volatile: { at: s.at },
      ha: [
        {
          id: 'pgsql_primary',
          component: 'sensor',
          name: 'PostgreSQL primary',
          value_template: "{{ value_json.primary if value_json.primary else 'none' }}",
          icon: 'mdi:database',
          attributes: true,
        },
        {
          id: 'pgsql_rack_problem',
          component: 'binary_sensor',
          name: 'PostgreSQL rack problem',
          device_class: 'problem',
          value_template: "{{ 'OFF' if value_json.state == 'ok' else 'ON' }}",
        },
      ],
    },
    ...s.nodes.map(
      (n): Entity => ({
        topic: `pgsql/${n.name}`,
        state: {
          role: n.role,
          reason: n.reason,
          role_since: n.roleSince,
          timeline: n.timeline,
          position: n.position,
          lag_bytes: n.lagBytes,
          replay_lag_bytes: n.replayLagBytes,
          lag_seconds: n.lagSeconds,
          streaming: n.streaming,
          sync_state: n.syncState,
          promotion_score: n.score,
          last_checkpoint: n.checkpoint?.at ?? null,
          slots: n.slots.map((sl) => ({ name: sl.name, active: sl.active, retained_bytes: sl.retainedBytes })),
          simulated,
        },
        ha: [
          {
            id: `pgsql_${n.name}_role`,
            component: 'sensor',
            name: `PostgreSQL ${n.name} role`,
            device_class: 'enum',
            options: [...NODE_ROLES],
            value_template: '{{ value_json.role }}',
            icon: 'mdi:database',
            attributes: true,
          },
          {
            id: `pgsql_${n.name}_lag`,
            component: 'sensor',
            name: `PostgreSQL ${n.name} lag`,
            device_class: 'data_size',
            state_class: 'measurement',
            unit_of_measurement: 'B',
            // "None" is Home Assistant's "no value" (no primary to measure against)
            value_template: "{{ value_json.lag_bytes if value_json.lag_bytes is not none else 'None' }}",
            icon: 'mdi:database-arrow-right',
          },
          {
            id: `pgsql_${n.name}_replay_delay`,
            component: 'sensor',
            name: `PostgreSQL ${n.name} replay delay`,
            device_class: 'duration',
            state_class: 'measurement',
            unit_of_measurement: 's',
            value_template: "{{ value_json.lag_seconds if value_json.lag_seconds is not none else 'None' }}",
            icon: 'mdi:timer-sand',
          },
        ],
      }),
    ),
  ];
}

class PgsqlObserverService implements Service {
  readonly name = SERVICE_NAME;
  private cfg: PgsqlConfig | undefined;
  private source: RackSource | undefined;
  private metrics: ObserverMetrics | undefined;
  private current: RackSnapshot | undefined;
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private running = false;
  private lastError: string | undefined;
  /** Last WAL position seen per node while it answered: what the arbitrator's vote guard compares. */
  private readonly lastKnown = new Map<string, { lsn: bigint; observedAt: number }>();
  /** Withdraws the vote guard's provider (set while running with arbitrator.pg_guard). */
  private withdrawLsn: (() => void) | undefined;
  private withdrawRack: (() => void) | undefined;

  constructor(private readonly ctx: ServiceContext) {}

  async start(): Promise<void> {
    const cfg = this.ctx.config.pgsql;
    if (!cfg) throw new Error('pgsql: the config has no pgsql section');
    this.cfg = cfg;
    this.source = sourceFor(cfg, this.ctx.demo, this.ctx.providers.get('pgsql.simulatedRack'));
    this.metrics = registerObserverMetrics(this.ctx.metrics, () => this.current, {
      maxlagBytes: cfg.maxlag_bytes,
      maxlagSeconds: cfg.maxlag_s,
      nodes: cfg.nodes.map((n) => n.name),
    });
    this.ctx.handle('pgsql.status', async () => this.current ?? (await this.pollNow()));
    this.ctx.handle('pgsql.preflight', async (params) => {
      const to = typeof params.to === 'string' ? params.to : undefined;
      const snap = await this.pollNow();
      return preflight(snap, preflightOptions(cfg, to)) satisfies PreflightResult;
    });
    this.running = true;
    if (this.ctx.config.arbitrator?.pg_guard.enabled) {
      // The arbitrator's PostgreSQL vote guard reads the positions this observer saw.
      this.withdrawLsn = this.ctx.providers.provide('pgsql.lastKnownLsn', (node) => this.lastKnown.get(node));
    }
    // fence arbitration prefers the node holding the primary by what this observer saw
    this.withdrawRack = this.ctx.providers.provide('pgsql.rack', () => this.current);
    // the first observation before start() returns: status has something to show at once
    await this.pollNow();
    this.schedule();
  }

  private schedule(): void {
    if (!this.running || !this.cfg) return;
    this.timer = setTimeout(() => {
      void this.pollNow()
        .catch(() => {})
        .finally(() => this.schedule());
    }, this.cfg.poll_interval_s * 1000);
    this.timer.unref?.();
  }

  /** Polls now, after any poll in flight (single flight: polls never overlap). */
  private pollNow(): Promise<RackSnapshot> {
    const next = this.chain.then(() => this.pollOnce());
    this.chain = next.catch(() => {});
    return next;
  }

  private async pollOnce(): Promise<RackSnapshot> {
    const cfg = this.cfg as PgsqlConfig;
    const source = this.source as RackSource;
    if (!this.running && this.current) return this.current;
    try {
      const { snapshot, probes } = await pollRack(source, cfg, this.current, ++this.seq);
      for (const [node, p] of probes) this.metrics?.polled(node, p.ok);
      const events = rackEvents(this.current, snapshot);
      this.current = snapshot;
      const at = Date.parse(snapshot.at);
      for (const n of snapshot.nodes) {
        if (n.role !== 'primary' && n.role !== 'standby') continue;
        const lsn = maxLsn(parseLsn(n.currentLsn), parseLsn(n.receiveLsn), parseLsn(n.replayLsn));
        if (lsn !== null) this.lastKnown.set(n.name, { lsn, observedAt: at });
      }
      this.lastError = undefined;
      for (const e of events) {
        this.ctx.events.record(SERVICE_NAME, e.kind, e.sentence, e.data);
        const level = e.kind === 'pgsql.split-brain' && snapshot.writablePrimaries.length > 1 ? 'error' : 'info';
        this.ctx.log[level]({ kind: e.kind }, e.sentence);
      }
      this.ctx.log.debug({ seq: snapshot.seq, state: snapshot.state, primary: snapshot.primary }, snapshot.summary);
      this.ctx.changed();
      return snapshot;
    } catch (e) {
      // building a snapshot is pure and should not throw; if it does, say so and keep the last one
      this.lastError = e instanceof Error ? e.message : String(e);
      this.ctx.log.error({ err: this.lastError }, 'observation poll failed');
      throw e;
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    this.withdrawLsn?.();
    this.withdrawLsn = undefined;
    this.withdrawRack?.();
    this.withdrawRack = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.chain.catch(() => {});
    await this.source?.close().catch(() => {});
    this.metrics?.remove();
    this.metrics = undefined;
  }

  health(): Health {
    if (this.lastError) return { state: 'degraded', reason: `the last observation poll failed: ${this.lastError}` };
    const s = this.current;
    if (!s) return { state: 'starting' };
    const sim = s.source === 'simulated' ? ' [SIMULATED rack]' : '';
    return s.state === 'ok' ? { state: 'ok' } : { state: 'degraded', reason: `${s.summary}${sim}` };
  }

  snapshot(): Record<string, unknown> {
    const s = this.current;
    return {
      source: this.source?.kind ?? null,
      simulated: this.source?.kind === 'simulated',
      poll_interval_s: this.cfg?.poll_interval_s ?? null,
      maxlag_bytes: this.cfg?.maxlag_bytes ?? null,
      ...(s ? { rack: s } : {}),
    };
  }

  entities(): Entity[] {
    return this.current ? rackEntities(this.current) : [];
  }
}

export const createPgsqlService: ServiceFactory = (ctx) => new PgsqlObserverService(ctx);
