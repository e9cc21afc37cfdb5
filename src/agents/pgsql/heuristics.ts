#!/usr/bin/env node
/**
 * rackwitness-qdevice-heuristics: the node-side heuristics command of corosync-qdevice
 * (corosync.conf `quorum.device.heuristics.exec_pgsql`). It reads the local PostgreSQL once (one
 * psql call as the PostgreSQL OS user, killed at its bound), checks the standby's upstream with a
 * TCP connect when the standby does not stream, and exits 0 (pass) or 1 (fail) by the pure
 * heuristics table (src/pgsql/core/heuristics.ts), printing the one-sentence verdict on stdout.
 *
 * qdevice runs it directly (no shell) as root; everything it does is bounded by --timeout-ms
 * (default 9000), below qdevice's heuristics timeout: a hang is a failed verdict, never a wait.
 * Runs on Node 18 (Debian 12). It imports node built-ins and the pure table only: on a loaded node
 * every module loaded counts against qdevice's timeout.
 *
 *   rackwitness-qdevice-heuristics [--pghost DIR|HOST] [--pgport N] [--bindir DIR]
 *                                  [--user OSUSER] [--timeout-ms N]
 */
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import {
  conninfoHostPort,
  type HeuristicsSnapshot,
  heuristicsVerdict,
  type UpstreamProbe,
} from '../../pgsql/core/heuristics.js';

export interface HeuristicsOptions {
  pghost: string;
  pgport: number;
  bindir: string;
  user: string;
  timeoutMs: number;
}

const DEFAULTS: HeuristicsOptions = {
  pghost: '/var/run/postgresql',
  pgport: 5432,
  bindir: '/usr/lib/postgresql/15/bin',
  user: 'postgres',
  timeoutMs: 9000,
};

/** Parses argv; throws an Error naming the bad option. */
export function parseArgs(argv: readonly string[]): HeuristicsOptions {
  const o = { ...DEFAULTS };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    const value = argv[i + 1];
    const need = () => {
      if (value === undefined || value.startsWith('--')) throw new Error(`${flag} needs a value`);
      i++;
      return value;
    };
    const int = (min: number, max: number) => {
      const v = need();
      const n = Number(v);
      if (!/^\d+$/.test(v) || n < min || n > max)
        throw new Error(`${flag} must be an integer from ${min} to ${max}, not "${v}"`);
      return n;
    };
    switch (flag) {
      case '--pghost':
        o.pghost = need();
        break;
      case '--pgport':
        o.pgport = int(1, 65535);
        break;
      case '--bindir':
        o.bindir = need();
        break;
      case '--user':
        o.user = need();
        break;
      case '--timeout-ms':
        o.timeoutMs = int(200, 60_000);
        break;
      default:
        throw new Error(`unknown option "${flag}" (options: --pghost, --pgport, --bindir, --user, --timeout-ms)`);
    }
  }
  return o;
}

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  missing: boolean;
}

/** One bounded child process, as the PostgreSQL OS user when we are root (runuser, no login session). */
function runAs(user: string, cmd: string, args: string[], timeoutMs: number): Promise<Ran> {
  const asRoot = process.getuid?.() === 0;
  const [file, argv] = asRoot && user !== 'root' ? ['runuser', ['-u', user, '--', cmd, ...args]] : [cmd, args];
  return new Promise((resolve) => {
    const child = execFile(
      file,
      argv,
      {
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
        cwd: '/',
        env: { ...process.env, LC_ALL: 'C', PGCONNECT_TIMEOUT: '2' },
      },
      (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { code?: unknown }) | null;
        const missing = e?.code === 'ENOENT' || e?.code === 'EACCES';
        const code = !e ? 0 : typeof e.code === 'number' ? e.code : missing ? 127 : 124;
        resolve({ code, stdout: String(stdout ?? ''), stderr: String(stderr ?? ''), missing });
      },
    );
    child.stdin?.end();
  });
}

const SEP = '\x1f';
const SQL = [
  'SELECT pg_is_in_recovery()',
  "current_setting('default_transaction_read_only')",
  '(SELECT status FROM pg_stat_wal_receiver)',
  '(SELECT sender_host FROM pg_stat_wal_receiver)',
  '(SELECT sender_port FROM pg_stat_wal_receiver)',
  "current_setting('primary_conninfo')",
  'COALESCE(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())',
].join(', ');

/** A TCP connect to host:port, bounded: refused, accepts, or unreachable. */
export function probeTcp(host: string, port: number, timeoutMs: number): Promise<UpstreamProbe> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (r: UpstreamProbe) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done('unreachable'), Math.max(1, timeoutMs));
    sock.once('connect', () => done('accepts'));
    sock.once('error', (e: NodeJS.ErrnoException) => done(e.code === 'ECONNREFUSED' ? 'refused' : 'unreachable'));
  });
}

/** Reads the local PostgreSQL (and the upstream when needed) into the table's snapshot. */
export async function readSnapshot(o: HeuristicsOptions): Promise<HeuristicsSnapshot> {
  const start = performance.now();
  const left = () => Math.max(1, o.timeoutMs - (performance.now() - start));
  // psql within 2/3 of the budget; coreutils' timeout kills psql itself (libpq's connect_timeout
  // cannot go below 2 s and a hung server holds an accepted connection forever)
  const psqlMs = Math.max(100, Math.floor((o.timeoutMs * 2) / 3));
  const r = await runAs(
    o.user,
    'timeout',
    [
      '-s',
      'KILL',
      (psqlMs / 1000).toFixed(3),
      join(o.bindir, 'psql'),
      '-X',
      '-A',
      '-t',
      '-q',
      '-F',
      SEP,
      '-v',
      'ON_ERROR_STOP=1',
      '-h',
      o.pghost,
      '-p',
      String(o.pgport),
      '-d',
      'postgres',
      '-c',
      SQL,
    ],
    psqlMs + 500,
  );
  if (r.code !== 0) {
    const why =
      r.code === 124 || r.code === 137
        ? `no answer within ${psqlMs} ms`
        : r.missing
          ? `cannot run ${join(o.bindir, 'psql')}`
          : firstLine(r.stderr) || `psql exited ${r.code}`;
    return { answered: false, error: why };
  }
  const f = (r.stdout.split('\n').find((l) => l.includes(SEP)) ?? '').split(SEP);
  if (f.length < 7) return { answered: false, error: `unexpected psql output "${r.stdout.trim().slice(0, 80)}"` };
  const [rec, ro, status, senderHost, senderPort, conninfo, lsn] = f as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const inRecovery = rec === 't';
  const snap: {
    -readonly [K in keyof HeuristicsSnapshot]: HeuristicsSnapshot[K];
  } = {
    answered: true,
    inRecovery,
    readOnly: ro === 'on',
    receiverStatus: status === '' ? null : status,
    position: lsn === '' ? null : lsn,
  };
  if (!inRecovery) return snap;
  const fromConninfo = conninfoHostPort(conninfo);
  const host = senderHost !== '' ? senderHost : fromConninfo.host;
  const port = senderPort !== '' ? Number(senderPort) : (fromConninfo.port ?? 5432);
  if (host === undefined || host.startsWith('/')) {
    snap.upstreamProbe = 'none';
    return snap;
  }
  snap.upstream = `${host}:${port}`;
  if (snap.receiverStatus !== 'streaming') snap.upstreamProbe = await probeTcp(host, port, left());
  return snap;
}

/** psql's own error line ("psql: error: connection to server ... failed: ..."), without its prefix. */
function firstLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  const line = lines.find((l) => l.startsWith('psql:')) ?? lines[0] ?? '';
  return line.replace(/^psql: (error: )?/, '');
}

export async function main(argv: readonly string[]): Promise<number> {
  let o: HeuristicsOptions;
  try {
    o = parseArgs(argv);
  } catch (e) {
    process.stdout.write(`fail: ${(e as Error).message}\n`);
    return 2;
  }
  // the whole command is bounded, whatever hangs: a late verdict is a failed one
  const deadline = new Promise<number>((resolve) => {
    const t = setTimeout(() => {
      process.stdout.write(`fail: no verdict within ${o.timeoutMs} ms\n`);
      resolve(1);
    }, o.timeoutMs);
    t.unref();
  });
  const verdict = (async () => {
    const d = heuristicsVerdict(await readSnapshot(o));
    process.stdout.write(`${d.reason} [${d.row}]\n`);
    return d.outcome === 'pass' ? 0 : 1;
  })();
  return Promise.race([verdict, deadline]);
}

main(process.argv.slice(2)).then(
  (rc) => process.exit(rc),
  (e: unknown) => {
    process.stdout.write(`fail: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
