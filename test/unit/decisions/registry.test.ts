import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TABLES, tablesDocs } from '../../../src/decisions/registry.js';

describe('decision table registry', () => {
  it('docs/tables.md is what the rows generate (regenerate: npm run docs)', () => {
    expect(readFileSync('docs/tables.md', 'utf8')).toBe(tablesDocs());
  });

  it('every registered table is well formed', () => {
    expect(TABLES.flatMap((t) => t.problems())).toEqual([]);
  });

  it('table names are unique and every table has rows', () => {
    const names = TABLES.map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
    for (const t of TABLES) expect(t.rowIds.length, t.name).toBeGreaterThan(1);
  });

  it('the docs name every row of every table', () => {
    const doc = tablesDocs();
    for (const t of TABLES) for (const id of t.rowIds) expect(doc, `${t.name}: ${id}`).toContain(`| \`${id}\``);
  });
});
