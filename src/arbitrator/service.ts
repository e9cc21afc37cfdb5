/**
 * Daemon service of the booth-compatible arbitrator: starts the engine from the config section,
 * publishes per-ticket entities (`ticket/<name>`), a snapshot for `rackwitness status`, and
 * Prometheus metrics read from that snapshot at scrape time.
 */
import { Counter, Gauge } from 'prom-client';
import type { Entity, Health, Service, ServiceFactory } from '../daemon/service.js';
import type { Arbitrator, ArbitratorSnapshot } from './arbitrator.js';
import { setupArbitrator } from './setup.js';

const NAME = 'arbitrator';
/**
 * Every kind Arbitrator.drop() counts (its own and the WireError kinds), exported at 0 from start so that the first drop of a kind
 * shows in increase() (a test keeps this list in step with arbitrator.ts).
 */
export const DROP_REASONS = [
  'attr',
  'auth',
  'client',
  'client-auth',
  'header',
  'hid',
  'hmac',
  'internal',
  'leader',
  'length',
  'long',
  'magic',
  'name',
  'own-id',
  'short',
  'ticket-name',
  'timestamp',
  'unknown-cmd',
  'unknown-sender',
  'version',
] as const;

export const createArbitratorService: ServiceFactory = (ctx) => {
  let arb: Arbitrator | undefined;
  let failed: string | undefined;
  let registered = false;
  const cfg = ctx.config.arbitrator;
  // the pgsql observer provides it once started (after us): read on every vote, never cached
  const provider = () => ctx.providers.get('pgsql.lastKnownLsn');

  const snap = (): ArbitratorSnapshot | undefined => arb?.snapshot();

  function registerMetrics(): void {
    const r = ctx.metrics;
    const g = (
      name: string,
      help: string,
      labelNames: string[],
      fill: (s: ArbitratorSnapshot, set: (l: Record<string, string>, v: number) => void) => void,
    ) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers: [r],
        collect() {
          this.reset();
          const s = snap();
          if (s) fill(s, (l, v) => this.set(l, v));
        },
      });
    const c = (
      name: string,
      help: string,
      labelNames: string[],
      fill: (s: ArbitratorSnapshot, inc: (l: Record<string, string>, v: number) => void) => void,
    ) =>
      new Counter({
        name,
        help,
        labelNames,
        registers: [r],
        collect() {
          this.reset();
          const s = snap();
          if (s) fill(s, (l, v) => this.inc(l, v));
        },
      });
    g(
      'rackwitness_arbitrator_ticket_granted',
      '1 when a site holds the ticket (which one: rackwitness_arbitrator_ticket_leader).',
      ['ticket'],
      (s, set) => {
        for (const t of s.tickets) set({ ticket: t.name }, t.expires === null ? 0 : 1);
      },
    );
    // an enum gauge over the sites of booth.conf: the series set never changes with the leader
    g(
      'rackwitness_arbitrator_ticket_leader',
      '1 for the site (booth.conf address) that holds the ticket, 0 for every other site.',
      ['ticket', 'site'],
      (s, set) => {
        const sites = s.peers.filter((p) => p.type === 'site').map((p) => p.address);
        for (const t of s.tickets)
          for (const site of sites) set({ ticket: t.name, site }, t.expires !== null && t.leader === site ? 1 : 0);
      },
    );
    g(
      'rackwitness_arbitrator_ticket_term',
      'Raft term of the ticket as this arbitrator knows it.',
      ['ticket'],
      (s, set) => {
        for (const t of s.tickets) set({ ticket: t.name }, t.term);
      },
    );
    g(
      'rackwitness_arbitrator_ticket_lease_remaining_seconds',
      'Seconds left on the holder’s lease (absent for manual or free tickets).',
      ['ticket'],
      (s, set) => {
        for (const t of s.tickets) if (t.expiresInS !== null) set({ ticket: t.name }, t.expiresInS);
      },
    );
    g(
      'rackwitness_arbitrator_ticket_last_change_timestamp_seconds',
      'When the holder or term last changed (Unix time).',
      ['ticket'],
      (s, set) => {
        for (const t of s.tickets) if (t.lastChange) set({ ticket: t.name }, Date.parse(t.lastChange) / 1000);
      },
    );
    g('rackwitness_arbitrator_listening', '1 when the UDP and TCP ports are bound.', [], (s, set) =>
      set({}, s.listening ? 1 : 0),
    );
    c('rackwitness_arbitrator_packets_received_total', 'UDP packets received per peer.', ['peer'], (s, inc) => {
      for (const p of s.peers) inc({ peer: p.address }, p.received);
    });
    c('rackwitness_arbitrator_packets_sent_total', 'UDP packets sent per peer.', ['peer'], (s, inc) => {
      for (const p of s.peers) inc({ peer: p.address }, p.sent);
    });
    c(
      'rackwitness_arbitrator_packets_dropped_total',
      'UDP packets dropped per peer (malformed, unauthenticated, invalid).',
      ['peer'],
      (s, inc) => {
        for (const p of s.peers) inc({ peer: p.address }, p.dropped);
      },
    );
    c(
      'rackwitness_arbitrator_auth_failures_total',
      'Packets failing HMAC or timestamp checks per peer.',
      ['peer'],
      (s, inc) => {
        for (const p of s.peers) inc({ peer: p.address }, p.authFailures);
      },
    );
    c(
      'rackwitness_arbitrator_drops_total',
      'Dropped datagrams and client requests by reason.',
      ['reason'],
      (s, inc) => {
        for (const k of DROP_REASONS) inc({ reason: k }, 0);
        for (const [k, v] of Object.entries(s.drops)) inc({ reason: k }, v);
      },
    );
    c('rackwitness_arbitrator_decisions_total', 'Vote-table rows taken.', ['row'], (s, inc) => {
      for (const [k, v] of Object.entries(s.decisions)) inc({ row: k }, v);
    });
    c(
      'rackwitness_arbitrator_client_requests_total',
      'TCP client requests (booth list/peers) answered.',
      [],
      (s, inc) => inc({}, s.tcp.requests),
    );
  }

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
        registerMetrics();
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
      const s = arb?.snapshot();
      if (!s) return [];
      return s.tickets.map(
        (t): Entity => ({
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
        }),
      );
    },
  };
  return service;
};
