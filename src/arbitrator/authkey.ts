/**
 * booth authfile rules, as boothd applies them: the file must not be group/other-readable, at
 * most 64 bytes are read (longer keys are silently truncated), a key whose bytes are all ASCII
 * has surrounding whitespace trimmed (so a text key with a trailing newline works), and what is
 * left must be at least 8 bytes.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export const MAX_KEY_LEN = 64;
export const MIN_KEY_LEN = 8;

/** Applies boothd's trimming and length rules to the first bytes of a key file. */
export function keyFromBytes(raw: Uint8Array, source: string): Buffer {
  let key = Buffer.from(raw.subarray(0, MAX_KEY_LEN));
  if (key.every((b) => b < 0x80)) {
    let start = 0;
    let end = key.length;
    while (start < end && isSpace(key[start] as number)) start++;
    while (end > start && isSpace(key[end - 1] as number)) end--;
    key = key.subarray(start, end);
  }
  if (key.length < MIN_KEY_LEN)
    throw new Error(`authfile ${source}: key is ${key.length} bytes, booth needs at least ${MIN_KEY_LEN}`);
  return Buffer.from(key);
}

function isSpace(b: number): boolean {
  return b === 0x20 || (b >= 0x09 && b <= 0x0d);
}

/** Reads an authfile; throws an Error naming the file when it is unusable. */
export function readAuthKey(path: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new Error(`authfile ${path}: cannot open (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Error(`authfile ${path}: not a regular file`);
    if (st.mode & 0o044)
      throw new Error(
        `authfile ${path}: readable by group or other (mode ${(st.mode & 0o777).toString(8)}); booth refuses it, use chmod 600`,
      );
    const buf = Buffer.alloc(MAX_KEY_LEN);
    let n = 0;
    while (n < MAX_KEY_LEN) {
      const r = readSync(fd, buf, n, MAX_KEY_LEN - n, null);
      if (r === 0) break;
      n += r;
    }
    return keyFromBytes(buf.subarray(0, n), path);
  } finally {
    closeSync(fd);
  }
}
