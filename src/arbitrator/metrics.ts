/**
 * The arbitrator's Prometheus metrics, read from its snapshot at scrape time: one row per metric
 * (name, help, labels, how to fill it from the snapshot).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ArbitratorSnapshot } from './arbitrator.js';

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

export type DropReason = (typeof DROP_REASONS)[number];

type Fill = (s: ArbitratorSnapshot, put: (l: Record<string, string>, v: number) => void) => void;

interface MetricRow {
  name: string;
  help: string;
  labelNames: string[];
  fill: Fill;
}

const GAUGES: MetricRow[] = [
  {
    name: 'rackwitness_arbitrator_ticket_granted',
    help: '1 when a site holds the ticket (which one: rackwitness_arbitrator_ticket_leader).',
    labelNames: ['ticket'],
    fill: (s, set) => {
      for (const t of s.tickets) set({ ticket: t.name }, t.expires === null ? 0 : 1);
    },
  },
  // an enum gauge over the sites of booth.conf: the series set never changes with the leader
  {
    name: 'rackwitness_arbitrator_ticket_leader',
    help: '1 for the site (booth.conf address) that holds the ticket, 0 for every other site.',
    labelNames: ['ticket', 'site'],
    fill: (s, set) => {
      const sites = s.peers.filter((p) => p.type === 'site').map((p) => p.address);
      for (const t of s.tickets)
        for (const site of sites) set({ ticket: t.name, site }, t.expires !== null && t.leader === site ? 1 : 0);
    },
  },
  {
    name: 'rackwitness_arbitrator_ticket_term',
    help: 'Raft term of the ticket as this arbitrator knows it.',
    labelNames: ['ticket'],
    fill: (s, set) => {
      for (const t of s.tickets) set({ ticket: t.name }, t.term);
    },
  },
  {
    name: 'rackwitness_arbitrator_ticket_lease_remaining_seconds',
    help: 'Seconds left on the holder’s lease (absent for manual or free tickets).',
    labelNames: ['ticket'],
    fill: (s, set) => {
      for (const t of s.tickets) if (t.expiresInS !== null) set({ ticket: t.name }, t.expiresInS);
    },
  },
  {
    name: 'rackwitness_arbitrator_ticket_last_change_timestamp_seconds',
    help: 'When the holder or term last changed (Unix time).',
    labelNames: ['ticket'],
    fill: (s, set) => {
      for (const t of s.tickets) if (t.lastChange) set({ ticket: t.name }, Date.parse(t.lastChange) / 1000);
    },
  },
  {
    name: 'rackwitness_arbitrator_listening',
    help: '1 when the UDP and TCP ports are bound.',
    labelNames: [],
    fill: (s, set) => set({}, s.listening ? 1 : 0),
  },
];

/** A counter per peer, read from one field of the peer's snapshot. */
const perPeer = (name: string, help: string, field: 'received' | 'sent' | 'dropped' | 'authFailures'): MetricRow => ({
  name,
  help,
  labelNames: ['peer'],
  fill: (s, inc) => {
    for (const p of s.peers) inc({ peer: p.address }, p[field]);
  },
});

const COUNTERS: MetricRow[] = [
  perPeer('rackwitness_arbitrator_packets_received_total', 'UDP packets received per peer.', 'received'),
  perPeer('rackwitness_arbitrator_packets_sent_total', 'UDP packets sent per peer.', 'sent'),
  perPeer(
    'rackwitness_arbitrator_packets_dropped_total',
    'UDP packets dropped per peer (malformed, unauthenticated, invalid).',
    'dropped',
  ),
  perPeer(
    'rackwitness_arbitrator_auth_failures_total',
    'Packets failing HMAC or timestamp checks per peer.',
    'authFailures',
  ),
  {
    name: 'rackwitness_arbitrator_drops_total',
    help: 'Dropped datagrams and client requests by reason.',
    labelNames: ['reason'],
    fill: (s, inc) => {
      for (const k of DROP_REASONS) inc({ reason: k }, 0);
      for (const [k, v] of Object.entries(s.drops)) inc({ reason: k }, v);
    },
  },
  {
    name: 'rackwitness_arbitrator_decisions_total',
    help: 'Vote-table rows taken.',
    labelNames: ['row'],
    fill: (s, inc) => {
      for (const [k, v] of Object.entries(s.decisions)) inc({ row: k }, v);
    },
  },
  {
    name: 'rackwitness_arbitrator_client_requests_total',
    help: 'TCP client requests (booth list/peers) answered.',
    labelNames: [],
    fill: (s, inc) => inc({}, s.tcp.requests),
  },
];

/** Registers every arbitrator metric on r; each reads snap() when scraped (nothing while there is none). */
export function registerArbitratorMetrics(r: Registry, snap: () => ArbitratorSnapshot | undefined): void {
  for (const m of GAUGES)
    new Gauge({
      name: m.name,
      help: m.help,
      labelNames: m.labelNames,
      registers: [r],
      collect() {
        this.reset();
        const s = snap();
        if (s) m.fill(s, (l, v) => this.set(l, v));
      },
    });
  for (const m of COUNTERS)
    new Counter({
      name: m.name,
      help: m.help,
      labelNames: m.labelNames,
      registers: [r],
      collect() {
        this.reset();
        const s = snap();
        if (s) m.fill(s, (l, v) => this.inc(l, v));
      },
    });
}
