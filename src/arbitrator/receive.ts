/**
 * The arbitrator's drop pipeline as pure functions: one member datagram (UDP) or one client
 * request (TCP) in, a verdict out — accepted with what was read, or dropped with the reason
 * (one of DROP_REASONS, src/arbitrator/metrics.ts), the sentence for the log and the peer counter
 * to bump. The checks run in boothd's order: size and sender, header, authentication and replay
 * window, attribute flag, command, length, ticket name, leader. No I/O, no clock of their own;
 * the Arbitrator counts and acts on the verdict.
 */
import type { DropReason } from './metrics.js';
import type { PeerCounters, PeerState } from './report.js';
import {
  checkHeader,
  codeName,
  HEADER_LEN,
  hex,
  MAX_MSG_LEN,
  MEMBER_CMDS,
  NO_ONE,
  OPT_ATTR,
  readHeader,
  readTicket,
  ticketMsgLen,
  timestampOk,
  verifyMessageMac,
  WireError,
} from './wire.js';

type Timestamp = { secs: number; usecs: number };
type Header = ReturnType<typeof readHeader>;

/** What the pipeline reads besides the datagram: the arbitrator's configuration and peer state. */
export interface ReceiveInput {
  selfId: number;
  key: Buffer | undefined;
  maxTimeSkewS: number;
  /** Wall clock (ms since the epoch) for the timestamp window. */
  now: number;
  peers: ReadonlyMap<number, Pick<PeerState, 'member' | 'lastTs'>>;
  hasTicket(name: string): boolean;
  isMember(id: number): boolean;
}

/** A datagram that reaches the vote table. */
export interface Accepted {
  accept: true;
  peer: number;
  ticket: string;
  cmd: number;
  reason: number;
  leader: number;
  term: number;
  /** In booth's wire units (the Arbitrator converts with time_mult). */
  validFor: number;
  /** The peer's newest authenticated timestamp, when this datagram moved it. */
  lastTs?: Timestamp;
}

/** A datagram dropped: why, for the log, and which peer counter (if any) counts it. */
export interface Dropped {
  accept: false;
  reason: DropReason;
  detail: string;
  /** The sending peer, once it is known to be one. */
  peer?: number;
  counter?: Exclude<keyof PeerCounters, 'lastRecv'>;
  /** As in Accepted: an authenticated timestamp moves even when a later check drops the datagram. */
  lastTs?: Timestamp;
}

export type ReceiveVerdict = Accepted | Dropped;

function drop(reason: DropReason, detail: string, more: Partial<Dropped> = {}): Dropped {
  return { accept: false, reason, detail, ...more };
}

/** The whole pipeline for one member datagram. Throws only on a bug (the caller counts "internal"). */
export function receiveDatagram(buf: Buffer, source: string, i: ReceiveInput): ReceiveVerdict {
  if (buf.length < HEADER_LEN) {
    // boothd looks at `from` first; a datagram too short for a header cannot name a sender.
    return drop('short', `${buf.length}-byte datagram from ${source} is shorter than a header`);
  }
  const from = buf.readUInt32BE(20);
  const peer = i.peers.get(from);
  if (!peer) {
    return drop(from === i.selfId ? 'own-id' : 'unknown-sender', `unknown sender 0x${hex(from)} (real: ${source})`);
  }
  const addr = peer.member.address;
  const auth = i.key !== undefined;
  let h: Header;
  try {
    if (buf.length > MAX_MSG_LEN) throw new WireError('long', `${buf.length}-byte datagram exceeds ${MAX_MSG_LEN}`);
    h = readHeader(buf);
    checkHeader(h, buf.length, auth);
  } catch (e) {
    return drop(e instanceof WireError ? e.kind : 'header', `from ${addr}: ${(e as Error).message}`, {
      peer: from,
      counter: 'recvErrors',
    });
  }
  const authed = authenticate(buf, h, peer, i);
  if (!authed.ok) return authed.dropped;
  return readBody(buf, h, from, addr, auth, i, authed.lastTs);
}

/** The MAC and the replay window (only with an authfile). */
function authenticate(
  buf: Buffer,
  h: Header,
  peer: Pick<PeerState, 'member' | 'lastTs'>,
  i: ReceiveInput,
): { ok: true; lastTs?: Timestamp } | { ok: false; dropped: Dropped } {
  if (!i.key) return { ok: true };
  const at = { peer: peer.member.id, counter: 'authFailures' } as const;
  const addr = peer.member.address;
  try {
    verifyMessageMac(buf, h, i.key);
  } catch (e) {
    return { ok: false, dropped: drop('auth', `${addr}: failed to authenticate (${(e as Error).message})`, at) };
  }
  const ts = timestampOk(h.secs, h.usecs, peer.lastTs, i.now, i.maxTimeSkewS);
  if (!ts.ok) {
    const detail = `${addr}: timestamp outside the ${i.maxTimeSkewS} s window (replay?)`;
    return { ok: false, dropped: drop('timestamp', detail, at) };
  }
  return ts.older ? { ok: true } : { ok: true, lastTs: { secs: h.secs, usecs: h.usecs } };
}

/** After authentication: the attribute flag, the command, the length, the ticket and its leader. */
function readBody(
  buf: Buffer,
  h: Header,
  from: number,
  addr: string,
  auth: boolean,
  i: ReceiveInput,
  lastTs: Timestamp | undefined,
): ReceiveVerdict {
  const at = (counter?: Dropped['counter']): Partial<Dropped> => ({
    peer: from,
    ...(counter ? { counter } : {}),
    ...(lastTs ? { lastTs } : {}),
  });
  if (h.opts & OPT_ATTR) return drop('attr', `attribute message from ${addr} over UDP ignored`, at());
  if (!MEMBER_CMDS.has(h.cmd))
    return drop('unknown-cmd', `unknown message ${codeName(h.cmd)} from ${addr}`, at('invalid'));
  if (h.length !== ticketMsgLen(auth))
    return drop('length', `${codeName(h.cmd)} from ${addr} has length ${h.length}`, at('recvErrors'));
  let body: ReturnType<typeof readTicket>;
  try {
    body = readTicket(buf);
  } catch (e) {
    return drop('ticket-name', `from ${addr}: ${(e as Error).message}`, at('invalid'));
  }
  if (!i.hasTicket(body.name))
    return drop('ticket-name', `got invalid ticket name "${body.name.slice(0, 64)}" from ${addr}`, at('invalid'));
  if (body.leader !== NO_ONE && !i.isMember(body.leader)) {
    const detail = `unknown leader 0x${hex(body.leader)} in ${codeName(h.cmd)} from ${addr}`;
    return drop('leader', detail, at('invalid'));
  }
  return {
    accept: true,
    peer: from,
    ticket: body.name,
    cmd: h.cmd,
    reason: h.reason,
    leader: body.leader,
    term: body.term,
    validFor: body.validFor,
    ...(lastTs ? { lastTs } : {}),
  };
}

/** A client request (TCP): rejected (connection closed, no answer), refused (answered), or read. */
export type ClientVerdict =
  | { accept: false; reason: 'client'; detail: string }
  | { accept: false; reason: 'client-auth'; detail: string }
  | { accept: true; cmd: number };

/**
 * The checks on one complete client request: the header, then (with an authfile) the MAC and the
 * timestamp window, with no per-client replay memory (boothd keeps none for clients either).
 * Throws when the header cannot be read at all (the caller rejects the request).
 */
export function checkClientRequest(req: Buffer, i: Pick<ReceiveInput, 'key' | 'now' | 'maxTimeSkewS'>): ClientVerdict {
  const h = readHeader(req);
  try {
    checkHeader(h, req.length, i.key !== undefined);
  } catch (e) {
    return { accept: false, reason: 'client', detail: `client request: ${(e as Error).message}` };
  }
  if (i.key) {
    let ok = true;
    try {
      verifyMessageMac(req, h, i.key);
    } catch {
      ok = false;
    }
    if (ok && !timestampOk(h.secs, h.usecs, undefined, i.now, i.maxTimeSkewS).ok) ok = false;
    if (!ok) return { accept: false, reason: 'client-auth', detail: 'client: failed to authenticate' };
  }
  return { accept: true, cmd: h.cmd };
}
