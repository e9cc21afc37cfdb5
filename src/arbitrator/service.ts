/**
 * Daemon service of the booth-compatible arbitrator: starts the engine from the config section,
 * publishes per-ticket entities (`ticket/<name>`), a snapshot for `rackwitness status`, and
 * Prometheus metrics read from that snapshot at scrape time.
 */
import type { Entity, Health, Service, ServiceFactory } from '../daemon/service.js';
import type { Arbitrator, ArbitratorSnapshot } from './arbitrator.js';
import { registerArbitratorMetrics } from './metrics.js';
import { setupArbitrator } from './setup.js';

const NAME = 'arbitrator';

export { DROP_REASONS } from './metrics.js';

export const createArbitratorService: ServiceFactory = (ctx) => {
  let arb: Arbitrator | undefined;
  let failed: string | undefined;
  let registered = false;
  const cfg = ctx.config.arbitrator;
  // the pgsql observer provides it once started (after us): read on every vote, never cached
  const provider = () => ctx.providers.get('pgsql.lastKnownLsn');

  const snap = (): ArbitratorSnapshot | undefined => arb?.snapshot();

  const service: Service = {
    name: NAME,
    async start() {
      if (!cfg) throw new Error('arbitrator: config section missing');
      failed = undefined;
      const g = cfg.pg_guard;
      arb = await setupArbitrator({
        boothConfig: cfg.booth_config,
        authfile: cfg.authfile,
        address: cfg.address,
        log: ctx.log.child({ service: NAME }),
        event: (kind, sentence, data) => ctx.events.record(NAME, kind, sentence, data),
        onChange: () => ctx.changed(),
        onTick: () => ctx.heartbeats.beat('arbitrator'),
        guard: g.enabled
          ? {
              tickets: new Set(g.tickets),
              policy: { nodes: g.nodes, toleranceBytes: BigInt(g.tolerance_bytes), maxAgeMs: g.max_age_s * 1000 },
              provider,
            }
          : undefined,
      }).catch((e: Error) => {
        failed = e.message;
        throw e;
      });
      if (!registered) {
        registered = true;
        registerArbitratorMetrics(ctx.metrics, snap);
        ctx.handle('arbitrator.status', async () => arb?.snapshot() ?? null);
      }
      await arb.start().catch((e: Error) => {
        failed = e.message;
        throw e;
      });
    },
    async stop() {
      try {
        await arb?.stop();
      } catch {
        // stop never throws
      }
    },
    health(): Health {
      if (failed) return { state: 'failed', reason: failed };
      if (!arb) return { state: 'starting' };
      if (!arb.listening) return { state: 'stopped' };
      if (cfg?.pg_guard.enabled && !provider())
        return {
          state: 'degraded',
          reason:
            'the PostgreSQL vote guard is enabled but no WAL position provider is attached; votes are not guarded',
        };
      return { state: 'ok' };
    },
    snapshot() {
      return (arb?.snapshot() ?? { listening: false }) as unknown as Record<string, unknown>;
    },
    entities(): Entity[] {
      return arb?.snapshot().tickets.map(ticketEntity) ?? [];
    },
  };
  return service;
};

/** One ticket's MQTT entity (leader, term, mode; the lease end is volatile). */
function ticketEntity(t: ArbitratorSnapshot['tickets'][number]): Entity {
  return {
    topic: `ticket/${t.name}`,
    state: {
      leader: t.leader,
      term: t.term,
      last_change: t.lastChange,
      mode: t.mode,
      state: t.state,
    },
    // the lease end moves with every renewal: not retained
    volatile: { expires: t.expires },
    ha: [
      {
        id: `ticket_${t.name}_leader`,
        component: 'sensor',
        name: `Ticket ${t.name} leader`,
        value_template: '{{ value_json.leader }}',
        icon: 'mdi:ticket-confirmation',
        attributes: true,
      },
    ],
  };
}
