/**
 * The PostgreSQL rack source: one long-lived `pg` connection per node (bounded connect, a
 * server-side statement_timeout and a client-side read timeout), one observation query per poll,
 * reconnect on the next poll after any error. probe() never rejects: failures come back as probes
 * carrying the error code (SQLSTATE or errno) for classification.
 */
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { VERSION } from '../../version.js';
import { OBSERVATION_SQL, parseObservationRow } from './query.js';
import type { NodeProbe, ProbeError, RackSource } from './types.js';

export interface PgNodeTarget {
  name: string;
  host: string;
  port: number;
  dbname: string;
  user: string;
  password_file?: string | undefined;
}

export interface PgSourceOptions {
  connectTimeoutMs: number;
  statementTimeoutMs: number;
}

interface Conn {
  client: pg.Client;
  broken: boolean;
}

function toProbeError(e: unknown): ProbeError {
  const err = e as { code?: unknown; message?: unknown };
  const message = typeof err?.message === 'string' && err.message ? err.message : String(e);
  return typeof err?.code === 'string' ? { code: err.code, message } : { message };
}

async function readPassword(file: string | undefined): Promise<string | undefined> {
  if (!file) return undefined;
  // first line only, without its newline (like a .pgpass-style single-secret file)
  return (await readFile(file, 'utf8')).split('\n')[0];
}

export class PgRackSource implements RackSource {
  readonly kind = 'postgresql' as const;
  private readonly conns = new Map<string, Conn>();
  private closed = false;

  constructor(
    private readonly targets: readonly PgNodeTarget[],
    private readonly opts: PgSourceOptions,
  ) {}

  private target(name: string): PgNodeTarget {
    const t = this.targets.find((x) => x.name === name);
    if (!t) throw new Error(`no PostgreSQL node named ${name} in pgsql.nodes`);
    return t;
  }

  private drop(name: string): void {
    const c = this.conns.get(name);
    if (!c) return;
    this.conns.delete(name);
    c.broken = true;
    // end() waits for the server's goodbye; a dead peer would keep it pending: destroy the socket too
    void c.client.end().catch(() => {});
    const stream = (c.client as unknown as { connection?: { stream?: { destroy?: () => void } } }).connection?.stream;
    stream?.destroy?.();
  }

  private async connect(name: string): Promise<Conn> {
    const existing = this.conns.get(name);
    if (existing && !existing.broken) return existing;
    if (existing) this.drop(name);
    const t = this.target(name);
    const client = new pg.Client({
      host: t.host,
      port: t.port,
      database: t.dbname,
      user: t.user,
      password: await readPassword(t.password_file),
      application_name: `rackwitness-${VERSION}`,
      connectionTimeoutMillis: this.opts.connectTimeoutMs,
      statement_timeout: this.opts.statementTimeoutMs,
      query_timeout: this.opts.statementTimeoutMs + 500,
      keepAlive: true,
      keepAliveInitialDelayMillis: 5000,
      // the observer never writes, even if the monitoring role could
      options: '-c default_transaction_read_only=on',
    });
    const conn: Conn = { client, broken: false };
    // a connection lost between polls: mark it, the next poll reconnects
    client.on('error', () => {
      conn.broken = true;
    });
    client.on('end', () => {
      conn.broken = true;
    });
    this.conns.set(name, conn);
    try {
      await client.connect();
    } catch (e) {
      this.drop(name);
      throw e;
    }
    return conn;
  }

  async probe(name: string): Promise<NodeProbe> {
    const t0 = performance.now();
    const at = Date.now();
    if (this.closed) return { ok: false, at, durationMs: 0, error: { message: 'observer stopped' } };
    try {
      const conn = await this.connect(name);
      const res = await conn.client.query(OBSERVATION_SQL);
      const rows = parseObservationRow(res.rows[0]);
      return { ok: true, at, durationMs: performance.now() - t0, rows };
    } catch (e) {
      this.drop(name);
      return { ok: false, at, durationMs: performance.now() - t0, error: toProbeError(e) };
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const name of [...this.conns.keys()]) this.drop(name);
  }
}
