import { describe, expect, it } from 'vitest';
import { tablesDocs } from '../../../src/decisions/registry.js';
import { checkTable, tableMarkdown } from '../../../src/decisions/table.js';
import { decideFeed, type GateSnapshot, gateTable, withholdCodes } from '../../../src/watchdog/gate.js';

const opts = { maxLoopLagMs: 500, feedWhenDegraded: true };
const healthy: GateSnapshot = {
  lagMs: 3,
  health: {
    fencing: { state: 'ok' },
    arbitrator: { state: 'ok' },
    status: { state: 'degraded', reason: 'broker down' },
  },
  gated: ['fencing', 'arbitrator'],
  clusterViewService: 'arbitrator',
  heartbeats: [{ name: 'decision', ageMs: 100, maxAgeMs: 1000 }],
  testing: false,
};

/** One snapshot per table row that only that row objects to. */
const triggers: Record<string, GateSnapshot> = {
  test: { ...healthy, testing: true },
  'loop-lag': { ...healthy, lagMs: 1200 },
  heartbeat: { ...healthy, heartbeats: [{ name: 'decision', ageMs: 2500, maxAgeMs: 1000 }] },
  'service-missing': { ...healthy, gated: [...healthy.gated, 'pgsql'] },
  'service-unhealthy': {
    ...healthy,
    health: { ...healthy.health, fencing: { state: 'failed', reason: 'worker wedged' } },
  },
  'service-degraded': {
    ...healthy,
    health: { ...healthy.health, fencing: { state: 'degraded', reason: 'one PDU down' } },
  },
  'cluster-view': {
    ...healthy,
    gated: ['fencing'],
    health: { ...healthy.health, arbitrator: { state: 'degraded', reason: 'peer site unreachable' } },
  },
};

describe('feed gate', () => {
  it('feeds when every source is fresh and every gated service healthy', () => {
    const d = decideFeed(healthy, opts);
    expect(d).toEqual({ feed: true, code: 'ok', reason: 'all 2 gated service(s) healthy' });
  });

  it('is well formed (checkTable) and its rows are in the generated docs', () => {
    expect(checkTable(gateTable)).toEqual([]);
    expect(tablesDocs()).toContain(tableMarkdown(gateTable));
  });

  it('has a triggering snapshot for every row, and each row stops the feed with its own reason', () => {
    for (const row of gateTable.rows.filter((r) => r.id !== 'ok')) {
      const snap = triggers[row.id];
      expect(snap, `row ${row.id} has no test snapshot`).toBeDefined();
      const o = row.id === 'service-degraded' ? { ...opts, feedWhenDegraded: false } : opts;
      const d = decideFeed(snap as GateSnapshot, o);
      expect(d.feed, row.id).toBe(false);
      expect(d.code).toBe(row.id);
      expect(row.comment.length).toBeGreaterThan(10);
    }
    expect(Object.keys(triggers).sort()).toEqual([...withholdCodes].sort());
    expect(gateTable.rows.map((r) => r.id)).toEqual([...withholdCodes, 'ok']);
  });

  it('names the culprit in the reason', () => {
    expect(decideFeed(triggers['service-unhealthy'] as GateSnapshot, opts).reason).toBe(
      'service fencing is failed: worker wedged',
    );
    expect(decideFeed(triggers['loop-lag'] as GateSnapshot, opts).reason).toMatch(
      /blocked: this tick ran 1200 ms late \(limit 500 ms\)/,
    );
    expect(decideFeed(triggers.heartbeat as GateSnapshot, opts).reason).toMatch(/"decision" last beat 2.5 s ago/);
    expect(decideFeed(triggers['service-missing'] as GateSnapshot, opts).reason).toBe(
      'service pgsql reported no health',
    );
    expect(decideFeed(triggers['cluster-view'] as GateSnapshot, opts).reason).toBe(
      'the cluster view (arbitrator) is degraded: peer site unreachable',
    );
  });

  it('keeps feeding through a degraded gated service unless told otherwise', () => {
    expect(decideFeed(triggers['service-degraded'] as GateSnapshot, opts).feed).toBe(true);
  });

  it('treats a heartbeat that never beat as stale', () => {
    const d = decideFeed({ ...healthy, heartbeats: [{ name: 'election', ageMs: undefined, maxAgeMs: 1000 }] }, opts);
    expect(d).toMatchObject({ feed: false, code: 'heartbeat' });
  });

  it('checks rows in order: a test request wins over everything else', () => {
    const d = decideFeed({ ...triggers['loop-lag'], testing: true } as GateSnapshot, opts);
    expect(d.code).toBe('test');
  });

  it('ignores a starting service only if it is not gated', () => {
    const s = { ...healthy, health: { ...healthy.health, pgsql: { state: 'starting' as const } } };
    expect(decideFeed(s, opts).feed).toBe(true);
    expect(decideFeed({ ...s, gated: [...s.gated, 'pgsql'] }, opts)).toMatchObject({
      feed: false,
      code: 'service-unhealthy',
    });
  });
});
