import { describe, expect, it } from 'vitest';
import { jsonText, renderDetails, snakeKey, snakeKeys, table } from '../../../src/cli/output.js';

describe('CLI output helpers', () => {
  it('snake_cases lower-camelCase keys only: ids, names and row codes stay as they are', () => {
    expect(
      ['lagBytes', 'siteId', 'lastRecv', 'expiresInS', 'node-a', 'V3', 'stale-term', 'reason_code', 'a'].map(snakeKey),
    ).toEqual(['lag_bytes', 'site_id', 'last_recv', 'expires_in_s', 'node-a', 'V3', 'stale-term', 'reason_code', 'a']);
    expect(snakeKeys({ nodes: [{ lagBytes: 1, slots: [{ restartLsn: 'x' }] }], drops: { 'unknown-cmd': 2 } })).toEqual({
      nodes: [{ lag_bytes: 1, slots: [{ restart_lsn: 'x' }] }],
      drops: { 'unknown-cmd': 2 },
    });
    expect(jsonText({ aB: 1 })).toBe('{\n  "a_b": 1\n}\n');
  });

  it('renders nested snapshots as aligned lines and tables, never cut short', () => {
    const long = 'x'.repeat(400);
    const lines = renderDetails({
      reason: long,
      targets: { 'node-a': { power: 'on', levels: [{ level: 1, plugs: ['bmc/chassis'] }] } },
      devices: { bmc: { up: true, family: 'ipmi' } },
    });
    const text = lines.join('\n');
    expect(text).toContain(long);
    expect(text).toMatch(/^ {2}targets node-a:$/m);
    expect(text).toMatch(/^ {6}LEVEL\s+PLUGS$/m);
    expect(text).toMatch(/^ {4}bmc\s+yes\s+ipmi$/m);
    expect(text).not.toMatch(/[{[]"/);
    expect(
      table([
        ['A', 'BB'],
        ['ccc', 'd'],
      ]),
    ).toBe('A    BB\nccc  d');
  });
});
