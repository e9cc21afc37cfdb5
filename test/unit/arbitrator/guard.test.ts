import { describe, expect, it } from 'vitest';
import { type GuardPolicy, guardVote, type LsnObservation } from '../../../src/arbitrator/guard.js';
import { formatLsn, parseLsn } from '../../../src/pgsql/core/lsn.js';

const NOW = 1_800_000_000_000;
const policy: GuardPolicy = {
  nodes: { '10.0.0.11': 'pg-a', '10.0.0.12': 'pg-b' },
  toleranceBytes: 0n,
  maxAgeMs: 30_000,
};
const at = (lsn: string, ageMs = 1000): LsnObservation => ({ lsn: parseLsn(lsn) as bigint, observedAt: NOW - ageMs });
const provider = (m: Record<string, LsnObservation | undefined>) => (node: string) => m[node];

describe('PostgreSQL vote guard', () => {
  it('parses and formats LSNs', () => {
    expect(parseLsn('16/B374D848')).toBe(0x16b374d848n);
    expect(formatLsn(0x16b374d848n)).toBe('16/B374D848');
    expect(parseLsn('nope')).toBeNull();
  });
  it('withholds the vote from a candidate provably behind the other node', () => {
    const v = guardVote({
      candidateAddress: '10.0.0.12',
      now: NOW,
      policy,
      lastKnownLsn: provider({ 'pg-a': at('0/3000100'), 'pg-b': at('0/3000000') }),
    });
    expect(v.allow).toBe(false);
    expect(v.reason).toMatch(/pg-b is at 0\/3000000, 256 bytes behind pg-a/);
  });
  it('allows within the tolerance', () => {
    const v = guardVote({
      candidateAddress: '10.0.0.12',
      now: NOW,
      policy: { ...policy, toleranceBytes: 256n },
      lastKnownLsn: provider({ 'pg-a': at('0/3000100'), 'pg-b': at('0/3000000') }),
    });
    expect(v.allow).toBe(true);
  });
  it('allows a candidate that is level or ahead', () => {
    const v = guardVote({
      candidateAddress: '10.0.0.11',
      now: NOW,
      policy,
      lastKnownLsn: provider({ 'pg-a': at('0/3000100'), 'pg-b': at('0/3000000') }),
    });
    expect(v).toMatchObject({ allow: true });
  });
  it('cannot prove anything without fresh observations, so it allows', () => {
    const cases = [
      provider({ 'pg-a': at('0/3000100'), 'pg-b': undefined }),
      provider({ 'pg-a': at('0/3000100'), 'pg-b': at('0/3000000', 60_000) }),
      provider({ 'pg-a': at('0/3000100', 60_000), 'pg-b': at('0/3000000') }),
      undefined,
    ];
    for (const p of cases)
      expect(guardVote({ candidateAddress: '10.0.0.12', now: NOW, policy, lastKnownLsn: p }).allow).toBe(true);
  });
  it('does not apply to a site without a PostgreSQL node', () => {
    expect(guardVote({ candidateAddress: '10.0.0.99', now: NOW, policy, lastKnownLsn: provider({}) }).reason).toMatch(
      /not tied/,
    );
  });
});
