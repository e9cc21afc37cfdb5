/**
 * The fence agent API: HTTP over TCP, every request signed (protocol.ts). Checks, in order:
 * rate limit per source address → known route → body size → auth headers present → known key
 * id → timestamp within the skew window → HMAC signature → nonce never seen → JSON body →
 * configured target → action. Every attempt, accepted or refused, is reported to `onAttempt`
 * (logged and counted by the service). A fence request is answered only once the operation
 * finished (verified or failed): the agent waits on the open request.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type FenceAction, fenceActions } from '../decisions/core.js';
import { type Fencer, UnknownTargetError } from '../operations/fencer.js';
import { NonceStore, NonceStoreError } from './nonce-store.js';
import { canonical, HEADERS, NONCE_RE, signatureMatches } from './protocol.js';

export const MAX_BODY_BYTES = 4096;

export type RefusalReason =
  | 'rate-limited'
  | 'not-found'
  | 'body-too-large'
  | 'missing-auth'
  | 'unknown-key'
  | 'stale-timestamp'
  | 'bad-signature'
  | 'replay'
  | 'bad-request'
  | 'unknown-target'
  | 'busy'
  | 'replay-guard'
  | 'not-ready';

export interface Attempt {
  addr: string;
  method: string;
  path: string;
  outcome: 'accepted' | 'refused';
  reason?: RefusalReason;
  keyId?: string;
  target?: string;
  action?: string;
  /** HTTP status sent; undefined for a fence accepted and still running (answered after verification). */
  status: number | undefined;
}

export interface FenceApiOptions {
  host: string;
  port: number;
  /** key id → key bytes */
  keys: ReadonlyMap<string, Buffer>;
  clockSkewMs: number;
  ratePerMin: number;
  rateBurst: number;
  /** Where the replay guard keeps the used nonces (fence-nonces.jsonl), durable across restarts. */
  stateDir: string;
  fencer: Fencer;
  /**
   * Whether the daemon admits new operations: undefined when it does, else the sentence the
   * request is refused with (503 not-ready) before anything is read or acted on.
   */
  admission?: () => string | undefined;
  /**
   * On stop, how long running requests may take to reach their verified result and answer their
   * caller (default 10 s). New requests are refused (503 not-ready) meanwhile. A request still
   * running at the bound is answered 503 with its outcome NOT verified, never left to a reset.
   */
  drainMs?: number;
  /** Device/box health for GET /v1/health (cheap, from memory). */
  health(): Record<string, unknown>;
  onAttempt(a: Attempt): void;
  now?: () => number;
}

const STATUS: Record<RefusalReason, number> = {
  'rate-limited': 429,
  'not-found': 404,
  'body-too-large': 413,
  'missing-auth': 401,
  'unknown-key': 401,
  'stale-timestamp': 401,
  'bad-signature': 401,
  replay: 401,
  'bad-request': 400,
  'unknown-target': 404,
  busy: 503,
  'replay-guard': 503,
  'not-ready': 503,
};

const MAX_NONCES = 100_000;
const MAX_BUCKETS = 10_000;

class Refused extends Error {
  constructor(
    readonly reason: RefusalReason,
    message: string,
  ) {
    super(message);
  }
}

export class FenceApi {
  private server: Server | undefined;
  private nonces: NonceStore | undefined;
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly now: () => number;
  /** Requests being handled: on stop they answer before their connection is closed. */
  private readonly inflight = new Map<ServerResponse, { done: Promise<void>; attempt: Attempt }>();
  private closing = false;

  constructor(private readonly o: FenceApiOptions) {
    this.now = o.now ?? Date.now;
  }

  async start(): Promise<number> {
    // the replay guard is on disk before the first request can be accepted
    this.nonces = NonceStore.open(this.o.stateDir, this.o.clockSkewMs, this.now());
    const server = createServer((req, res) => {
      const attempt: Attempt = {
        addr: '?',
        method: req.method ?? '?',
        path: req.url ?? '/',
        outcome: 'refused',
        status: undefined,
      };
      const done = this.handle(req, res, attempt).finally(() => this.inflight.delete(res));
      this.inflight.set(res, { done, attempt });
    });
    server.requestTimeout = 0; // fence requests are long: they wait for verification
    server.headersTimeout = 10_000;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.o.port, this.o.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      this.nonces.close();
      throw e;
    }
    this.server = server;
    return (server.address() as AddressInfo).port;
  }

  /**
   * Stops in this order: refuse new requests (503, still listening so callers get a sentence, not
   * a refused connection); let every running request reach its verified result and answer, up to
   * `drainMs`; answer any request still running with 503 "outcome not verified"; then close.
   */
  async stop(): Promise<void> {
    const s = this.server;
    if (s && !this.closing) {
      this.closing = true;
      s.closeIdleConnections();
      const drainMs = this.o.drainMs ?? 10_000;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        (async () => {
          while (this.inflight.size > 0) await Promise.all([...this.inflight.values()].map((f) => f.done));
        })(),
        new Promise<void>((r) => {
          timer = setTimeout(r, drainMs);
        }),
      ]);
      clearTimeout(timer);
      for (const [res, f] of this.inflight) {
        f.attempt.outcome = 'refused';
        f.attempt.reason = 'not-ready';
        const what = f.attempt.target ? `the ${f.attempt.action} of ${f.attempt.target}` : 'this request';
        this.send(
          res,
          503,
          {
            ok: false,
            error: 'not-ready',
            message: `the daemon is stopping and ${what} did not finish within ${drainMs / 1000} s; its outcome is NOT verified (see fence history after the restart)`,
          },
          f.attempt,
        );
      }
    }
    this.server = undefined;
    if (s) {
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
    }
    this.nonces?.close();
  }

  private async handle(req: IncomingMessage, res: ServerResponse, attempt: Attempt): Promise<void> {
    const addr = (req.socket.remoteAddress ?? '?').replace(/^::ffff:/, '');
    const method = attempt.method;
    const path = attempt.path;
    attempt.addr = addr;
    try {
      if (!this.take(addr)) throw new Refused('rate-limited', `too many requests from ${addr}`);
      const route = `${method} ${path}`;
      if (!['POST /v1/fence', 'GET /v1/targets', 'GET /v1/health'].includes(route)) {
        throw new Refused('not-found', `no route ${route}`);
      }
      const closed = this.closing
        ? 'the fence API is stopping: no new operation is accepted; retry against the restarted daemon'
        : this.o.admission?.();
      if (closed) throw new Refused('not-ready', closed);
      const body = await readBody(req);
      const keyId = header(req, HEADERS.keyId);
      const ts = header(req, HEADERS.timestamp);
      const nonce = header(req, HEADERS.nonce);
      const sig = header(req, HEADERS.signature);
      if (!keyId || !ts || !nonce || !sig)
        throw new Refused('missing-auth', 'unsigned request (x-rw-* headers missing)');
      attempt.keyId = keyId;
      const key = this.o.keys.get(keyId);
      if (!key) throw new Refused('unknown-key', `unknown key id "${keyId.slice(0, 32)}"`);
      const tsn = /^\d{1,16}$/.test(ts) ? Number(ts) : Number.NaN;
      const now = this.now();
      if (!Number.isFinite(tsn) || Math.abs(now - tsn) > this.o.clockSkewMs) {
        throw new Refused(
          'stale-timestamp',
          `timestamp ${ts.slice(0, 20)} is outside ±${this.o.clockSkewMs / 1000} s of the box clock`,
        );
      }
      if (!NONCE_RE.test(nonce)) throw new Refused('bad-request', 'nonce must be 32–64 lower-case hex digits');
      if (!signatureMatches(key, canonical(method, path, body, ts, nonce, keyId), sig)) {
        throw new Refused('bad-signature', 'signature does not match (wrong key, or the request was altered)');
      }
      this.useNonce(nonce, tsn, now);
      if (method === 'GET' && path === '/v1/targets') {
        attempt.outcome = 'accepted';
        this.send(res, 200, { ok: true, targets: this.o.fencer.targets() }, attempt);
        return;
      }
      if (method === 'GET' && path === '/v1/health') {
        attempt.outcome = 'accepted';
        this.send(res, 200, { ok: true, ...this.o.health() }, attempt);
        return;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        throw new Refused('bad-request', 'body is not JSON');
      }
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
        throw new Refused('bad-request', 'body must be a JSON object {"target": "...", "action": "..."}');
      }
      const p = parsed as { target?: unknown; action?: unknown };
      if (typeof p.target !== 'string' || typeof p.action !== 'string') {
        throw new Refused('bad-request', 'body must be {"target": "...", "action": "..."}');
      }
      attempt.target = p.target.slice(0, 64);
      attempt.action = p.action.slice(0, 16);
      if (!(fenceActions as readonly string[]).includes(p.action)) {
        throw new Refused('bad-request', `action must be one of ${fenceActions.join(', ')}`);
      }
      if (!this.o.fencer.targets().includes(p.target))
        throw new Refused('unknown-target', `"${attempt.target}" is not a configured fencing target`);
      attempt.outcome = 'accepted';
      // accepted and about to run: no HTTP status exists yet (the answer follows the verified result)
      this.o.onAttempt({ ...attempt, status: undefined });
      let result: unknown;
      try {
        result = await this.o.fencer.run({
          target: p.target,
          action: p.action as FenceAction,
          requester: { via: 'api', who: keyId, addr, ...(this.node(addr) ? { node: this.node(addr) } : {}) },
        });
      } catch (e) {
        if (e instanceof UnknownTargetError) throw new Refused('unknown-target', e.message);
        throw e;
      }
      this.send(res, 200, { ok: true, ...(result as object) }, undefined);
    } catch (e) {
      if (e instanceof Refused) {
        attempt.outcome = 'refused';
        attempt.reason = e.reason;
        this.send(res, STATUS[e.reason], { ok: false, error: e.reason, message: e.message }, attempt);
      } else {
        attempt.outcome = 'refused';
        attempt.reason = 'bad-request';
        this.send(res, 500, { ok: false, error: 'internal', message: (e as Error).message }, attempt);
      }
    }
  }

  private node(addr: string): string | undefined {
    return this.o.fencer.nodeOfAddress(addr);
  }

  private send(res: ServerResponse, status: number, body: unknown, attempt: Attempt | undefined): void {
    if (attempt) this.o.onAttempt({ ...attempt, status });
    if (res.writableEnded || res.destroyed) return;
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      connection: 'close',
    });
    res.end(text);
  }

  /** Token bucket per source address; refused requests spend tokens too. */
  private take(addr: string): boolean {
    const now = this.now();
    const rate = this.o.ratePerMin / 60_000;
    let b = this.buckets.get(addr);
    if (!b) {
      if (this.buckets.size >= MAX_BUCKETS) {
        for (const [k, v] of this.buckets)
          if (v.tokens + (now - v.at) * rate >= this.o.rateBurst) this.buckets.delete(k);
      }
      b = { tokens: this.o.rateBurst, at: now };
      this.buckets.set(addr, b);
    }
    b.tokens = Math.min(this.o.rateBurst, b.tokens + (now - b.at) * rate);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /**
   * The replay guard: a nonce is refused when it was ever used within its window (also before a
   * restart), and is written to disk with fsync before the request may act. Only requests whose
   * signature was verified get here, so forged requests cannot fill the store.
   */
  private useNonce(nonce: string, ts: number, now: number): void {
    const store = this.nonces;
    if (!store) throw new Refused('replay-guard', 'the API is not started');
    if (store.seen(nonce)) throw new Refused('replay', 'nonce already used (replayed request)');
    try {
      if (store.size() >= MAX_NONCES) store.compact(now);
      if (store.size() >= MAX_NONCES) throw new Refused('busy', 'nonce cache full; retry later');
      store.use(nonce, ts, now);
    } catch (e) {
      if (e instanceof NonceStoreError)
        throw new Refused('replay-guard', `${e.message}; refusing rather than risk a replay`);
      throw e;
    }
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' && v.length > 0 && v.length <= 256 ? v : undefined;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Refused('bad-request', 'body not received within 10 s'));
    }, 10_000);
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        clearTimeout(timer);
        req.removeAllListeners('data');
        req.resume();
        reject(new Refused('body-too-large', `body larger than ${MAX_BODY_BYTES} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}
