/**
 * The arbitrator's sockets, and nothing else: the UDP socket for member traffic and the TCP
 * listener for `booth list` / `booth peers` clients, both on the configured address and port.
 * Datagrams and complete client requests go to the handlers; what they mean is decided there
 * (receive.ts, arbitrator.ts). The TCP side frames one request per connection, bounds the
 * number of clients and how long each may take, and answers or closes as the handler says.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { HEADER_LEN, MAX_MSG_LEN } from './wire.js';

/** Concurrent TCP clients served; more are closed at once (boothd serves a handful). */
export const MAX_CLIENTS = 32;

/** What to do with one complete client request: answer it and close, or close without an answer. */
export type ClientAnswer = { answer: Buffer } | { reject: string };

export interface ListenerHandlers {
  datagram(buf: Buffer, source: string): void;
  /** A complete client request; a throw rejects it ("client request failed: ..."). */
  request(req: Buffer): ClientAnswer;
  /** A client connection closed without an answer, with the sentence why. */
  rejected(why: string): void;
}

export interface ListenerOptions {
  host: string;
  port: number;
  /** Idle and total bound on one TCP client connection. */
  clientTimeoutMs: number;
  onError(what: 'UDP socket error' | 'TCP server error', err: Error): void;
}

export class BoothListeners {
  private udp: UdpSocket | undefined;
  private tcp: Server | undefined;
  private readonly clients = new Set<Socket>();

  constructor(
    private readonly o: ListenerOptions,
    private readonly h: ListenerHandlers,
  ) {}

  get listening(): boolean {
    return this.udp !== undefined && this.tcp !== undefined;
  }

  /** Binds UDP, then listens on TCP; throws naming the address when either fails (nothing left open). */
  async start(): Promise<void> {
    const { host, port } = this.o;
    const udp = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', reuseAddr: true });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind({ address: host, port, exclusive: true }, () => {
        udp.off('error', reject);
        resolve();
      });
    }).catch((e: Error) => {
      udp.close();
      throw new Error(`arbitrator: cannot bind UDP ${host}:${port}: ${e.message}`);
    });
    udp.on('error', (e) => this.o.onError('UDP socket error', e));
    udp.on('message', (buf, rinfo) => this.h.datagram(buf, rinfo.address));
    this.udp = udp;
    const tcp = createServer((s) => this.onClient(s));
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen({ host, port, backlog: 5 }, () => {
        tcp.off('error', reject);
        resolve();
      });
    }).catch((e: Error) => {
      udp.close();
      this.udp = undefined;
      throw new Error(`arbitrator: cannot listen on TCP ${host}:${port}: ${e.message}`);
    });
    tcp.on('error', (e) => this.o.onError('TCP server error', e));
    this.tcp = tcp;
  }

  async stop(): Promise<void> {
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

  /** Sends one datagram; false when not listening. `done` gets the send error, if any. */
  send(buf: Buffer, address: string, done: (err: Error | null) => void): boolean {
    const udp = this.udp;
    if (!udp) return false;
    udp.send(buf, this.o.port, address, done);
    return true;
  }

  private onClient(s: Socket): void {
    if (this.clients.size >= MAX_CLIENTS) {
      this.reject(s, `more than ${MAX_CLIENTS} client connections at once`);
      return;
    }
    this.clients.add(s);
    let buf = Buffer.alloc(0);
    let done = false;
    const limitMs = this.o.clientTimeoutMs;
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
      this.answer(s, buf.subarray(0, length));
    });
  }

  private answer(s: Socket, req: Buffer): void {
    let a: ClientAnswer;
    try {
      a = this.h.request(req);
    } catch (e) {
      this.reject(s, `client request failed: ${(e as Error).message}`);
      return;
    }
    if ('reject' in a) this.reject(s, a.reject);
    else s.end(a.answer);
  }

  private reject(s: Socket, why: string): void {
    this.h.rejected(why);
    s.destroy();
  }
}
