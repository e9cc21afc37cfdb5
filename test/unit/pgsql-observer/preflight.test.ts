import { describe, expect, it } from 'vitest';
import { PREFLIGHT_TABLE, type PreflightOptions, preflight } from '../../../src/pgsql/observer/preflight.js';
import { buildSnapshot } from '../../../src/pgsql/observer/snapshot.js';
import type { NodeProbe } from '../../../src/pgsql/observer/types.js';
import { failed, NODES, NOW_S, ok, primaryRows, repRow, standbyRows } from './rows.js';

const OPTS: PreflightOptions = { requireSync: false, maxlagBytes: 0, maxlagSeconds: 0 };

function snap(a: NodeProbe, b: NodeProbe, maxlagBytes = 0) {
  return buildSnapshot({
    nodes: NODES,
    probes: new Map([
      ['node-a', a],
      ['node-b', b],
    ]),
    seq: 1,
    source: 'postgresql',
    maxlagBytes,
    at: NOW_S * 1000,
  });
}

const healthy = () => snap(ok(primaryRows()), ok(standbyRows()));

function failedIds(r: ReturnType<typeof preflight>) {
  return r.checks.filter((c) => !c.ok).map((c) => c.id);
}

describe('preflight', () => {
  it('says safe for a streaming, caught-up standby on the primary’s timeline, with every check shown', () => {
    const r = preflight(healthy(), OPTS);
    expect(r.safe).toBe(true);
    expect(r.from).toBe('node-a');
    expect(r.to).toBe('node-b');
    expect(r.reasons).toEqual([]);
    expect(r.summary).toBe(
      'A switchover from node-a to node-b would be lossless now: node-b streams timeline 1 from node-a and holds all its WAL.',
    );
    expect(r.checks.map((c) => c.id)).toEqual([
      'one-primary',
      'target-standby',
      'sender-streaming',
      'receiver-timeline',
      'promotion-score',
      'slot-for-old-primary',
      'lag',
      'replay-paused',
      'async',
    ]);
    // asynchronous replication is only a warning for a switchover
    expect(r.warnings).toEqual([
      'node-b is asynchronous: fine for a switchover, but a failover now could lose acknowledged commits',
    ]);
  });

  it('every row of the table is exercised by a failing case below', () => {
    const covered = new Set<string>();
    const cases: Array<[string, ReturnType<typeof preflight>]> = [
      ['split', preflight(snap(ok(primaryRows({ replication: [] })), ok(primaryRows({ replication: [] }))), OPTS)],
      ['standby down', preflight(snap(ok(primaryRows({ replication: [] })), failed('ECONNREFUSED', 'refused')), OPTS)],
      [
        'not streaming',
        preflight(snap(ok(primaryRows({ replication: [] })), ok(standbyRows({ walReceiver: null }))), OPTS),
      ],
      [
        'timeline',
        preflight(snap(ok(primaryRows({ currentWalFile: '000000020000000000000004' })), ok(standbyRows())), OPTS),
      ],
      ['maxlag', preflight(snap(ok(primaryRows({ currentLsn: '0/6000000' })), ok(standbyRows()), 1024), OPTS)],
      [
        'maxlag_s',
        preflight(
          snap(
            ok(
              primaryRows({
                currentLsn: '0/5000100',
                replication: [repRow({ replayLsn: '0/5000000', replayLagS: 9 })],
              }),
            ),
            ok(standbyRows()),
          ),
          {
            ...OPTS,
            maxlagSeconds: 5,
          },
        ),
      ],
      ['sync', preflight(healthy(), { ...OPTS, requireSync: true })],
      ['slot', preflight(snap(ok(primaryRows()), ok(standbyRows({ slots: [] }))), OPTS)],
      ['lag', preflight(snap(ok(primaryRows({ currentLsn: '0/5000100' })), ok(standbyRows())), OPTS)],
      ['paused', preflight(snap(ok(primaryRows()), ok(standbyRows({ replayPaused: true }))), OPTS)],
      ['async', preflight(healthy(), OPTS)],
    ];
    for (const [, r] of cases) for (const id of failedIds(r)) covered.add(id);
    expect([...covered].sort()).toEqual(PREFLIGHT_TABLE.map((r) => r.id).sort());
  });

  it('refuses when the standby is stopped, and says why', () => {
    const r = preflight(
      snap(ok(primaryRows({ replication: [] })), failed('ECONNREFUSED', 'connect ECONNREFUSED')),
      OPTS,
    );
    expect(r.safe).toBe(false);
    expect(r.reasons).toEqual([
      'node-b is down (connection refused (PostgreSQL not running)): there is nothing to switch over to',
    ]);
    expect(r.summary).toBe(
      'A switchover from node-a to node-b would NOT be safe now: node-b is down (connection refused (PostgreSQL not running)): there is nothing to switch over to.',
    );
  });

  it('refuses a standby that is not streaming: both the walsender and the receiver are named, and the core’s score', () => {
    const r = preflight(snap(ok(primaryRows({ replication: [] })), ok(standbyRows({ walReceiver: null }))), OPTS);
    expect(r.safe).toBe(false);
    expect(r.reasons).toEqual([
      'node-a has no walsender for node-b: the standby is not streaming',
      "node-b's WAL receiver is not running",
      'node-b has promotion score -1000: the node has no walsender on the primary (not replicating)',
    ]);
    expect(r.summary).toMatch(
      /NOT be safe now: node-a has no walsender for node-b: the standby is not streaming \(and 2 more\)\.$/,
    );
  });

  it('refuses on a timeline mismatch', () => {
    const r = preflight(snap(ok(primaryRows({ currentWalFile: '000000020000000000000004' })), ok(standbyRows())), OPTS);
    expect(r.reasons).toEqual(['node-b receives timeline 1 but node-a is on timeline 2 (timeline mismatch)']);
  });

  it('refuses beyond maxlag, with the reason the core gives for the negative score', () => {
    const r = preflight(snap(ok(primaryRows({ currentLsn: '0/6000000' })), ok(standbyRows()), 1024), OPTS);
    expect(r.safe).toBe(false);
    expect(r.reasons).toEqual([
      'node-b has promotion score -1000: the standby lags 16777216 bytes, beyond maxlag 1024',
    ]);
  });

  it('refuses when require_sync is set and the standby is asynchronous', () => {
    const r = preflight(healthy(), { ...OPTS, requireSync: true });
    expect(r.reasons).toEqual(['node-b is not synchronous (sync_state async) and require_sync is set']);
    const sync = snap(ok(primaryRows({ replication: [repRow({ syncState: 'sync' })] })), ok(standbyRows()));
    expect(preflight(sync, { ...OPTS, requireSync: true }).safe).toBe(true);
  });

  it('refuses when the slot the old primary will need on the target is missing', () => {
    const r = preflight(snap(ok(primaryRows()), ok(standbyRows({ slots: [] }))), OPTS);
    expect(r.reasons).toEqual([
      'node-b has no replication slot "node_a", which node-a needs to follow it after the switchover (slot missing)',
    ]);
  });

  it('refuses during a split brain and when there is no primary', () => {
    const split = preflight(snap(ok(primaryRows({ replication: [] })), ok(primaryRows({ replication: [] }))), OPTS);
    expect(split.safe).toBe(false);
    expect(split.reasons[0]).toBe(
      'node-a and node-b are both writable primaries (split brain): fence one before anything else',
    );
    const none = preflight(snap(failed('ECONNREFUSED', 'x'), ok(standbyRows())), OPTS);
    expect(none.reasons).toEqual(['there is no writable primary to switch over from']);
  });

  it('checks --to: unknown node, the primary itself', () => {
    expect(preflight(healthy(), { ...OPTS, to: 'node-z' }).reasons).toEqual([
      'there is no node named "node-z" (nodes: node-a, node-b)',
    ]);
    expect(preflight(healthy(), { ...OPTS, to: 'node-a' }).reasons).toEqual(['node-a is already the primary']);
    expect(preflight(healthy(), { ...OPTS, to: 'node-b' }).safe).toBe(true);
  });

  it('labels a simulated rack', () => {
    const s = buildSnapshot({
      nodes: NODES,
      probes: new Map([
        ['node-a', ok(primaryRows())],
        ['node-b', ok(standbyRows())],
      ]),
      seq: 1,
      source: 'simulated',
      maxlagBytes: 0,
      at: NOW_S * 1000,
    });
    expect(preflight(s, OPTS).summary).toMatch(/\[SIMULATED rack\]$/);
  });
});
