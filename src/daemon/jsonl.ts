/**
 * The one storage of the box's JSON-lines files (events log, fence journal, fence nonces): one
 * JSON value per line, appended with a single write (fsynced when durability is asked for), a
 * torn last line (power loss mid-append) skipped on read and terminated before the next append,
 * and compaction by rewrite: a new file, fsync, rename over, fsync the directory.
 */
import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';

/** Parses JSON-lines text; lines that are torn, not JSON or refused by `accept` are skipped and counted. */
export function parseJsonl<T>(text: string, accept: (v: unknown) => v is T): { records: T[]; skipped: number } {
  const records: T[] = [];
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      skipped++;
      continue;
    }
    if (accept(v)) records.push(v);
    else skipped++;
  }
  return { records, skipped };
}

/** Reads a JSON-lines file (see parseJsonl); a missing file has no records. */
export function readJsonl<T>(file: string, accept: (v: unknown) => v is T): { records: T[]; skipped: number } {
  if (!existsSync(file)) return { records: [], skipped: 0 };
  return parseJsonl(readFileSync(file, 'utf8'), accept);
}

export interface JsonlFileOptions {
  /** File mode when created. */
  mode: number;
  /** fsync every append (the record is on disk before append() returns). */
  durable: boolean;
}

/** An append-only JSON-lines file. Errors are thrown as they come (the caller names the file). */
export class JsonlFile {
  private fd: number | undefined;

  constructor(
    readonly file: string,
    private readonly o: JsonlFileOptions,
  ) {}

  /** Opens (creating) the file now rather than at the first append, terminating a torn last line. */
  open(): void {
    this.opened();
  }

  /** Appends one value as one line. */
  append(value: unknown): void {
    this.writeText(`${JSON.stringify(value)}\n`);
  }

  /** Replaces the whole file with these values (tmp, fsync, rename over, fsync the directory). */
  rewrite(values: readonly unknown[]): void {
    const tmp = `${this.file}.tmp`;
    const fd = openSync(tmp, 'w', this.o.mode);
    try {
      writeAll(fd, values.map((v) => `${JSON.stringify(v)}\n`).join(''));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
    fsyncDir(dirname(this.file));
    this.close();
  }

  close(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
    this.fd = undefined;
  }

  private writeText(text: string): void {
    writeAll(this.opened(), text);
    if (this.o.durable) fsyncSync(this.opened());
  }

  /** Opens for append on first use; a torn last line is terminated first so the next record starts clean. */
  private opened(): number {
    if (this.fd !== undefined) return this.fd;
    const existed = existsSync(this.file);
    const fd = openSync(this.file, 'a+', this.o.mode);
    this.fd = fd;
    if (!existed) {
      if (this.o.durable) fsyncDir(dirname(this.file));
      return fd;
    }
    const size = fstatSync(fd).size;
    if (size > 0) {
      const last = Buffer.alloc(1);
      readSync(fd, last, 0, 1, size - 1);
      if (last[0] !== 0x0a) {
        writeAll(fd, '\n');
        if (this.o.durable) fsyncSync(fd);
      }
    }
    return fd;
  }
}

function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // some filesystems refuse fsync on a directory; the file itself is fsynced and the rename is atomic
  }
}
