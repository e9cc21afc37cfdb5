/**
 * UDP request/response for one BMC: a connected dgram socket, one outstanding exchange at a
 * time, a matcher that accepts or drops each datagram, per-try timeouts with doubling, and
 * clear errors. A connected socket turns an ICMP port-unreachable into ECONNREFUSED, so a BMC
 * address with nothing listening fails in milliseconds instead of after the retry budget.
 *
 * Classification of a failed exchange:
 *   socket error (ECONNREFUSED, EHOSTUNREACH...)  -> 'io'
 *   no datagram at all within the budget          -> 'timeout'
 *   only datagrams the matcher rejected           -> 'protocol' (names the last reason)
 *   matcher throws a DriverError                  -> that error, at once (e.g. RAKP2 status)
 *   caller's AbortSignal fires                    -> 'timeout' ("aborted")
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { DriverError } from '../driver.js';
import { CodecError } from './codec.js';

export interface ExchangeOptions {
  /** How many times the request is sent in total (1 = no retransmission). */
  tries: number;
  /** Timeout of the first try; each retransmission doubles it (capped at 8x). */
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

/** Result of the matcher: a value ends the exchange; undefined drops the datagram silently. */
export type Matcher<T> = (datagram: Buffer) => T | undefined;

export class Link {
  private waiter: ((d: Buffer) => void) | undefined;
  private failer: ((e: Error) => void) | undefined;
  private closed = false;
  /** Datagrams received and dropped, and the last drop reason (for error messages and tests). */
  dropped = 0;
  lastDrop = '';

  private constructor(
    private readonly sock: Socket,
    readonly host: string,
    readonly port: number,
    readonly device: string,
  ) {
    sock.on('message', (d) => this.waiter?.(d));
    sock.on('error', (e) => this.failer?.(e));
  }

  static open(host: string, port: number, device: string): Promise<Link> {
    return new Promise((resolve, reject) => {
      const sock = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
      const onError = (e: Error) => {
        sock.close();
        reject(new DriverError('io', device, `cannot reach BMC ${host}:${port}: ${e.message}`, { cause: e }));
      };
      sock.once('error', onError);
      sock.connect(port, host, () => {
        sock.off('error', onError);
        resolve(new Link(sock, host, port, device));
      });
    });
  }

  /** Records a dropped datagram (matcher helper). */
  drop(reason: string): undefined {
    this.dropped++;
    this.lastDrop = reason;
    return undefined;
  }

  /**
   * Sends `build()` (called again for every retransmission, so it can take a fresh session
   * sequence number) until `match` accepts a datagram or the tries run out.
   */
  async exchange<T>(what: string, build: () => Buffer, match: Matcher<T>, o: ExchangeOptions): Promise<T> {
    if (this.closed) throw new DriverError('io', this.device, `${what}: socket already closed`);
    const dropsBefore = this.dropped;
    let waited = 0;
    for (let attempt = 0; attempt < Math.max(1, o.tries); attempt++) {
      const timeoutMs = Math.min(o.timeoutMs * 2 ** attempt, o.timeoutMs * 8);
      const packet = build();
      const result = await this.once(what, packet, match, timeoutMs, o.signal);
      if (result.done) return result.value;
      waited += timeoutMs;
    }
    const tries = Math.max(1, o.tries);
    if (this.dropped > dropsBefore) {
      throw new DriverError(
        'protocol',
        this.device,
        `${what}: no valid reply from ${this.host}:${this.port} after ${tries} tries; ${this.dropped - dropsBefore} reply(ies) rejected, last: ${this.lastDrop}`,
      );
    }
    throw new DriverError(
      'timeout',
      this.device,
      `${what}: no reply from BMC ${this.host}:${this.port} within ${waited} ms (${tries} tries)`,
    );
  }

  private once<T>(
    what: string,
    packet: Buffer,
    match: Matcher<T>,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<{ done: true; value: T } | { done: false }> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = () => {
        clearTimeout(timer);
        this.waiter = undefined;
        this.failer = undefined;
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        finish();
        reject(new DriverError('timeout', this.device, `${what}: aborted (${describeReason(signal?.reason)})`));
      };
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.failer = (e) => {
        finish();
        const code = (e as NodeJS.ErrnoException).code;
        const hint = code === 'ECONNREFUSED' ? ' (ICMP port unreachable: nothing listens on that UDP port)' : '';
        reject(
          new DriverError('io', this.device, `${what}: ${this.host}:${this.port} ${e.message}${hint}`, { cause: e }),
        );
      };
      this.waiter = (d) => {
        let value: T | undefined;
        try {
          value = match(d);
        } catch (e) {
          if (e instanceof CodecError) {
            this.drop(e.message);
            return;
          }
          finish();
          reject(e);
          return;
        }
        if (value === undefined) return;
        finish();
        resolve({ done: true, value });
      };
      timer = setTimeout(() => {
        finish();
        resolve({ done: false });
      }, timeoutMs);
      this.sock.send(packet, (err) => {
        if (err) this.failer?.(err);
      });
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.sock.close();
    } catch {
      // already closed
    }
  }
}

function describeReason(reason: unknown): string {
  if (reason instanceof Error) return reason.message;
  if (reason === undefined) return 'no reason given';
  return String(reason);
}
