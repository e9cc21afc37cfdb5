/**
 * No module-level mutable state couples services: what one service hands another goes through
 * the service context (ctx.providers, ctx.heartbeats, ctx.events). This scans src/ for module-level
 * `let` and for module-level constants that are mutated in their file (.set/.add/.delete/.clear/
 * .push/.splice or an assignment to a member). The few left are caches of a constant fact or
 * private to one process, listed with the reason they couple nothing.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../../../src');

/** file basename:name → why it couples no services. */
const HARMLESS: Record<string, string> = {
  'json-schema.ts:cached': 'memo of the JSON Schema derived from the constant config schema',
  'wire.ts:crcTable': 'lazily built constant CRC-32 table (when zlib has no crc32)',
  'package-root.ts:root': 'memo of where the package is installed, a fact of the process',
  'io.ts:homes': 'home directories from /etc/passwd, cached inside the short-lived OCF agent process',
  'apc-cli.ts:sessionLost': 'brands Error objects this module created (a WeakSet: holds nothing alive)',
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return files(p);
    return n.endsWith('.ts') ? [p] : [];
  });
}

function moduleState(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found = new Set<string>();
  for (const m of text.matchAll(/^(?:export )?let ([A-Za-z_$][\w$]*)/gm)) found.add(m[1] ?? '');
  for (const m of text.matchAll(/^(?:export )?const ([A-Za-z_$][\w$]*)/gm)) {
    const n = m[1] ?? '';
    const mutated = new RegExp(
      `\\b${n}\\.(set|add|delete|clear|push|pop|shift|unshift|splice)\\(|\\b${n}(\\.\\w+|\\[[^\\]]+\\])\\s*(=[^=>]|\\+\\+|--|\\+=|-=)`,
    );
    if (mutated.test(text)) found.add(n);
  }
  return [...found].map((n) => `${basename(file)}:${n}`);
}

describe('module-level state in src/', () => {
  const all = files(SRC).flatMap((f) => moduleState(f).map((k) => ({ k, at: relative(SRC, f) })));

  it('is only the listed harmless caches; anything shared between services goes through the service context', () => {
    expect(all.filter((s) => !(s.k in HARMLESS)).map((s) => `src/${s.at}: ${s.k.split(':')[1]}`)).toEqual([]);
  });

  it('the list names only state that still exists', () => {
    expect(Object.keys(HARMLESS).filter((k) => !all.some((s) => s.k === k))).toEqual([]);
  });
});
