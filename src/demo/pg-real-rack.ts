/**
 * A throw-away two-instance PostgreSQL rack on loopback (primary + streaming standby with a
 * physical slot each way, PAF layout: permanent primary_conninfo with application_name = node
 * name, role decided by standby.signal). Used by the demo; built with the Debian server binaries,
 * as the `postgres` OS user when we run as root (PostgreSQL refuses to run as root).
 */
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export const DEFAULT_PG_BIN = '/usr/lib/postgresql/15/bin';
/** The read-only monitoring role the rack creates for the observer. */
export const MONITOR_ROLE = 'rackwitness';

export interface RealRackOptions {
  pgBin?: string;
  /** Node names; default node-a (primary) and node-b (standby). */
  names?: [string, string];
  /** Fixed ports; default: two free loopback ports. */
  ports?: [number, number];
  /** Parent of the rack directory; default the OS temp dir. */
  parentDir?: string;
  /** Make the standby synchronous (synchronous_standby_names on both nodes). */
  synchronous?: boolean;
}

export interface RealRackNode {
  name: string;
  port: number;
  dataDir: string;
  logFile: string;
}

export interface RealRack {
  dir: string;
  host: string;
  nodes: [RealRackNode, RealRackNode];
  /** Runs a PostgreSQL binary (pg_ctl, psql...) as the server's OS user. */
  run(bin: string, args: string[], timeoutMs?: number): Promise<string>;
  /** One SQL statement as the superuser on a node. */
  sql(node: string, text: string): Promise<pg.QueryResult>;
  node(name: string): RealRackNode;
  /** Postmaster pid of a node, from postmaster.pid (undefined when absent). */
  postmasterPid(name: string): number | undefined;
  /** Fast-stops both instances (immediate when `immediate`) and removes the directory. */
  stop(immediate?: boolean): Promise<void>;
}

export function pgBinariesPresent(pgBin = DEFAULT_PG_BIN): boolean {
  return ['initdb', 'pg_ctl', 'pg_basebackup', 'postgres'].every((b) => existsSync(join(pgBin, b)));
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function runAsPg(pgBin: string, bin: string, args: string[], timeoutMs = 60_000): Promise<string> {
  const file = join(pgBin, bin);
  const [cmd, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      argv as string[],
      { cwd: '/', timeout: timeoutMs, env: { ...process.env, LC_ALL: 'C' } },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${bin} ${args.join(' ')} failed: ${(stderr || err.message).trim()}`));
        else resolve(stdout);
      },
    );
  });
}

async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no free port'))));
    });
  });
}

function pgOwner(): { uid: number; gid: number } | undefined {
  if (!isRoot()) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const f = line?.split(':');
  if (!f || f.length < 4) throw new Error('running as root but there is no "postgres" OS user to run PostgreSQL as');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

const COMMON_CONF = (sockDir: string, names: string[], synchronous: boolean) => `
# ---- rackwitness throw-away rack ----
listen_addresses = '127.0.0.1'
unix_socket_directories = '${sockDir}'
wal_level = replica
max_wal_senders = 5
max_replication_slots = 5
wal_keep_size = 64MB
max_slot_wal_keep_size = 256MB
hot_standby = on
hot_standby_feedback = on
wal_log_hints = on
wal_receiver_status_interval = 1s
wal_sender_timeout = 10s
wal_receiver_timeout = 10s
wal_retrieve_retry_interval = 500ms
recovery_target_timeline = 'latest'
shared_buffers = 16MB
max_connections = 30
fsync = off
full_page_writes = on
log_line_prefix = '%m [%p] %q%a '
${synchronous ? `synchronous_standby_names = 'FIRST 1 (${names.map((n) => `"${n}"`).join(', ')})'` : ''}
include_if_exists = 'node.conf'
`;

function nodeConf(me: RealRackNode, peer: RealRackNode): string {
  return [
    `port = ${me.port}`,
    `cluster_name = '${me.name}'`,
    `primary_conninfo = 'host=127.0.0.1 port=${peer.port} user=postgres application_name=${me.name} connect_timeout=2'`,
    `primary_slot_name = '${slotName(me.name)}'`,
    '',
  ].join('\n');
}

/** Physical slot name for a node (slot names allow [a-z0-9_] only). */
export function slotName(node: string): string {
  return node.replace(/[^a-z0-9_]/g, '_');
}

/** Builds and starts the rack; on any failure everything started is stopped and removed. */
export async function startRealRack(opts: RealRackOptions = {}): Promise<RealRack> {
  const pgBin = opts.pgBin ?? DEFAULT_PG_BIN;
  if (!pgBinariesPresent(pgBin)) throw new Error(`PostgreSQL server binaries not found in ${pgBin}`);
  const [nameA, nameB] = opts.names ?? ['node-a', 'node-b'];
  const [portA, portB] = opts.ports ?? [await freeLoopbackPort(), await freeLoopbackPort()];
  const owner = pgOwner();
  const dir = mkdtempSync(join(opts.parentDir ?? tmpdir(), 'rw-pgrack-'));
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const a: RealRackNode = { name: nameA, port: portA, dataDir: join(dir, nameA), logFile: join(dir, `${nameA}.log`) };
  const b: RealRackNode = { name: nameB, port: portB, dataDir: join(dir, nameB), logFile: join(dir, `${nameB}.log`) };
  const nodes: [RealRackNode, RealRackNode] = [a, b];
  const run = (bin: string, args: string[], t?: number) => runAsPg(pgBin, bin, args, t);
  const write = (file: string, text: string, append = false) => {
    writeFileSync(file, text, { flag: append ? 'a' : 'w', mode: 0o600 });
    if (owner) chownSync(file, owner.uid, owner.gid);
  };
  const byName = (n: string) => {
    const x = nodes.find((m) => m.name === n);
    if (!x) throw new Error(`no rack node named ${n}`);
    return x;
  };
  const sql = async (n: string, text: string) => superuserQuery(byName(n).port, text);
  const postmasterPid = (n: string) => {
    const x = nodes.find((m) => m.name === n);
    return x ? postmasterPidOf(x.dataDir) : undefined;
  };
  const stop = (immediate = false) => stopRack(dir, nodes, run, immediate);
  const rack: RealRack = { dir, host: '127.0.0.1', nodes, run, sql, node: byName, postmasterPid, stop };
  try {
    await buildPair({ run, sql, write, dir, a, b, synchronous: opts.synchronous ?? false });
    return rack;
  } catch (e) {
    await stop(true);
    throw e;
  }
}

/** One SQL statement as the superuser on the instance at 127.0.0.1:port. */
async function superuserQuery(port: number, text: string): Promise<pg.QueryResult> {
  const c = new pg.Client({
    host: '127.0.0.1',
    port,
    user: 'postgres',
    database: 'postgres',
    connectionTimeoutMillis: 5000,
  });
  c.on('error', () => {});
  await c.connect();
  try {
    return await c.query(text);
  } finally {
    await c.end().catch(() => {});
  }
}

/** Postmaster pid of an instance, from postmaster.pid (undefined when absent). */
function postmasterPidOf(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops both instances (fast, or immediate), waits for (or kills) their postmasters, removes the directory. */
async function stopRack(
  dir: string,
  nodes: readonly RealRackNode[],
  run: RealRack['run'],
  immediate: boolean,
): Promise<void> {
  const pids = nodes.map((n) => postmasterPidOf(n.dataDir)).filter((p): p is number => p !== undefined);
  await Promise.all(
    nodes.map(async (n) => {
      if (!existsSync(join(n.dataDir, 'postmaster.pid'))) return;
      await run(
        'pg_ctl',
        ['-D', n.dataDir, '-m', immediate ? 'immediate' : 'fast', '-w', '-t', '20', 'stop'],
        30_000,
      ).catch(() => {});
    }),
  );
  // pg_ctl returns when postmaster.pid is gone; the process itself may take a moment longer
  const end = performance.now() + 5000;
  while (pids.some(alive) && performance.now() < end) await new Promise((r) => setTimeout(r, 20));
  for (const pid of pids.filter(alive)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

interface PairSetup {
  run: RealRack['run'];
  sql: RealRack['sql'];
  write: (file: string, text: string, append?: boolean) => void;
  dir: string;
  a: RealRackNode;
  b: RealRackNode;
  synchronous: boolean;
}

/** initdb A, start it, base-backup B from it as a streaming standby on A's slot, wait until it streams. */
async function buildPair({ run, sql, write, dir, a, b, synchronous }: PairSetup): Promise<void> {
  const nameA = a.name;
  const nameB = b.name;
  await run('initdb', [
    '-D',
    a.dataDir,
    '-U',
    'postgres',
    '--auth=trust',
    '--no-instructions',
    '-E',
    'UTF8',
    '--locale=C',
    '-N',
  ]);
  write(join(a.dataDir, 'postgresql.conf'), COMMON_CONF(dir, [nameA, nameB], synchronous), true);
  write(join(a.dataDir, 'node.conf'), nodeConf(a, b));
  await run('pg_ctl', ['-D', a.dataDir, '-l', a.logFile, '-w', '-t', '30', 'start']);
  await sql(
    nameA,
    `CREATE ROLE ${MONITOR_ROLE} LOGIN IN ROLE pg_monitor; SELECT pg_create_physical_replication_slot('${slotName(nameB)}')`,
  );
  await run('pg_basebackup', [
    '-h',
    '127.0.0.1',
    '-p',
    String(a.port),
    '-U',
    'postgres',
    '-D',
    b.dataDir,
    '-X',
    'stream',
    '-S',
    slotName(nameB),
    '-c',
    'fast',
  ]);
  write(join(b.dataDir, 'postgresql.auto.conf'), '');
  write(join(b.dataDir, 'standby.signal'), '');
  write(join(b.dataDir, 'node.conf'), nodeConf(b, a));
  await run('pg_ctl', ['-D', b.dataDir, '-l', b.logFile, '-w', '-t', '30', 'start']);
  // slot for node A on B so that A can follow B after a switchover (reserved once used)
  await sql(nameB, `SELECT pg_create_physical_replication_slot('${slotName(nameA)}')`);
  const deadline = performance.now() + 20_000;
  for (;;) {
    const r = await sql(
      nameA,
      `SELECT count(*)::int AS n FROM pg_stat_replication WHERE application_name = '${nameB}' AND state = 'streaming'`,
    );
    if (r.rows[0]?.n === 1) break;
    if (performance.now() > deadline) throw new Error(`${nameB} did not start streaming from ${nameA} within 20 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
