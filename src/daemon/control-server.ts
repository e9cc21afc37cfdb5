/**
 * Server side of the local control API (see control-protocol.ts). The socket is created with
 * mode 0660 (and the configured group); a stale socket left by a crashed daemon is replaced, a
 * live one (another daemon answering) is an error naming the path.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { type ControlRequest, type ControlResponse, MAX_REQUEST_BYTES } from './control-protocol.js';

/** A registered handler as the server calls it: the request's params object in, a JSON-able result out. */
export type AnyControlHandler = (params: object) => Promise<unknown>;

export class ControlServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly path: string,
    private readonly group: string | undefined,
    private readonly handlers: ReadonlyMap<string, AnyControlHandler>,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o755 });
    if (existsSync(this.path)) {
      if (await isLive(this.path))
        throw new Error(`control socket ${this.path} is in use: another rackwitness daemon is running`);
      unlinkSync(this.path);
    }
    const server = createServer((sock) => this.serve(sock));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) =>
        reject(
          new Error(`cannot listen on control socket ${this.path}: ${(e as NodeJS.ErrnoException).code ?? e.message}`),
        ),
      );
      server.listen(this.path, () => resolve());
    });
    chmodSync(this.path, 0o660);
    if (this.group) chownSync(this.path, process.getuid?.() ?? 0, groupId(this.group));
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }

  private serve(sock: Socket): void {
    this.sockets.add(sock);
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('error', () => sock.destroy());
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      if (buf.length > MAX_REQUEST_BYTES) {
        this.reply(sock, {
          id: 0,
          ok: false,
          error: `request longer than ${MAX_REQUEST_BYTES} bytes`,
          code: 'bad-request',
        });
        sock.end();
        return;
      }
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        void this.dispatch(sock, line);
      }
    });
  }

  private async dispatch(sock: Socket, line: string): Promise<void> {
    let req: ControlRequest | undefined;
    try {
      req = asRequest(JSON.parse(line));
    } catch {
      // not JSON: answered below
    }
    if (!req) {
      this.reply(sock, {
        id: 0,
        ok: false,
        error: 'malformed request: expected {"id": n, "method": "...", "params": {...}}',
        code: 'bad-request',
      });
      return;
    }
    const handler = this.handlers.get(req.method);
    if (!handler) {
      this.reply(sock, { id: req.id, ok: false, error: `unknown method ${req.method}`, code: 'unknown-method' });
      return;
    }
    try {
      const result = await handler(req.params ?? {});
      this.reply(sock, { id: req.id, ok: true, result: result ?? null });
    } catch (e) {
      this.log.debug({ method: req.method, err: String(e) }, 'control method failed');
      this.reply(sock, {
        id: req.id,
        ok: false,
        error: e instanceof Error ? e.message : String(e),
        code: e instanceof Error && 'code' in e && typeof e.code === 'string' ? e.code : undefined,
      });
    }
  }

  private reply(sock: Socket, res: ControlResponse): void {
    if (!sock.destroyed) sock.write(`${JSON.stringify(res)}\n`);
  }
}

/** The request's shape, or undefined: id a number, method a string, params an object when present. */
function asRequest(v: unknown): ControlRequest | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const r: { id?: unknown; method?: unknown; params?: unknown } = v;
  if (typeof r.id !== 'number' || typeof r.method !== 'string') return undefined;
  if (r.params === undefined || r.params === null) return { id: r.id, method: r.method };
  if (typeof r.params !== 'object' || Array.isArray(r.params)) return undefined;
  return { id: r.id, method: r.method, params: r.params };
}

function isLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.on('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

function groupId(group: string): number {
  if (/^\d+$/.test(group)) return Number(group);
  try {
    const line = execFileSync('getent', ['group', group], { encoding: 'utf8' });
    return Number(line.split(':')[2]);
  } catch {
    throw new Error(`control.group: no such group ${group}`);
  }
}
