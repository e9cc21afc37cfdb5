/**
 * The tests must run from a fresh clone of this repository alone: no file under test/ may name a
 * relative path that leaves the repository (e.g. ../shared beside the checkout).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');
/** The directory beside the checkout the captures used to be read from (built so this file does not match itself). */
const SHARED = new RegExp(['shared', 'reference'].join('/'));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return files(p);
    return /\.(ts|mjs|js|sh|py)$/.test(n) ? [p] : [];
  });
}

/** String literals that start with ../ (import specifiers and resolve(import.meta.dirname, ...) arguments). */
function escapes(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/['"`]((?:\.\.\/)+[^'"`$]*)['"`]/g)) {
    const target = resolve(dirname(file), m[1] as string);
    if (relative(ROOT, target).startsWith('..')) out.push(`${relative(ROOT, file)}: ${m[1]}`);
  }
  if (SHARED.test(text)) out.push(`${relative(ROOT, file)}: names the shared reference directory`);
  return out;
}

describe('test/ is self-contained', () => {
  it('no test file names a path outside the repository', () => {
    expect(files(join(ROOT, 'test')).flatMap(escapes)).toEqual([]);
  });

  it('the booth captures the wire tests decode are in the repository', () => {
    for (const f of [
      'booth-arb-auth.pcap',
      'booth-all-auth.pcap',
      'booth-arb-noauth.pcap',
      'booth-all-noauth.pcap',
      'booth-vote-pair.pcap',
    ]) {
      expect(statSync(join(ROOT, 'test/vectors/booth', f)).size).toBeGreaterThan(0);
    }
  });
});
