/**
 * The booth arbitrator engine, composed of: the sockets (listeners.ts: UDP member traffic, TCP
 * clients), the drop pipeline (receive.ts: one verdict per datagram or client request, with its
 * reason), the vote table applied per ticket (vote.ts), and the text `booth list` / `booth peers`
 * print (report.ts). This class keeps the state (tickets, peers, counters), counts the drops,
 * applies the decisions and runs the lease timers.
 */
import type { BoothConf, BoothMember } from './boothconf.js';
import { type GuardPolicy, guardVote, type LastKnownLsn } from './guard.js';
import { BoothListeners, type ClientAnswer } from './listeners.js';
import type { DropReason } from './metrics.js';
import { type Accepted, checkClientRequest, type ReceiveInput, receiveDatagram } from './receive.js';
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
  codeName,
  encodeHeaderMsg,
  encodeListReply,
  encodeTicketMsg,
  hex,
  NO_ONE,
  RESULT,
  type Signer,
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

export class Arbitrator {
  private readonly net: BoothListeners;
  private timer: NodeJS.Timeout | undefined;
  private readonly tickets = new Map<string, TicketSlot>();
  private readonly peers = new Map<number, PeerState>();
  private readonly drops: Partial<Record<DropReason, number>> = {};
  private readonly decisions: Record<string, number> = {};
  private readonly tcpCounters = { requests: 0, authFailures: 0, rejected: 0 };
  private readonly lastWarn = new Map<string, number>();
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
    this.net = new BoothListeners(
      {
        host: o.self.address,
        port: o.conf.port,
        clientTimeoutMs: o.clientTimeoutMs ?? 5000,
        onError: (what, e) => o.log.error({ err: e.message }, what),
      },
      {
        datagram: (buf, source) => this.onDatagram(buf, source),
        request: (req) => this.answerClient(req),
        rejected: (why) => {
          this.tcpCounters.rejected++;
          this.drop('client', undefined, why);
        },
      },
    );
  }

  get listening(): boolean {
    return this.net.listening;
  }

  async start(): Promise<void> {
    const { self, conf } = this.o;
    const host = self.address;
    await this.net.start();
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
    await this.net.stop();
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

  private drop(kind: DropReason, peer: PeerState | undefined, detail: string): void {
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
    const sent = this.net.send(buf, peer.member.address, (err) => {
      if (err) {
        peer.counters.sendErrors++;
        this.o.log.debug({ err: err.message, peer: peer.member.address }, 'send failed');
      }
    });
    if (sent) peer.counters.sent++;
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
    const v = receiveDatagram(buf, source, this.receiveInput());
    const peer = v.peer === undefined ? undefined : this.peers.get(v.peer);
    if (peer) {
      peer.counters.received++;
      if (v.lastTs) peer.lastTs = v.lastTs;
    }
    if (!v.accept) {
      if (peer && v.counter) peer.counters[v.counter]++;
      this.drop(v.reason, peer, v.detail);
      return;
    }
    const t = this.tickets.get(v.ticket);
    if (!peer || !t) return; // the verdict names a known peer and ticket
    peer.counters.lastRecv = Date.now();
    this.handle(t, peer, this.incoming(v));
  }

  private receiveInput(): ReceiveInput {
    return {
      selfId: this.o.self.id,
      key: this.o.key,
      maxTimeSkewS: this.o.conf.maxTimeSkewS,
      now: Date.now(),
      peers: this.peers,
      hasTicket: (name) => this.tickets.has(name),
      isMember: (id) => this.byId.has(id),
    };
  }

  private incoming(v: Accepted): Incoming {
    return {
      cmd: v.cmd,
      from: v.peer,
      reason: v.reason,
      leader: v.leader,
      term: v.term,
      validMs: this.toMs(v.validFor),
    };
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

  /** One client request, checked (receive.ts) and answered; counted in tcpCounters and drops. */
  private answerClient(req: Buffer): ClientAnswer {
    const v = checkClientRequest(req, { key: this.o.key, now: Date.now(), maxTimeSkewS: this.o.conf.maxTimeSkewS });
    if (!v.accept && v.reason === 'client') return { reject: v.detail };
    this.tcpCounters.requests++;
    if (!v.accept) {
      this.tcpCounters.authFailures++;
      this.drop('client-auth', undefined, v.detail);
      return { answer: encodeHeaderMsg({ from: this.o.self.id, cmd: CMD.Rslt, result: RESULT.Auth }, this.signer) };
    }
    if (v.cmd === CMD.CLst) return { answer: encodeListReply(this.o.self.id, this.listText(), this.signer) };
    if (v.cmd === CMD.Peer) return { answer: encodeListReply(this.o.self.id, this.peersText(), this.signer) };
    this.tcpCounters.rejected++;
    return {
      answer: encodeHeaderMsg(
        { from: this.o.self.id, cmd: CMD.Rslt, request: v.cmd, result: RESULT.InvalidArg },
        this.signer,
      ),
    };
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
