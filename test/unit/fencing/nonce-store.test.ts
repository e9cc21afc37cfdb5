import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NONCE_FILE, NonceStore, NonceStoreError } from '../../../src/fencing/api/nonce-store.js';
import { cleanupDir, tempDir } from '../../fixtures/proc.js';

const SKEW = 30_000;
const n = (i: number) => i.toString(16).padStart(32, '0');

describe('durable nonce store (replay guard)', () => {
  it('a used nonce is on disk when use() returns, and is seen by the next process', () => {
    const dir = cleanupDir(tempDir());
    const now = 1_800_000_000_000;
    const a = NonceStore.open(dir, SKEW, now);
    a.use(n(1), now, now);
    // no close(): as after kill -9
    expect(readFileSync(join(dir, NONCE_FILE), 'utf8')).toContain(n(1));
    const b = NonceStore.open(dir, SKEW, now + 1000);
    expect(b.seen(n(1))).toBe(true);
    expect(b.seen(n(2))).toBe(false);
    b.close();
    a.close();
  });

  it('skips a torn last line and terminates it before the next append', () => {
    const dir = cleanupDir(tempDir());
    const now = 1_800_000_000_000;
    const a = NonceStore.open(dir, SKEW, now);
    a.use(n(1), now, now);
    a.close();
    appendFileSync(join(dir, NONCE_FILE), '{"n":"00000000000000000000000000000002","ex');
    const b = NonceStore.open(dir, SKEW, now);
    expect(b.skippedAtOpen).toBe(1);
    b.use(n(3), now, now);
    b.close();
    const c = NonceStore.open(dir, SKEW, now);
    expect([c.seen(n(1)), c.seen(n(3)), c.skippedAtOpen]).toEqual([true, true, 0]);
    c.close();
  });

  it('keeps a nonce while its request could still pass the timestamp check (also if the clock steps back)', () => {
    const dir = cleanupDir(tempDir());
    const now = 1_800_000_000_000;
    const a = NonceStore.open(dir, SKEW, now);
    a.use(n(1), now + SKEW, now); // a request stamped at the far edge of the window
    a.close();
    // long after the request's own window plus the margin: pruned at open
    expect(NonceStore.open(dir, SKEW, now + 2 * SKEW + 1).seen(n(1))).toBe(true);
    expect(NonceStore.open(dir, SKEW, now + 3 * SKEW - 1).seen(n(1))).toBe(true);
    expect(NonceStore.open(dir, SKEW, now - 3600_000).seen(n(1))).toBe(true);
    expect(NonceStore.open(dir, SKEW, now + 3 * SKEW + 1).seen(n(1))).toBe(false);
  });

  it('refuses (throws) when the nonce cannot be written, naming the file', () => {
    const dir = cleanupDir(tempDir());
    const s = NonceStore.open(dir, SKEW, 0);
    s.close();
    expect(() => s.use(n(1), 0, 0)).toThrow(NonceStoreError);
    expect(() => NonceStore.open(join(dir, 'missing', 'dir'), SKEW, 0)).toThrow(
      /fence nonce file .*fence-nonces\.jsonl/,
    );
  });
});
