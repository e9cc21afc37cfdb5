/**
 * What the arbitrator shows: `booth list` and `booth peers` text (byte for byte as boothd prints
 * them) and the status snapshot, from the arbitrator's tickets and peers.
 */
import type { BoothMember, BoothTicket } from './boothconf.js';
import { isSite, type TicketView } from './vote.js';
import { hex } from './wire.js';

export interface PeerCounters {
  sent: number;
  sendErrors: number;
  resends: number;
  received: number;
  recvErrors: number;
  authFailures: number;
  invalid: number;
  dropped: number;
  /** Wall clock ms of the last accepted packet. */
  lastRecv: number | undefined;
}

export interface PeerState {
  member: BoothMember;
  counters: PeerCounters;
  lastTs: { secs: number; usecs: number } | undefined;
}

/** One ticket as the arbitrator keeps it: its booth.conf section and its current view (whose booth state is vote.ts's TicketState). */
export interface TicketSlot {
  conf: BoothTicket;
  view: TicketView;
}

export interface TicketSnapshot {
  name: string;
  mode: 'automatic' | 'manual';
  state: string;
  leader: string;
  term: number;
  /** ISO time of the lease end, "INF" for a granted manual ticket, null without lease. */
  expires: string | null;
  expiresInS: number | null;
  lastChange: string | null;
  inElection: boolean;
  votedFor: string | null;
  /** Seconds left of the start-up quiet period (no new votes for two timeouts after a start); 0 when over. */
  quietForS: number;
}

export interface ArbitratorSnapshot {
  address: string;
  port: number;
  siteId: string;
  auth: boolean;
  listening: boolean;
  tickets: TicketSnapshot[];
  peers: Array<
    { address: string; type: string; siteId: string } & Omit<PeerCounters, 'lastRecv'> & { lastRecv: string | null }
  >;
  drops: Record<string, number>;
  tcp: { requests: number; authFailures: number; rejected: number };
  decisions: Record<string, number>;
}

/** Monotonic milliseconds (leases) and the offset to turn them into wall-clock time. */
export const mono = () => performance.now();
export const monoToWall = (m: number) => Date.now() - performance.now() + m;

export function formatLocal(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

type NameOf = (id: number | undefined) => string;

/** `booth list` text, byte for byte as boothd prints it. */
export function boothListText(tickets: Iterable<TicketSlot>, name: NameOf): string {
  let out = '';
  for (const t of tickets) {
    const v = t.view;
    out += `ticket: ${t.conf.name}, leader: ${name(v.leader)}`;
    if (isSite(v.leader)) {
      const exp =
        t.conf.manual || v.expiresAt === Number.POSITIVE_INFINITY
          ? 'INF'
          : formatLocal(monoToWall(v.expiresAt ?? mono()));
      out += `, expires: ${exp}`;
    }
    if (t.conf.manual) out += ' [manual mode]';
    out += '\n';
  }
  return out;
}

/** `booth peers` text, byte for byte as boothd prints it. */
export function boothPeersText(peers: Iterable<PeerState>): string {
  let out = '';
  for (const p of peers) {
    const c = p.counters;
    out += `${p.member.type.padEnd(12)} ${p.member.address}, last recv: ${formatLocal(c.lastRecv ?? 0)}\n`;
    out += `\tSent pkts:${c.sent} error:${c.sendErrors} resends:${c.resends}\n`;
    out += `\tRecv pkts:${c.received} error:${c.recvErrors} authfail:${c.authFailures} invalid:${c.invalid}\n\n`;
  }
  return out;
}

/** One ticket in the snapshot; now and startedAt on the monotonic clock. */
export function ticketSnapshot(
  t: TicketSlot,
  name: NameOf,
  now: number,
  startedAt: number | undefined,
): TicketSnapshot {
  const v = t.view;
  const inf = v.expiresAt === Number.POSITIVE_INFINITY;
  return {
    name: t.conf.name,
    mode: t.conf.manual ? 'manual' : 'automatic',
    state: v.state,
    leader: name(v.leader),
    term: v.term,
    expires:
      v.expiresAt === undefined || !isSite(v.leader)
        ? null
        : inf
          ? 'INF'
          : new Date(monoToWall(v.expiresAt)).toISOString(),
    expiresInS: v.expiresAt === undefined || inf || !isSite(v.leader) ? null : Math.max(0, (v.expiresAt - now) / 1000),
    lastChange: v.lastChangeAt === undefined ? null : new Date(monoToWall(v.lastChangeAt)).toISOString(),
    inElection: v.inElection,
    votedFor: v.votedFor === undefined ? null : name(v.votedFor),
    quietForS: startedAt === undefined ? 0 : Math.max(0, (startedAt + 2 * t.conf.timeoutMs - now) / 1000),
  };
}

export function peerSnapshot(p: PeerState): ArbitratorSnapshot['peers'][number] {
  return {
    address: p.member.address,
    type: p.member.type,
    siteId: `0x${hex(p.member.id)}`,
    ...p.counters,
    lastRecv: p.counters.lastRecv === undefined ? null : new Date(p.counters.lastRecv).toISOString(),
  };
}
