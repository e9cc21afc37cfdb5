/**
 * The agent's I/O edges: running PostgreSQL's binaries as the system user with a deadline, and
 * turning their output into the snapshots the pure cores decide on. Every call is bounded by the
 * action's deadline (OCF_RESKEY_CRM_meta_timeout): nothing here waits forever.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ControlData, InstanceSnapshot } from '../../pgsql/core/index.js';
import { parseControldata, readinessFromPgIsready } from '../../pgsql/core/index.js';
import type { AgentParams } from './params.js';

export class Deadline {
  readonly end: number;
  constructor(totalMs: number, marginMs = Math.min(2000, totalMs * 0.1)) {
    this.end = performance.now() + totalMs - marginMs;
  }
  remainingMs(): number {
    return Math.max(0, this.end - performance.now());
  }
  expired(): boolean {
    return performance.now() >= this.end;
  }
  /** A sub-budget: at most ms, never beyond this deadline. */
  cap(ms: number): number {
    return Math.max(1, Math.min(ms, this.remainingMs()));
  }
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** The binary does not exist or is not executable. */
  missing: boolean;
}

export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export function stderrLogger(tag: string): Logger {
  const w = (lvl: string, msg: string) => process.stderr.write(`${tag}: ${lvl}: ${msg}\n`);
  return { info: (m) => w('INFO', m), warn: (m) => w('WARNING', m), error: (m) => w('ERROR', m) };
}

const homes = new Map<string, string | undefined>();

/** Home directory of a user from /etc/passwd (libpq looks for ~/.pgpass there), cached. */
export function homeOf(user: string): string | undefined {
  if (!homes.has(user)) {
    let home: string | undefined;
    try {
      const line = readFileSync('/etc/passwd', 'utf8')
        .split('\n')
        .find((l) => l.startsWith(`${user}:`));
      home = line?.split(':')[5];
    } catch {
      home = undefined;
    }
    homes.set(user, home);
  }
  return homes.get(user);
}

export function run(
  cmd: string,
  args: readonly string[],
  opts: { timeoutMs: number; asUser?: string; env?: NodeJS.ProcessEnv; stdinNull?: boolean },
): Promise<RunResult> {
  const asRoot = process.getuid?.() === 0;
  const home = opts.asUser && asRoot ? homeOf(opts.asUser) : undefined;
  const [file, argv] =
    opts.asUser && asRoot && opts.asUser !== 'root'
      ? ['runuser', ['-u', opts.asUser, '--', cmd, ...args]]
      : [cmd, [...args]];
  return new Promise((resolve) => {
    const child = execFile(
      file,
      argv,
      {
        timeout: Math.max(1, Math.round(opts.timeoutMs)),
        killSignal: 'SIGKILL',
        env: { ...process.env, LC_ALL: 'C', ...(home ? { HOME: home } : {}), ...opts.env },
        cwd: '/',
        maxBuffer: 256 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { killed?: boolean; code?: unknown }) | null;
        const missing = e?.code === 'ENOENT' || e?.code === 'EACCES';
        const timedOut = !!e?.killed;
        const code = !e ? 0 : typeof e.code === 'number' ? e.code : missing ? 127 : 1;
        resolve({
          code,
          stdout: String(stdout ?? ''),
          stderr: String(stderr ?? '') || (timedOut ? `timed out after ${opts.timeoutMs} ms` : ''),
          timedOut,
          missing,
        });
      },
    );
    // a program that reads stdin (postgres --single) sees end of input at once, as with < /dev/null
    if (opts.stdinNull) child.stdin?.end();
  });
}

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface QueryResult {
  ok: boolean;
  rows: string[][];
  /** psql could not connect (rc 2) */
  connectFailed: boolean;
  error: string;
}

/** The PostgreSQL instance this agent manages, seen through its binaries. */
export class PgEdge {
  constructor(
    readonly p: AgentParams,
    readonly deadline: Deadline,
  ) {}

  bin(name: string): string {
    return join(this.p.bindir, name);
  }

  private as(cmd: string, args: readonly string[], capMs = 60_000, env?: NodeJS.ProcessEnv): Promise<RunResult> {
    return run(this.bin(cmd), args, { timeoutMs: this.deadline.cap(capMs), asUser: this.p.systemUser, env });
  }

  async isready(): Promise<number | null> {
    const t = Math.max(1, Math.floor(this.deadline.cap(10_000) / 1000));
    const r = await this.as(
      'pg_isready',
      ['-h', this.p.pghost, '-p', String(this.p.pgport), '-d', 'postgres', '-t', String(t)],
      t * 1000 + 1000,
    );
    return r.missing || r.timedOut ? null : r.code;
  }

  /** One SQL statement through psql; rows split on '|' (the agent only selects simple values). conninfo: another server. */
  async query(sql: string, conninfo?: string, capMs = 15_000, hardMs?: number): Promise<QueryResult> {
    const target = conninfo
      ? [
          `${conninfo} dbname=postgres connect_timeout=${Math.max(1, Math.min(5, Math.floor(this.deadline.cap(capMs) / 2000)))}`,
        ]
      : ['-h', this.p.pghost, '-p', String(this.p.pgport), '-d', 'postgres'];
    const argv = ['-X', '-A', '-t', '-q', '-F', '|', '-v', 'ON_ERROR_STOP=1', ...target, '-c', sql];
    // hardMs: libpq's connect_timeout cannot go below 2 s, so coreutils' timeout kills psql itself
    // (killing only runuser would leave psql holding our pipes until its own timeout)
    const r =
      hardMs === undefined
        ? await this.as('psql', argv, capMs, { PGCONNECT_TIMEOUT: '5' })
        : await run('timeout', ['-s', 'KILL', (hardMs / 1000).toFixed(3), this.bin('psql'), ...argv], {
            timeoutMs: this.deadline.cap(hardMs + 1000),
            asUser: this.p.systemUser,
            env: { PGCONNECT_TIMEOUT: '2' },
          });
    const rows = r.stdout
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => l.split('|'));
    return {
      ok: r.code === 0,
      rows,
      connectFailed: r.code === 2 || r.missing,
      error: r.stderr.trim() || (r.code !== 0 ? `psql exited ${r.code}` : ''),
    };
  }

  async controldataText(): Promise<RunResult> {
    return run(this.bin('pg_controldata'), [this.p.datadir], { timeoutMs: this.deadline.cap(10_000) });
  }

  async controldata(): Promise<{ control: ControlData | null; error: string }> {
    const r = await this.controldataText();
    if (r.code !== 0) return { control: null, error: r.stderr.trim() || `pg_controldata exited ${r.code}` };
    try {
      return { control: parseControldata(r.stdout), error: '' };
    } catch (e) {
      return { control: null, error: (e as Error).message };
    }
  }

  postmasterPid(): number | null {
    try {
      const pid = Number(readFileSync(join(this.p.datadir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      return Number.isInteger(pid) && pid > 0 ? pid : null;
    } catch {
      return null;
    }
  }

  /**
   * The pid in postmaster.pid exists and is a postgres of this data directory (its cwd is the data
   * directory, or it is a postgres whose cwd cannot be read: a zombie not reaped yet). After a
   * reboot the stale pid may belong to any other process: that is not a live postmaster.
   */
  postmasterAlive(): boolean {
    const pid = this.postmasterPid();
    if (pid === null) return false;
    try {
      process.kill(pid, 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
    }
    // a zombie postmaster (not reaped yet, no cwd) still counts, as pg_ctl status counts it
    return worksIn(pid, this.datadirId()) !== 'no' || isZombiePostgres(pid);
  }

  private datadirId(): string | null {
    try {
      const st = statSync(this.p.datadir);
      return `${st.dev}:${st.ino}`;
    } catch {
      return null;
    }
  }

  /**
   * Whether any process works in this data directory (compared by device and inode, so a same-named
   * directory in another mount namespace does not count). Unknown (no /proc, unreadable cwd of a
   * postgres process) counts as running.
   */
  postgresRunning(): boolean {
    const id = this.datadirId();
    if (id === null) return true;
    let pids: string[];
    try {
      pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
    } catch {
      return true;
    }
    for (const d of pids) if (worksIn(Number(d), id) !== 'no') return true;
    return false;
  }

  async snapshot(probe = false): Promise<InstanceSnapshot & { controlError: string }> {
    const readiness = readinessFromPgIsready(await this.isready());
    if (readiness === 'accepting') {
      const q = await this.query('SELECT pg_is_in_recovery()', undefined, 10_000);
      const v = q.rows[0]?.[0];
      const inRecovery = !q.ok
        ? q.connectFailed
          ? 'connect-failed'
          : 'garbage'
        : v === 't'
          ? true
          : v === 'f'
            ? false
            : 'garbage';
      return {
        readiness,
        inRecovery,
        postmasterAlive: true,
        backupLabel: false,
        control: null,
        controlError: '',
        probe,
        postgresRunning: true,
      };
    }
    const { control, error } = await this.controldata();
    const postmasterAlive = this.postmasterAlive();
    return {
      readiness,
      probe,
      postgresRunning: postmasterAlive || this.postgresRunning(),
      postmasterAlive,
      backupLabel: existsSync(join(this.p.datadir, 'backup_label')),
      control,
      controlError: error,
    };
  }

  private readonly shown = new Map<string, Promise<RunResult>>();

  /** postgres -C <name> with start_opts, as the system user (once per name and action). */
  showConfig(name: string): Promise<RunResult> {
    let r = this.shown.get(name);
    if (!r) {
      r = this.as('postgres', ['-C', name, '-D', this.p.pgdata, ...splitOpts(this.p.startOpts)], 15_000);
      this.shown.set(name, r);
    }
    return r;
  }

  async pgCtl(args: readonly string[]): Promise<RunResult> {
    const secs = Math.max(1, Math.floor(this.deadline.remainingMs() / 1000));
    return this.as('pg_ctl', ['-D', this.p.pgdata, '-w', '-t', String(secs), ...args], secs * 1000 + 2000);
  }

  async waldump(args: readonly string[]): Promise<RunResult> {
    return this.as('pg_waldump', args, 30_000);
  }

  walFileNames(): string[] {
    try {
      return readdirSync(join(this.p.datadir, 'pg_wal'));
    } catch {
      return [];
    }
  }
}

/**
 * Does process pid work in the directory with id "dev:ino"? 'yes' (its cwd is it), 'no' (another
 * directory, not a postgres, or gone), 'maybe' (a postgres whose cwd cannot be read: a zombie, or no
 * permission).
 */
function worksIn(pid: number, dirId: string | null): 'yes' | 'no' | 'maybe' {
  let comm: string;
  try {
    comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return 'no';
  }
  if (comm !== 'postgres' && comm !== 'postmaster') return 'no';
  try {
    readlinkSync(`/proc/${pid}/cwd`);
    const st = statSync(`/proc/${pid}/cwd`);
    return dirId !== null && `${st.dev}:${st.ino}` === dirId ? 'yes' : 'no';
  } catch (e) {
    // a zombie (or a process exiting) has no cwd any more and writes nothing; no permission: unknown
    return (e as NodeJS.ErrnoException).code === 'EACCES' || (e as NodeJS.ErrnoException).code === 'EPERM'
      ? 'maybe'
      : 'no';
  }
}

function isZombiePostgres(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return /^\d+ \((postgres|postmaster)\) Z /.test(stat);
  } catch {
    return false;
  }
}

/** Splits start_opts like a shell would for simple quoting ("-c a=b -c 'x=y z'"). */
export function splitOpts(s: string): string[] {
  const out: string[] = [];
  const re = /'([^']*)'|"([^"]*)"|(\S+)/g;
  for (const m of s.matchAll(re)) out.push(m[1] ?? m[2] ?? m[3] ?? '');
  return out;
}

/** Parses a libpq key=value conninfo (quoted values allowed). */
export function parseConninfo(s: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /(\w+)\s*=\s*(?:'((?:[^'\\]|\\.)*)'|(\S+))/g;
  for (const m of s.matchAll(re)) if (m[1]) out.set(m[1], (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1'));
  return out;
}
