import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { configDocs } from '../../../src/config/docs.js';

it('docs/config.md is what the schema generates (regenerate: npm run docs)', () => {
  expect(readFileSync('docs/config.md', 'utf8')).toBe(configDocs());
});
