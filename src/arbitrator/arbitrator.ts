/**
 * The booth arbitrator engine: UDP member traffic and TCP client requests on its own configured
 * address and port, the receive pipeline with its drop counters (in boothd's order), the vote
 * table applied per ticket, lease timers, and the text `booth list` / `booth peers` print.
 * Decisions come from vote.ts; this file only does I/O and bookkeeping.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import type { BoothConf, BoothMember } from './boothconf.js';
import { type GuardPolicy, guardVote, type LastKnownLsn } from './guard.js';
import {
  type ArbitratorSnapshot,
  boothListText,
  boothPeersText,
  mono,
  type PeerState,
  peerSnapshot,
  type TicketSlot,
  ticketSnapshot,
} from './report.js';
import {
  decide,
  type Incoming,
  initialView,
  nextDeadline,
  remainingMs,
  type TicketView,
  tick,
  type VoteGuardVerdict,
} from './vote.js';
import {
  CMD,
  checkHeader,
  codeName,
  encodeHeaderMsg,
  encodeListReply,
  encodeTicketMsg,
  HEADER_LEN,
  hex,
  MAX_MSG_LEN,
  MEMBER_CMDS,
  NO_ONE,
  OPT_ATTR,
  RESULT,
  readHeader,
  readTicket,
  type Signer,
  ticketMsgLen,
  timestampOk,
  verifyMessageMac,
  WireError,
} from './wire.js';

export interface ArbLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export type EventSink = (kind: string, sentence: string, data?: Record<string, unknown>) => void;

export interface GuardOptions {
  tickets: ReadonlySet<string>;
  policy: GuardPolicy;
  provider: () => LastKnownLsn | undefined;
}

export interface ArbitratorOptions {
  conf: BoothConf;
  self: BoothMember;
  key: Buffer | undefined;
  log: ArbLogger;
  event: EventSink;
  guard?: GuardOptions;
  /** Called after any change of ticket or peer state worth publishing. */
  onChange?: () => void;
  /** Called when the ticket timer loop is armed and after each of its turns (the watchdog's heartbeat). */
  onTick?: () => void;
  /** Idle and total bound on one TCP client connection (default 5 s; boothd has none). */
  clientTimeoutMs?: number;
}

export type { ArbitratorSnapshot, PeerCounters, TicketSnapshot } from './report.js';
export { formatLocal } from './report.js';

/** Concurrent TCP clients served; more are closed at once (boothd serves a handful). */
const MAX_CLIENTS = 32;

export class Arbitrator {
  private udp: UdpSocket | undefined;
  private tcp: Server | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly tickets = new Map<string, TicketSlot>();
  private readonly peers = new Map<number, PeerState>();
  private readonly drops: Record<string, number> = {};
  private readonly decisions: Record<string, number> = {};
  private readonly tcpCounters = { requests: 0, authFailures: 0, rejected: 0 };
  private readonly lastWarn = new Map<string, number>();
  private readonly clients = new Set<Socket>();
  private readonly signer: Signer;
  private readonly byId = new Map<number, BoothMember>();
  private startedAt: number | undefined;
  /** Tickets whose start-up quiet period has ended (logged once each). */
  private readonly quietOver = new Set<string>();

  constructor(private readonly o: ArbitratorOptions) {
    this.signer = { key: o.key, nowUs: () => BigInt(Math.floor((performance.timeOrigin + performance.now()) * 1000)) };
    for (const t of o.conf.tickets) this.tickets.set(t.name, { conf: t, view: initialView() });
    for (const m of o.conf.members) {
      this.byId.set(m.id, m);
      if (m.id === o.self.id) continue;
      this.peers.set(m.id, {
        member: m,
        lastTs: undefined,
        counters: {
          sent: 0,
          sendErrors: 0,
          resends: 0,
          received: 0,
          recvErrors: 0,
          authFailures: 0,
          invalid: 0,
          dropped: 0,
          lastRecv: undefined,
        },
      });
    }
  }

  get listening(): boolean {
    return this.udp !== undefined && this.tcp !== undefined;
  }

  async start(): Promise<void> {
    const { self, conf } = this.o;
    const host = self.address;
    const udp = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', reuseAddr: true });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind({ address: host, port: conf.port, exclusive: true }, () => {
        udp.off('error', reject);
        resolve();
      });
    }).catch((e: Error) => {
      udp.close();
      throw new Error(`arbitrator: cannot bind UDP ${host}:${conf.port}: ${e.message}`);
    });
    udp.on('error', (e) => this.o.log.error({ err: e.message }, 'UDP socket error'));
    udp.on('message', (buf, rinfo) => this.onDatagram(buf, rinfo.address));
    this.udp = udp;
    const tcp = createServer((s) => this.onClient(s));
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen({ host, port: conf.port, backlog: 5 }, () => {
        tcp.off('error', reject);
        resolve();
      });
    }).catch((e: Error) => {
      udp.close();
      this.udp = undefined;
      throw new Error(`arbitrator: cannot listen on TCP ${host}:${conf.port}: ${e.message}`);
    });
    tcp.on('error', (e) => this.o.log.error({ err: e.message }, 'TCP server error'));
    this.tcp = tcp;
    const granularity = Math.max(10, Math.min(100, ...conf.tickets.map((t) => t.timeoutMs / 10)));
    this.timer = setInterval(() => this.onTimer(), granularity);
    this.timer.unref?.();
    this.o.onTick?.(); // the loop is armed: a watchdog gated on it may feed from the first tick
    this.o.event(
      'arbitrator.start',
      `booth arbitrator listening on ${host}:${conf.port} as site id 0x${hex(self.id)}`,
      {
        address: host,
        port: conf.port,
        auth: this.o.key !== undefined,
      },
    );
    this.startedAt = mono();
    // Relearn the tickets after a (re)start: every member answers Stat with its view (MIdx).
    for (const t of this.tickets.values()) this.broadcast(CMD.Stat, t);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const c of this.clients) c.destroy();
    const udp = this.udp;
    const tcp = this.tcp;
    this.udp = undefined;
    this.tcp = undefined;
    await Promise.all([
      new Promise<void>((r) => {
        if (!udp) return r();
        try {
          udp.close(() => r());
        } catch {
          r();
        }
      }),
      new Promise<void>((r) => (tcp ? tcp.close(() => r()) : r())),
    ]);
  }

  // ---------------------------------------------------------------- helpers

  private name = (id: number | undefined): string => {
    if (id === undefined) return 'NONE';
    if (id === NO_ONE) return 'none';
    return this.byId.get(id)?.address ?? `0x${hex(id)}`;
  };

  private toMs(validFor: number): number {
    return (validFor * 1000) / this.o.conf.timeMult;
  }

  private toWire(ms: number): number {
    return Math.floor((ms * this.o.conf.timeMult) / 1000);
  }

  private drop(kind: string, peer: PeerState | undefined, detail: string): void {
    this.drops[kind] = (this.drops[kind] ?? 0) + 1;
    if (peer) peer.counters.dropped++;
    const key = `${kind}/${peer?.member.address ?? '?'}`;
    const now = Date.now();
    if ((this.lastWarn.get(key) ?? 0) + 10_000 <= now) {
      this.lastWarn.set(key, now);
      this.o.log.warn({ kind, peer: peer?.member.address }, `dropped packet: ${detail}`);
    }
  }

  private send(peer: PeerState, buf: Buffer): void {
    const udp = this.udp;
    if (!udp) return;
    peer.counters.sent++;
    udp.send(buf, this.o.conf.port, peer.member.address, (err) => {
      if (err) {
        peer.counters.sendErrors++;
        this.o.log.debug({ err: err.message, peer: peer.member.address }, 'send failed');
      }
    });
  }

  private ticketMsg(
    cmd: number,
    t: TicketSlot,
    over: { request?: number; result?: number; leader?: number; term?: number },
  ) {
    const v = t.view;
    return encodeTicketMsg(
      { from: this.o.self.id, cmd, request: over.request ?? 0, result: over.result ?? 0 },
      {
        name: t.conf.name,
        leader: over.leader ?? (v.leader === undefined ? NO_ONE : v.leader),
        term: over.term ?? v.term,
        validFor: this.toWire(remainingMs(v, mono())),
      },
      this.signer,
    );
  }

  private broadcast(cmd: number, t: TicketSlot): void {
    for (const p of this.peers.values()) this.send(p, this.ticketMsg(cmd, t, {}));
  }

  // ---------------------------------------------------------------- UDP pipeline

  /** Public for tests: the whole receive pipeline for one datagram. Never throws. */
  onDatagram(buf: Buffer, source = '?'): void {
    try {
      this.receive(buf, source);
    } catch (e) {
      this.drop('internal', undefined, `internal error ${(e as Error).message}`);
    }
  }

  private receive(buf: Buffer, source: string): void {
    if (buf.length < HEADER_LEN) {
      // boothd looks at `from` first; a datagram too short for a header cannot name a sender.
      this.drop('short', undefined, `${buf.length}-byte datagram from ${source} is shorter than a header`);
      return;
    }
    const from = buf.readUInt32BE(20);
    const peer = this.peers.get(from);
    if (!peer) {
      this.drop(
        from === this.o.self.id ? 'own-id' : 'unknown-sender',
        undefined,
        `unknown sender 0x${hex(from)} (real: ${source})`,
      );
      return;
    }
    peer.counters.received++;
    const auth = this.o.key !== undefined;
    let h: ReturnType<typeof readHeader>;
    try {
      if (buf.length > MAX_MSG_LEN) throw new WireError('long', `${buf.length}-byte datagram exceeds ${MAX_MSG_LEN}`);
      h = readHeader(buf);
      checkHeader(h, buf.length, auth);
    } catch (e) {
      peer.counters.recvErrors++;
      this.drop(
        e instanceof WireError ? e.kind : 'header',
        peer,
        `from ${peer.member.address}: ${(e as Error).message}`,
      );
      return;
    }
    if (this.o.key) {
      try {
        verifyMessageMac(buf, h, this.o.key);
      } catch (e) {
        peer.counters.authFailures++;
        this.drop('auth', peer, `${peer.member.address}: failed to authenticate (${(e as Error).message})`);
        return;
      }
      const ts = timestampOk(h.secs, h.usecs, peer.lastTs, Date.now(), this.o.conf.maxTimeSkewS);
      if (!ts.ok) {
        peer.counters.authFailures++;
        this.drop(
          'timestamp',
          peer,
          `${peer.member.address}: timestamp outside the ${this.o.conf.maxTimeSkewS} s window (replay?)`,
        );
        return;
      }
      if (!ts.older) peer.lastTs = { secs: h.secs, usecs: h.usecs };
    }
    if (h.opts & OPT_ATTR) {
      this.drop('attr', peer, `attribute message from ${peer.member.address} over UDP ignored`);
      return;
    }
    if (!MEMBER_CMDS.has(h.cmd)) {
      peer.counters.invalid++;
      this.drop('unknown-cmd', peer, `unknown message ${codeName(h.cmd)} from ${peer.member.address}`);
      return;
    }
    if (h.length !== ticketMsgLen(auth)) {
      peer.counters.recvErrors++;
      this.drop('length', peer, `${codeName(h.cmd)} from ${peer.member.address} has length ${h.length}`);
      return;
    }
    let body: ReturnType<typeof readTicket>;
    try {
      body = readTicket(buf);
    } catch (e) {
      peer.counters.invalid++;
      this.drop('ticket-name', peer, `from ${peer.member.address}: ${(e as Error).message}`);
      return;
    }
    const t = this.tickets.get(body.name);
    if (!t) {
      peer.counters.invalid++;
      this.drop('ticket-name', peer, `got invalid ticket name "${body.name.slice(0, 64)}" from ${peer.member.address}`);
      return;
    }
    if (body.leader !== NO_ONE && !this.byId.has(body.leader)) {
      peer.counters.invalid++;
      this.drop(
        'leader',
        peer,
        `unknown leader 0x${hex(body.leader)} in ${codeName(h.cmd)} from ${peer.member.address}`,
      );
      return;
    }
    peer.counters.lastRecv = Date.now();
    this.handle(t, peer, {
      cmd: h.cmd,
      from,
      reason: h.reason,
      leader: body.leader,
      term: body.term,
      validMs: this.toMs(body.validFor),
    });
  }

  /**
   * The PostgreSQL guard's verdict on a vote request's sender, computed once before the table is
   * consulted (one wall-clock reading, one read of the provider); undefined when the message is no
   * vote request or the ticket is not guarded.
   */
  private guardVerdict(t: TicketSlot, m: Incoming): VoteGuardVerdict | undefined {
    const g = this.o.guard;
    if (m.cmd !== CMD.RVot || !g?.tickets.has(t.conf.name)) return undefined;
    return guardVote({
      candidateAddress: this.name(m.from),
      now: Date.now(),
      policy: g.policy,
      lastKnownLsn: g.provider(),
    });
  }

  private handle(t: TicketSlot, peer: PeerState, m: Incoming): void {
    const now = mono();
    const d = decide(t.view, m, {
      now,
      manual: t.conf.manual,
      expireMs: t.conf.expireMs,
      timeoutMs: t.conf.timeoutMs,
      acquireAfterMs: t.conf.acquireAfterMs,
      name: this.name,
      guard: this.guardVerdict(t, m),
      startedAt: this.startedAt,
    });
    const before = t.view;
    t.view = d.view;
    this.decisions[d.row] = (this.decisions[d.row] ?? 0) + 1;
    if (d.reply) {
      this.send(
        peer,
        this.ticketMsg(d.reply.cmd, t, {
          request: d.reply.request,
          result: d.reply.result,
          leader: d.reply.leader,
          term: d.reply.term,
        }),
      );
    }
    const data = {
      ticket: t.conf.name,
      row: d.row,
      from: peer.member.address,
      cmd: codeName(m.cmd),
      term: d.view.term,
      leader: this.name(d.view.leader),
    };
    if (d.event) this.o.event(d.event, `${t.conf.name}: ${d.reason}`, data);
    else this.o.log.debug(data, `${t.conf.name}: ${d.reason}`);
    if (before.leader !== d.view.leader || before.term !== d.view.term || before.expiresAt !== d.view.expiresAt)
      this.o.onChange?.();
  }

  /** One turn of the ticket timer loop; the watchdog's "arbitrator" heartbeat says it completed. */
  private onTimer(): void {
    this.onTimerTurn();
    this.o.onTick?.();
  }

  private onTimerTurn(): void {
    const now = mono();
    for (const t of this.tickets.values()) {
      if (
        this.startedAt !== undefined &&
        !this.quietOver.has(t.conf.name) &&
        now >= this.startedAt + 2 * t.conf.timeoutMs
      ) {
        this.quietOver.add(t.conf.name);
        this.o.log.info({ ticket: t.conf.name }, `${t.conf.name}: start-up quiet period over, voting`);
      }
      const dl = nextDeadline(t.view, t.conf);
      if (dl === undefined || dl > now) continue;
      const d = tick(t.view, {
        now,
        manual: t.conf.manual,
        timeoutMs: t.conf.timeoutMs,
        acquireAfterMs: t.conf.acquireAfterMs,
        name: this.name,
      });
      if (!d) continue;
      t.view = d.view;
      this.decisions[d.row] = (this.decisions[d.row] ?? 0) + 1;
      if (d.event) this.o.event(d.event, `${t.conf.name}: ${d.reason}`, { ticket: t.conf.name, row: d.row });
      this.o.onChange?.();
    }
  }

  // ---------------------------------------------------------------- TCP clients

  private onClient(s: Socket): void {
    if (this.clients.size >= MAX_CLIENTS) {
      this.reject(s, `more than ${MAX_CLIENTS} client connections at once`);
      return;
    }
    this.clients.add(s);
    let buf = Buffer.alloc(0);
    let done = false;
    const limitMs = this.o.clientTimeoutMs ?? 5000;
    // idle bound, and a total bound: a byte every few seconds must not hold a client slot forever
    s.setTimeout(limitMs, () => s.destroy());
    const total = setTimeout(() => {
      if (!done) this.reject(s, `client did not send a complete request within ${limitMs / 1000} s`);
      else s.destroy();
    }, limitMs);
    total.unref?.();
    s.on('error', () => s.destroy());
    s.on('close', () => {
      clearTimeout(total);
      this.clients.delete(s);
    });
    s.on('data', (chunk) => {
      if (done) return;
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < HEADER_LEN) return;
      const length = buf.readUInt32BE(24);
      if (length < HEADER_LEN || length > MAX_MSG_LEN) {
        done = true;
        this.reject(s, `client request length field ${length} is outside 48-${MAX_MSG_LEN}`);
        return;
      }
      if (buf.length < length) return;
      done = true;
      try {
        this.answerClient(s, buf.subarray(0, length));
      } catch (e) {
        this.reject(s, `client request failed: ${(e as Error).message}`);
      }
    });
  }

  private reject(s: Socket, why: string): void {
    this.tcpCounters.rejected++;
    this.drop('client', undefined, why);
    s.destroy();
  }

  private answerClient(s: Socket, req: Buffer): void {
    const h = readHeader(req);
    const auth = this.o.key !== undefined;
    try {
      checkHeader(h, req.length, auth);
    } catch (e) {
      this.reject(s, `client request: ${(e as Error).message}`);
      return;
    }
    this.tcpCounters.requests++;
    if (this.o.key) {
      let ok = true;
      try {
        verifyMessageMac(req, h, this.o.key);
      } catch {
        ok = false;
      }
      if (ok && !timestampOk(h.secs, h.usecs, undefined, Date.now(), this.o.conf.maxTimeSkewS).ok) ok = false;
      if (!ok) {
        this.tcpCounters.authFailures++;
        this.drop('client-auth', undefined, 'client: failed to authenticate');
        s.end(encodeHeaderMsg({ from: this.o.self.id, cmd: CMD.Rslt, result: RESULT.Auth }, this.signer));
        return;
      }
    }
    if (h.cmd === CMD.CLst) {
      s.end(encodeListReply(this.o.self.id, this.listText(), this.signer));
    } else if (h.cmd === CMD.Peer) {
      s.end(encodeListReply(this.o.self.id, this.peersText(), this.signer));
    } else {
      this.tcpCounters.rejected++;
      s.end(
        encodeHeaderMsg(
          { from: this.o.self.id, cmd: CMD.Rslt, request: h.cmd, result: RESULT.InvalidArg },
          this.signer,
        ),
      );
    }
  }

  /** `booth list` text, byte for byte as boothd prints it. */
  listText(): string {
    return boothListText(this.tickets.values(), this.name);
  }

  /** `booth peers` text, byte for byte as boothd prints it. */
  peersText(): string {
    return boothPeersText(this.peers.values());
  }

  snapshot(): ArbitratorSnapshot {
    const now = mono();
    return {
      address: this.o.self.address,
      port: this.o.conf.port,
      siteId: `0x${hex(this.o.self.id)}`,
      auth: this.o.key !== undefined,
      listening: this.listening,
      tickets: [...this.tickets.values()].map((t) => ticketSnapshot(t, this.name, now, this.startedAt)),
      peers: [...this.peers.values()].map(peerSnapshot),
      drops: { ...this.drops },
      tcp: { ...this.tcpCounters },
      decisions: { ...this.decisions },
    };
  }

  /** For tests: the current view of a ticket. */
  view(name: string): TicketView | undefined {
    return this.tickets.get(name)?.view;
  }
}
