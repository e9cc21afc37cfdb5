/**
 * The durable replay guard of the fence agent API: every nonce of a request whose signature was
 * verified is appended to <state_dir>/fence-nonces.jsonl and fsynced BEFORE the request is
 * executed, and kept until the request's own timestamp has left the clock-skew window. So a
 * captured signed request can never be executed a second time: not in the same process, not
 * after an orderly restart, not after kill -9 or power loss (the line was on disk before any
 * device was touched). When the nonce cannot be written durably, the request is refused.
 *
 * A nonce entry lives until `ts + skew` (box clock), the last moment its request could still pass
 * the timestamp check. Entries are pruned only when the file is compacted, and then only those
 * whose window ended `skew` ago or more (a margin for a box clock that is stepped back).
 *
 * Line format: {"n":"<nonce>","exp":<unix ms>}. A torn last line (crash mid-append) is skipped;
 * the next append terminates it first.
 */
import { join } from 'node:path';
import { JsonlFile, readJsonl } from '../../daemon/jsonl.js';

export const NONCE_FILE = 'fence-nonces.jsonl';
/** Compact when the file holds this many lines more than the live entries. */
const COMPACT_SLACK = 4096;

export class NonceStoreError extends Error {}

export class NonceStore {
  private readonly live = new Map<string, number>();
  private readonly out: JsonlFile;
  private closed = false;
  private lines = 0;
  /** Unreadable lines skipped at open (a torn write at a crash). */
  readonly skippedAtOpen: number;

  private constructor(
    readonly file: string,
    private readonly skewMs: number,
    now: number,
  ) {
    let read: { records: NonceLine[]; skipped: number };
    try {
      read = readJsonl(file, isNonceLine);
    } catch (e) {
      throw new NonceStoreError(`cannot read the fence nonce file ${file} (${errCode(e)})`);
    }
    for (const r of read.records) this.live.set(r.n, Math.max(this.live.get(r.n) ?? 0, r.exp));
    this.lines = read.records.length + read.skipped;
    this.skippedAtOpen = read.skipped;
    this.out = new JsonlFile(file, { mode: 0o600, durable: true });
    this.compact(now);
  }

  /** Opens (or creates) the store in stateDir. Throws a NonceStoreError naming the file. */
  static open(stateDir: string, skewMs: number, now = Date.now()): NonceStore {
    return new NonceStore(join(stateDir, NONCE_FILE), skewMs, now);
  }

  /** Number of nonces whose request could still pass the timestamp check. */
  size(): number {
    return this.live.size;
  }

  /** True when this nonce was already used (any entry not yet pruned counts: fail closed). */
  seen(nonce: string): boolean {
    return this.live.has(nonce);
  }

  /**
   * Records a nonce durably (write + fsync). Returns only once it is on disk; throws a
   * NonceStoreError when it could not be written, and the caller must then refuse the request.
   */
  use(nonce: string, requestTs: number, now: number): void {
    const exp = requestTs + this.skewMs;
    if (this.closed) throw new NonceStoreError(`the fence nonce file ${this.file} is closed`);
    try {
      this.out.append({ n: nonce, exp } satisfies NonceLine);
    } catch (e) {
      throw new NonceStoreError(`cannot record the request's nonce durably in ${this.file} (${errCode(e)})`);
    }
    this.lines++;
    this.live.set(nonce, exp);
    if (this.lines > this.live.size + COMPACT_SLACK) this.compact(now);
  }

  close(): void {
    this.out.close();
    this.closed = true;
  }

  /** Drops entries whose window ended and rewrites the file (tmp, fsync, rename, fsync the directory). */
  compact(now: number): void {
    for (const [n, exp] of this.live) if (exp < now - this.skewMs) this.live.delete(n);
    try {
      this.out.rewrite([...this.live].map(([n, exp]): NonceLine => ({ n, exp })));
      this.out.open();
    } catch (e) {
      throw new NonceStoreError(`cannot write the fence nonce file ${this.file} (${errCode(e)})`);
    }
    this.lines = this.live.size;
  }
}

interface NonceLine {
  n: string;
  exp: number;
}

function isNonceLine(v: unknown): v is NonceLine {
  if (typeof v !== 'object' || v === null) return false;
  const r: { n?: unknown; exp?: unknown } = v;
  return typeof r.n === 'string' && typeof r.exp === 'number';
}

function errCode(e: unknown): string {
  return e instanceof Error && 'code' in e && typeof e.code === 'string' ? e.code : String(e);
}
