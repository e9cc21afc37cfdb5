import { describe, expect, it } from 'vitest';
import { buildSnapshot, classifyFailure, rackEvents } from '../../../src/pgsql/observer/snapshot.js';
import type { NodeProbe, RackSnapshot } from '../../../src/pgsql/observer/types.js';
import { failed, NODES, NOW_S, ok, primaryRows, repRow, standbyRows } from './rows.js';

function snap(
  a: NodeProbe,
  b: NodeProbe,
  opts: { prev?: RackSnapshot; maxlag?: number; maxlagS?: number; at?: number } = {},
) {
  return buildSnapshot({
    nodes: NODES,
    probes: new Map([
      ['node-a', a],
      ['node-b', b],
    ]),
    prev: opts.prev,
    seq: (opts.prev?.seq ?? 0) + 1,
    source: 'postgresql',
    maxlagBytes: opts.maxlag ?? 0,
    maxlagSeconds: opts.maxlagS ?? 0,
    at: opts.at ?? NOW_S * 1000,
  });
}

const node = (s: RackSnapshot, n: string) => s.nodes.find((x) => x.name === n) as RackSnapshot['nodes'][number];

describe('buildSnapshot: a healthy rack', () => {
  const s = snap(ok(primaryRows()), ok(standbyRows()));

  it('classifies roles, timelines and positions', () => {
    expect(s.primary).toBe('node-a');
    expect(s.writablePrimaries).toEqual(['node-a']);
    expect(node(s, 'node-a')).toMatchObject({
      role: 'primary',
      timeline: 1,
      timelineSource: 'wal',
      position: '0/5000000',
    });
    expect(node(s, 'node-b')).toMatchObject({
      role: 'standby',
      timeline: 1,
      timelineSource: 'walreceiver',
      position: '0/5000000',
    });
    expect(s.state).toBe('ok');
    expect(s.summary).toBe('node-a is primary on timeline 1; node-b streams (async) 0 B behind.');
  });

  it('says the standby streams only when both sides agree on the primary’s timeline', () => {
    expect(node(s, 'node-b').streaming).toBe(true);
    expect(node(s, 'node-b').syncState).toBe('async');
  });

  it('scores with the shared core: 1001 primary, 1000 best standby', () => {
    expect(node(s, 'node-a').score).toBe(1001);
    expect(node(s, 'node-b').score).toBe(1000);
    expect(s.candidate).toBe('node-b');
  });

  it('computes slot retention from the node position and the last checkpoint time', () => {
    expect(node(s, 'node-a').slots[0]).toMatchObject({ name: 'node_b', active: true, retainedBytes: 0 });
    expect(node(s, 'node-b').slots[0]).toMatchObject({ name: 'node_a', retainedBytes: null });
    expect(node(s, 'node-a').checkpoint).toEqual({
      lsn: '0/4000060',
      redoLsn: '0/4000028',
      timeline: 1,
      at: new Date((NOW_S - 50) * 1000).toISOString(),
    });
  });

  it('is immutable', () => {
    expect(Object.isFrozen(s)).toBe(true);
    expect(Object.isFrozen(s.nodes[0])).toBe(true);
    expect(() => {
      (s.nodes[0] as { role: string }).role = 'down';
    }).toThrow();
  });
});

describe('buildSnapshot: lag', () => {
  it('takes byte lag from the standby’s own positions (the primary’s copy of them may be stale) and seconds from replay_lag', () => {
    const p = primaryRows({
      currentLsn: '0/5100000',
      replication: [repRow({ flushLsn: '0/5000000', replayLsn: '0/4F00000', replayLagS: 2.5 })],
    });
    const s = snap(ok(p), ok(standbyRows({ receiveLsn: '0/5080000', replayLsn: '0/5040000' })));
    const b = node(s, 'node-b');
    expect(b.lagBytes).toBe(0x80000);
    expect(b.replayLagBytes).toBe(0xc0000);
    expect(b.lagSeconds).toBe(2.5);
    expect(node(s, 'node-a')).toMatchObject({ lagBytes: 0, lagSeconds: 0 });
  });

  it('uses the primary’s view of a standby the box cannot read', () => {
    const p = primaryRows({
      currentLsn: '0/5100000',
      replication: [repRow({ flushLsn: '0/5000000', replayLsn: '0/4F00000', replayLagS: 2.5 })],
    });
    const s = snap(ok(p), failed('EHOSTUNREACH', 'connect EHOSTUNREACH 10.0.0.2:5432'));
    const b = node(s, 'node-b');
    expect(b).toMatchObject({
      role: 'unknown',
      lagBytes: 0x100000,
      replayLagBytes: 0x200000,
      lagSeconds: 2.5,
      senderState: 'streaming',
    });
    expect(b.streaming).toBe(false);
    expect(s.summary).toBe(
      'node-a is primary on timeline 1; the box cannot read node-b (connect EHOSTUNREACH 10.0.0.2:5432 [EHOSTUNREACH]), but node-a reports it streaming.',
    );
  });

  it('falls back to the standby’s own max(receive, replay) when the primary has no row for it', () => {
    const p = primaryRows({ currentLsn: '0/5000100', replication: [] });
    // receive was reset to the segment start after a restart (PAF#225): replay is the real position
    const sb = standbyRows({
      receiveLsn: '0/4000000',
      replayLsn: '0/5000000',
      walReceiver: null,
      lastReplayAt: NOW_S - 7,
    });
    const s = snap(ok(p), ok(sb));
    const b = node(s, 'node-b');
    expect(b.position).toBe('0/5000000');
    expect(b.lagBytes).toBe(0x100);
    expect(b.replayLagBytes).toBe(0x100);
    expect(b.lagSeconds).toBe(7);
    expect(b.streaming).toBe(false);
    expect(b.score).toBe(-1000);
    expect(s.state).toBe('degraded');
    expect(s.summary).toMatch(/node-b is a standby but does not stream from node-a \(sender absent, receiver absent\)/);
  });

  it('never reports a negative lag when the standby was read after the primary', () => {
    const s = snap(
      ok(primaryRows({ replication: [] })),
      ok(standbyRows({ receiveLsn: '0/5000200', replayLsn: '0/5000200' })),
    );
    expect(node(s, 'node-b').lagBytes).toBe(0);
  });

  it('degrades beyond maxlag, and the core negates the score', () => {
    const p = primaryRows({
      currentLsn: '0/6000000',
      replication: [repRow({ writeLsn: '0/5000000', flushLsn: '0/5000000' })],
    });
    const s = snap(ok(p), ok(standbyRows()), { maxlag: 1024 * 1024 });
    expect(node(s, 'node-b').lagBytes).toBe(16 * 1024 * 1024);
    expect(node(s, 'node-b').score).toBe(-1000);
    expect(s.state).toBe('degraded');
    expect(s.summary).toMatch(/node-b lags 16\.0 MiB behind node-a, beyond maxlag 1\.0 MiB/);
  });

  it('degrades beyond maxlag_s', () => {
    const p = primaryRows({
      currentLsn: '0/5000100',
      replication: [repRow({ replayLsn: '0/5000000', replayLagS: 42 })],
    });
    const s = snap(ok(p), ok(standbyRows()), { maxlagS: 30 });
    expect(s.summary).toMatch(/node-b replays 42\.0 s behind node-a, beyond 30 s/);
  });
});

describe('buildSnapshot: what goes wrong', () => {
  it('reports a refused connection as down with the reason', () => {
    const s = snap(
      failed('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.1:5432'),
      ok(standbyRows({ walReceiver: null })),
    );
    expect(node(s, 'node-a')).toMatchObject({
      role: 'down',
      reason: 'connection refused (PostgreSQL not running)',
      failures: 1,
    });
    expect(s.primary).toBeNull();
    expect(s.state).toBe('degraded');
    expect(s.summary).toBe(
      'No writable primary: node-a is down (connection refused (PostgreSQL not running)); node-b is a standby on timeline 1.',
    );
    // the standby is still the best failover candidate; scores are unknown without a primary
    expect(s.candidate).toBe('node-b');
    expect(node(s, 'node-b').score).toBeNull();
  });

  it('reports two writable primaries as a loud split brain', () => {
    const b = primaryRows({ currentLsn: '0/6000000', currentWalFile: '000000020000000000000005', replication: [] });
    const s = snap(ok(primaryRows({ replication: [] })), ok(b));
    expect(s.writablePrimaries).toEqual(['node-a', 'node-b']);
    expect(s.primary).toBeNull();
    expect(s.state).toBe('degraded');
    expect(s.summary).toBe(
      'SPLIT BRAIN: node-a on timeline 1 and node-b on timeline 2 are both writable primaries; writes to one of them will be lost, fence one now.',
    );
  });

  it('does not count a standby streaming an older timeline as streaming (diverged node)', () => {
    const p = primaryRows({ currentWalFile: '000000030000000000000004' });
    const sb = standbyRows({ walReceiver: { ...standbyRows().walReceiver!, receivedTli: 2 } });
    const s = snap(ok(p), ok(sb));
    expect(node(s, 'node-a').timeline).toBe(3);
    expect(node(s, 'node-b').streaming).toBe(false);
    expect(s.summary).toMatch(/does not stream from node-a \(sender streaming, receiver streaming, on timeline 2\)/);
  });

  it('reads a standby timeline from the control file when no WAL receiver runs', () => {
    const s = snap(ok(primaryRows()), ok(standbyRows({ walReceiver: null })));
    expect(node(s, 'node-b')).toMatchObject({ timeline: 1, timelineSource: 'controlfile' });
  });

  it('notes paused replay', () => {
    const s = snap(ok(primaryRows()), ok(standbyRows({ replayPaused: true })));
    expect(node(s, 'node-b').reason).toBe('WAL replay is paused');
  });

  it('matches pg_stat_replication rows by application_name when it differs from the node name', () => {
    const nodes = [NODES[0], { ...NODES[1], applicationName: 'pg2' }];
    const p = primaryRows({ replication: [repRow({ applicationName: 'pg2' })] });
    const s = buildSnapshot({
      nodes,
      probes: new Map([
        ['node-a', ok(p)],
        ['node-b', ok(standbyRows())],
      ]),
      seq: 1,
      source: 'postgresql',
      maxlagBytes: 0,
      at: NOW_S * 1000,
    });
    expect(node(s, 'node-b')).toMatchObject({ streaming: true, score: 1000 });
  });
});

describe('classifyFailure', () => {
  it.each([
    [{ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' }, 'down', /connection refused/],
    [{ code: '57P03', message: 'the database system is starting up' }, 'down', /not accepting connections yet/],
    [
      { code: '57P01', message: 'terminating connection due to administrator command' },
      'down',
      /^the server is shutting down \(terminating/,
    ],
    [{ message: 'Connection terminated unexpectedly' }, 'down', /terminated/],
    [{ message: 'timeout expired' }, 'unknown', /no answer in time/],
    [{ message: 'Query read timeout' }, 'unknown', /no answer in time/],
    [{ code: 'EHOSTUNREACH', message: 'connect EHOSTUNREACH 10.0.0.1:5432' }, 'unknown', /EHOSTUNREACH/],
    [
      { code: '28P01', message: 'password authentication failed for user "rackwitness"' },
      'unknown',
      /authentication failed/,
    ],
    [{ code: '42501', message: 'permission denied for function pg_control_checkpoint' }, 'unknown', /grant pg_monitor/],
    [{ code: 'RW_FORMAT', message: 'observation row field in_recovery: expected a boolean' }, 'unknown', /in_recovery/],
  ] as const)('%o is %s', (err, role, reason) => {
    const c = classifyFailure(err);
    expect(c.role).toBe(role);
    expect(c.reason).toMatch(reason);
  });
});

describe('rackEvents', () => {
  const healthy = snap(ok(primaryRows()), ok(standbyRows()));

  it('opens with one sentence describing the first observation', () => {
    const e = rackEvents(undefined, healthy);
    expect(e).toEqual([
      expect.objectContaining({ kind: 'pgsql.observe', sentence: `First observation of the rack: ${healthy.summary}` }),
    ]);
  });

  it('says nothing when nothing changed', () => {
    expect(rackEvents(healthy, snap(ok(primaryRows()), ok(standbyRows()), { prev: healthy }))).toEqual([]);
  });

  it('tells a failover in role sentences: the primary goes down, then the standby is primary on a new timeline', () => {
    const down = snap(failed('ECONNREFUSED', 'connect ECONNREFUSED'), ok(standbyRows({ walReceiver: null })), {
      prev: healthy,
    });
    expect(rackEvents(healthy, down).map((e) => e.sentence)).toEqual([
      'node-a is down: connection refused (PostgreSQL not running) (was primary).',
      `Rack degraded: ${down.summary}`,
    ]);
    const promoted = snap(
      failed('ECONNREFUSED', 'connect ECONNREFUSED'),
      ok(primaryRows({ currentWalFile: '000000030000000000000005', replication: [], primarySlotName: 'node_b' })),
      { prev: down },
    );
    const e = rackEvents(down, promoted);
    expect(e).toEqual([
      {
        kind: 'pgsql.role',
        sentence: 'node-b is now primary on timeline 3 (was a standby).',
        data: expect.objectContaining({ node: 'node-b', timeline: 3 }),
      },
    ]);
  });

  it('keeps roleSince while the role holds and resets it on a change', () => {
    const later = snap(ok(primaryRows()), ok(standbyRows()), { prev: healthy, at: (NOW_S + 10) * 1000 });
    expect(node(later, 'node-a').roleSince).toBe(node(healthy, 'node-a').roleSince);
    const down = snap(failed('ECONNREFUSED', 'x'), ok(standbyRows()), { prev: later, at: (NOW_S + 20) * 1000 });
    expect(node(down, 'node-a').roleSince).toBe(new Date((NOW_S + 20) * 1000).toISOString());
    expect(node(down, 'node-a').failures).toBe(1);
    const still = snap(failed('ECONNREFUSED', 'x'), ok(standbyRows()), { prev: down });
    expect(node(still, 'node-a').failures).toBe(2);
  });

  it('announces a split brain when it starts and when it ends', () => {
    const split = snap(
      ok(primaryRows({ replication: [] })),
      ok(primaryRows({ currentWalFile: '000000020000000000000005', replication: [] })),
      {
        prev: healthy,
      },
    );
    const e = rackEvents(healthy, split);
    expect(e.map((x) => x.kind)).toEqual(['pgsql.role', 'pgsql.split-brain', 'pgsql.health']);
    expect(e[1]?.sentence).toMatch(/^SPLIT BRAIN: node-a on timeline 1 and node-b on timeline 2/);
    const over = snap(ok(primaryRows()), failed('ECONNREFUSED', 'x'), { prev: split });
    expect(rackEvents(split, over).find((x) => x.kind === 'pgsql.split-brain')?.sentence).toBe(
      'Split brain over: node-a is the only writable primary.',
    );
  });

  it('tells when a standby stops and resumes streaming from the same primary', () => {
    const cut = snap(ok(primaryRows({ replication: [] })), ok(standbyRows({ walReceiver: null })), { prev: healthy });
    expect(rackEvents(healthy, cut).map((e) => e.sentence)).toEqual([
      'node-b stopped streaming from node-a (sender absent, receiver absent).',
      `Rack degraded: ${cut.summary}`,
    ]);
    const back = snap(ok(primaryRows()), ok(standbyRows()), { prev: cut });
    expect(rackEvents(cut, back).map((e) => e.sentence)).toEqual([
      'node-b streams from node-a on timeline 1 (async).',
      `Rack healthy again: ${back.summary}`,
    ]);
  });

  it('tells a timeline change of a node that kept its role', () => {
    const next = snap(
      ok(primaryRows({ currentWalFile: '000000020000000000000005', replication: [] })),
      failed('ECONNREFUSED', 'x'),
      {
        prev: snap(ok(primaryRows({ replication: [] })), failed('ECONNREFUSED', 'x')),
      },
    );
    const prev = snap(ok(primaryRows({ replication: [] })), failed('ECONNREFUSED', 'x'));
    expect(rackEvents(prev, next).map((e) => e.sentence)).toContain('node-a (primary) moved from timeline 1 to 2.');
  });
});
