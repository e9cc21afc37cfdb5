import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { runCli } from '../../fixtures/cli.js';

it('rackwitness tables docs prints docs/tables.md; tables check says every table is well formed', async () => {
  const docs = await runCli(['tables', 'docs']);
  expect(docs.code).toBe(0);
  expect(docs.stdout).toBe(readFileSync('docs/tables.md', 'utf8'));
  const check = await runCli(['tables', 'check']);
  expect(check.code).toBe(0);
  expect(check.stdout).toMatch(/^ok: \d+ decision tables well formed\n$/);
});
