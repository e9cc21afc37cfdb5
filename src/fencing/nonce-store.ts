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
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const NONCE_FILE = 'fence-nonces.jsonl';
/** Compact when the file holds this many lines more than the live entries. */
const COMPACT_SLACK = 4096;

export class NonceStoreError extends Error {}

export class NonceStore {
  private readonly live = new Map<string, number>();
  private fd: number | undefined;
  private lines = 0;
  private needsNewline = false;
  /** Unreadable lines skipped at open (a torn write at a crash). */
  readonly skippedAtOpen: number;

  private constructor(
    readonly file: string,
    private readonly skewMs: number,
    now: number,
  ) {
    let skipped = 0;
    if (existsSync(file)) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (e) {
        throw new NonceStoreError(
          `cannot read the fence nonce file ${file} (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
        );
      }
      this.needsNewline = text.length > 0 && !text.endsWith('\n');
      for (const line of text.split('\n')) {
        if (!line.trim()) continue;
        this.lines++;
        try {
          const r = JSON.parse(line) as { n?: unknown; exp?: unknown };
          if (typeof r.n === 'string' && typeof r.exp === 'number') {
            this.live.set(r.n, Math.max(this.live.get(r.n) ?? 0, r.exp));
          } else skipped++;
        } catch {
          skipped++;
        }
      }
    }
    this.skippedAtOpen = skipped;
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
    if (this.fd === undefined) throw new NonceStoreError(`the fence nonce file ${this.file} is closed`);
    const line = `${this.needsNewline ? '\n' : ''}${JSON.stringify({ n: nonce, exp })}\n`;
    try {
      writeSync(this.fd, line);
      fsyncSync(this.fd);
    } catch (e) {
      throw new NonceStoreError(
        `cannot record the request's nonce durably in ${this.file} (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
      );
    }
    this.needsNewline = false;
    this.lines++;
    this.live.set(nonce, exp);
    if (this.lines > this.live.size + COMPACT_SLACK) this.compact(now);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** Drops entries whose window ended and rewrites the file (tmp, fsync, rename, fsync the directory). */
  compact(now: number): void {
    for (const [n, exp] of this.live) if (exp < now - this.skewMs) this.live.delete(n);
    const tmp = `${this.file}.tmp`;
    try {
      const fd = openSync(tmp, 'w', 0o600);
      try {
        const text = [...this.live].map(([n, exp]) => `${JSON.stringify({ n, exp })}\n`).join('');
        writeSync(fd, text);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.file);
      syncDir(this.file);
      if (this.fd !== undefined) closeSync(this.fd);
      this.fd = openSync(this.file, 'a', 0o600);
    } catch (e) {
      throw new NonceStoreError(
        `cannot write the fence nonce file ${this.file} (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
      );
    }
    this.lines = this.live.size;
    this.needsNewline = false;
  }
}

function syncDir(file: string): void {
  const dir = file.slice(0, file.lastIndexOf('/')) || '/';
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // some filesystems refuse fsync on directories; the rename itself is atomic
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
