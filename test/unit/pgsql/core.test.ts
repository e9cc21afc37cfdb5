import { describe, expect, it } from 'vitest';
import { tablesDocs } from '../../../src/decisions/registry.js';
import { checkTable, type DecisionTable, decideBy, tableMarkdown } from '../../../src/decisions/table.js';
import {
  BEST_STANDBY_SCORE,
  BOOTSTRAP_PRIMARY_SCORE,
  BOOTSTRAP_STANDBY_SCORE,
  BOOTSTRAP_TABLE,
  type ControlData,
  checkSwitchover,
  classifyInstance,
  classifyTransition,
  computeScores,
  DISCONNECTED_SCORE,
  decideBootstrap,
  decideLoneStandby,
  decideRejoin,
  decodePosition,
  electCandidate,
  electionNodes,
  encodePosition,
  firstSegmentStart,
  formatLsn,
  type InstanceSnapshot,
  LONE_STANDBY_TABLE,
  newestTimeline,
  OCF,
  parseControldata,
  parseLsn,
  parseNotifyEnv,
  parseTimelineHistory,
  parseWaldump,
  REJOIN_TABLE,
  type RejoinSnapshot,
  STATE_TABLE,
  SWITCHOVER_TABLE,
  type SwitchoverSnapshot,
  TRANSITION_TABLE,
  walEnd,
} from '../../../src/pgsql/core/index.js';

const L = (s: string) => parseLsn(s) as bigint;
const ctl = (state: ControlData['state']): ControlData => ({
  state,
  checkpointLsn: L('0/3000060'),
  redoLsn: L('0/3000028'),
  timeline: 1,
  walLevel: 'replica',
  minRecoveryLsn: null,
  walLogHints: true,
  dataChecksums: false,
});
const snap = (o: Partial<InstanceSnapshot>): InstanceSnapshot => ({
  readiness: 'no-response',
  postmasterAlive: false,
  backupLabel: false,
  control: ctl('shut down'),
  ...o,
});

describe('every decision table: well formed (checkTable), documented in docs/tables.md', () => {
  const wellFormed = <S, O>(table: DecisionTable<S, O>) => {
    expect(checkTable(table)).toEqual([]);
    for (const r of table.rows) expect(r.comment.length).toBeGreaterThan(20);
    expect(tablesDocs()).toContain(tableMarkdown(table));
  };
  it('STATE_TABLE', () => wellFormed(STATE_TABLE));
  it('TRANSITION_TABLE', () => wellFormed(TRANSITION_TABLE));
  it('SWITCHOVER_TABLE', () => wellFormed(SWITCHOVER_TABLE));
  it('REJOIN_TABLE', () => wellFormed(REJOIN_TABLE));
  it('BOOTSTRAP_TABLE', () => wellFormed(BOOTSTRAP_TABLE));
  it('LONE_STANDBY_TABLE', () => wellFormed(LONE_STANDBY_TABLE));
});

/** Every row id of a table is reached by some case (walked by id, not by position). */
const rowIds = (table: { rows: readonly { id: string }[] }) => new Set(table.rows.map((r) => r.id));

describe('LSN and control file parsing', () => {
  it('parses and formats LSNs, zero-padded or not, and rejects garbage', () => {
    expect(L('0/049B95E8')).toBe(L('0/49B95E8'));
    expect(formatLsn(L('1/0000A0'))).toBe('1/A0');
    expect(parseLsn('')).toBeNull();
    expect(parseLsn('zz')).toBeNull();
    expect(L('1/0') > L('0/FFFFFFFF')).toBe(true);
  });
  it('parses pg_controldata and names a missing field', () => {
    const text = [
      'Database cluster state:               in archive recovery',
      'Latest checkpoint location:           0/3018048',
      "Latest checkpoint's REDO location:    0/3018010",
      "Latest checkpoint's TimeLineID:       2",
      'Minimum recovery ending location:     0/0',
      'wal_level setting:                    replica',
      'wal_log_hints setting:                on',
      'Data page checksum version:           0',
    ].join('\n');
    const c = parseControldata(text);
    expect(c).toMatchObject({
      state: 'in archive recovery',
      timeline: 2,
      walLevel: 'replica',
      walLogHints: true,
      dataChecksums: false,
    });
    expect(formatLsn(c.redoLsn)).toBe('0/3018010');
    expect(() => parseControldata(text.replace(/wal_level.*\n/, ''))).toThrow(/wal_level setting/);
    expect(() => parseControldata(text.replace('in archive recovery', 'weird'))).toThrow(/unknown cluster state/);
  });
});

describe('state classification table (monitor)', () => {
  // [comment, snapshot, expected rc, expected role, retry]
  const cases: Array<[string, InstanceSnapshot, number, string, boolean]> = [
    ['bad pg_isready args', snap({ readiness: 'bad-args' }), OCF.ERR_CONFIGURED, 'unknown', false],
    ['hot standby', snap({ readiness: 'accepting', inRecovery: true }), OCF.SUCCESS, 'standby', false],
    ['primary', snap({ readiness: 'accepting', inRecovery: false }), OCF.RUNNING_PROMOTED, 'primary', false],
    [
      'psql cannot connect',
      snap({ readiness: 'accepting', inRecovery: 'connect-failed' }),
      OCF.ERR_GENERIC,
      'unknown',
      false,
    ],
    [
      'garbage from role query',
      snap({ readiness: 'accepting', inRecovery: 'garbage' }),
      OCF.ERR_CONFIGURED,
      'unknown',
      false,
    ],
    [
      'rejecting while starting up',
      snap({ readiness: 'rejecting', control: ctl('starting up') }),
      OCF.ERR_GENERIC,
      'unknown',
      true,
    ],
    [
      'rejecting, warm standby',
      snap({ readiness: 'rejecting', control: ctl('in archive recovery') }),
      OCF.ERR_GENERIC,
      'unknown',
      true,
    ],
    [
      'rejecting, shut down',
      snap({ readiness: 'rejecting', control: ctl('shut down') }),
      OCF.ERR_GENERIC,
      'unknown',
      true,
    ],
    [
      'rejecting, no control file',
      snap({ readiness: 'rejecting', control: null }),
      OCF.ERR_INSTALLED,
      'unknown',
      false,
    ],
    [
      'silent but pid alive (zombie window after kill -9)',
      snap({ postmasterAlive: true, control: ctl('in production') }),
      OCF.ERR_GENERIC,
      'unknown',
      false,
    ],
    [
      'fresh base backup',
      snap({ backupLabel: true, control: ctl('in production') }),
      OCF.NOT_RUNNING,
      'stopped',
      false,
    ],
    ['stopped, control unreadable', snap({ control: null }), OCF.ERR_INSTALLED, 'unknown', false],
    [
      'probe after a reboot: crashed primary, postmaster gone, nothing in the data directory',
      snap({ control: ctl('in production'), probe: true, postgresRunning: false }),
      OCF.NOT_RUNNING,
      'crashed-primary',
      false,
    ],
    [
      'probe after a reboot: crashed standby, nothing in the data directory',
      snap({ control: ctl('in archive recovery'), probe: true, postgresRunning: false }),
      OCF.NOT_RUNNING,
      'crashed-standby',
      false,
    ],
    ['crashed primary', snap({ control: ctl('in production') }), OCF.FAILED_PROMOTED, 'crashed-primary', false],
    [
      'probe, crashed primary whose orphaned backends still run',
      snap({ control: ctl('in production'), probe: true, postgresRunning: true }),
      OCF.FAILED_PROMOTED,
      'crashed-primary',
      false,
    ],
    [
      'recurring monitor, crashed primary, nothing runs: still 9 (Pacemaker recovers it)',
      snap({ control: ctl('in production'), probe: false, postgresRunning: false }),
      OCF.FAILED_PROMOTED,
      'crashed-primary',
      false,
    ],
    [
      'probe with a stale postmaster.pid whose pid is alive (postmasterAlive): uncertain, 1',
      snap({ control: ctl('in production'), probe: true, postgresRunning: true, postmasterAlive: true }),
      OCF.ERR_GENERIC,
      'unknown',
      false,
    ],
    ['crashed standby', snap({ control: ctl('in archive recovery') }), OCF.ERR_GENERIC, 'crashed-standby', false],
    ['cleanly stopped primary', snap({ control: ctl('shut down') }), OCF.NOT_RUNNING, 'stopped', false],
    ['cleanly stopped standby', snap({ control: ctl('shut down in recovery') }), OCF.NOT_RUNNING, 'stopped', false],
    ['stopped mid crash recovery', snap({ control: ctl('in crash recovery') }), OCF.ERR_GENERIC, 'unknown', true],
  ];
  it.each(cases)('%s', (_c, s, rc, role, retry) => {
    const r = classifyInstance(s);
    expect([r.rc, r.role, r.retry]).toEqual([rc, role, retry]);
    expect(r.reason.length).toBeGreaterThan(10);
  });
  it('every row of the table is reached by a case, and names itself (id) in the classification', () => {
    expect(new Set(cases.map(([, s]) => classifyInstance(s).row))).toEqual(rowIds(STATE_TABLE));
  });
});

describe('bootstrap scores (bring-up from cleanly stopped instances)', () => {
  const B = (
    controlState: 'shut down' | 'shut down in recovery',
    scores: Array<[string, number | null]>,
    allKnownNodesPresent = true,
  ) =>
    decideBootstrap({
      localNode: 'a',
      controlState,
      scores: scores.map(([node, score]) => ({ node, score })),
      allKnownNodesPresent,
    });
  const cases: Array<[string, ReturnType<typeof B>, number | null]> = [
    ['a primary already set real scores', B('shut down', [['b', 1001]]), null],
    ['cleanly stopped primary, nobody scored', B('shut down', [['b', null]]), BOOTSTRAP_PRIMARY_SCORE],
    ['cleanly stopped primary, the peer has a bootstrap score', B('shut down', [['b', 1]], false), 2],
    ['cleanly stopped standby, everyone present', B('shut down in recovery', [['b', 2]]), BOOTSTRAP_STANDBY_SCORE],
    ['cleanly stopped standby, a known node is missing', B('shut down in recovery', [['b', null]], false), null],
  ];
  it.each(cases)('%s', (_c, d, score) => {
    expect(d.score).toBe(score);
    expect(d.reason.length).toBeGreaterThan(10);
  });
  it('the ex-primary is preferred over standbys; both stay below every monitor-given score; every row reached', () => {
    expect(BOOTSTRAP_PRIMARY_SCORE).toBeGreaterThan(BOOTSTRAP_STANDBY_SCORE);
    expect(BOOTSTRAP_PRIMARY_SCORE).toBeLessThan(990);
    const inputs: Array<Parameters<typeof decideBootstrap>[0]> = [
      { localNode: 'a', controlState: 'shut down', scores: [{ node: 'b', score: 1000 }], allKnownNodesPresent: true },
      { localNode: 'a', controlState: 'shut down', scores: [], allKnownNodesPresent: false },
      { localNode: 'a', controlState: 'shut down in recovery', scores: [], allKnownNodesPresent: true },
      { localNode: 'a', controlState: 'shut down in recovery', scores: [], allKnownNodesPresent: false },
    ];
    expect(new Set(inputs.map((i) => decideBy(BOOTSTRAP_TABLE, i).row))).toEqual(rowIds(BOOTSTRAP_TABLE));
  });
});

describe('a standby alone in its cluster (a booth site) scores itself', () => {
  const L1 = (knownNodes: string[] | null, streaming: boolean, diverged = false) =>
    decideLoneStandby({ localNode: 'site-b', knownNodes, streaming, diverged });
  const cases: Array<[string, ReturnType<typeof L1>['score'], ReturnType<typeof L1>]> = [
    ['streaming from the other site: the best standby score', BEST_STANDBY_SCORE, L1(['site-b'], true)],
    ['not streaming (the other site died): the score it had stays', 'keep', L1(['site-b'], false)],
    ['diverged: never a candidate', DISCONNECTED_SCORE, L1(['site-b'], true, true)],
    ['a two-node rack: the primary ranks the standbys, nothing changes', 'keep', L1(['site-b', 'peer'], true)],
    ['crm_node could not be asked: nothing changes', 'keep', L1(null, true)],
    ['a cluster that knows only some other node: nothing changes', 'keep', L1(['peer'], true)],
  ];
  it.each(cases)('%s', (_c, score, d) => {
    expect(d.score).toBe(score);
    expect(d.reason.length).toBeGreaterThan(10);
  });
  it('every row reached', () => {
    const inputs = [
      { localNode: 'b', knownNodes: ['a', 'b'], streaming: true, diverged: false },
      { localNode: 'b', knownNodes: ['b'], streaming: true, diverged: true },
      { localNode: 'b', knownNodes: ['b'], streaming: true, diverged: false },
      { localNode: 'b', knownNodes: ['b'], streaming: false, diverged: false },
    ];
    expect(new Set(inputs.map((i) => decideBy(LONE_STANDBY_TABLE, i).row))).toEqual(rowIds(LONE_STANDBY_TABLE));
  });
});

describe('promotion scores', () => {
  const base = { localNode: 'a', currentLsn: L('0/5000000'), maxlag: 0 };
  it('primary 1001, best standby 1000, next 990 by written position (PAF#198 order), exact name match', () => {
    const s = computeScores({
      ...base,
      partitionNodes: ['a', 'b', 'c', 'd'],
      walSenders: [
        { applicationName: 'c', state: 'streaming', writeLsn: L('0/4000000') },
        { applicationName: 'b', state: 'streaming', writeLsn: L('0/5000000') },
        { applicationName: 'b1', state: 'streaming', writeLsn: L('0/5000000') },
      ],
    });
    expect(Object.fromEntries(s.map((x) => [x.node, x.score]))).toEqual({ a: 1001, b: 1000, c: 990, d: -1000 });
  });
  it('beyond maxlag the score is negated; startup/backup walsenders get -1; diverged nodes -1000', () => {
    const s = computeScores({
      ...base,
      maxlag: 1000,
      partitionNodes: ['a', 'b', 'c', 'd'],
      divergedNodes: ['d'],
      walSenders: [
        { applicationName: 'b', state: 'streaming', writeLsn: L('0/4000000') },
        { applicationName: 'c', state: 'startup', writeLsn: null },
        { applicationName: 'd', state: 'streaming', writeLsn: L('0/5000000') },
      ],
    });
    expect(Object.fromEntries(s.map((x) => [x.node, x.score]))).toEqual({ a: 1001, d: -1000, b: -990, c: -1 });
  });
});

describe('election (timeline first, then max(received, replayed))', () => {
  const P = (node: string, timeline: number | null, rx: string | null, rp: string | null, diverged = false) => ({
    node,
    timeline,
    receiveLsn: rx ? L(rx) : null,
    replayLsn: rp ? L(rp) : null,
    diverged,
  });
  // [comment, local, others, winner, promoteLocal]
  const cases: Array<[string, ReturnType<typeof P>, ReturnType<typeof P>[], string | null, boolean]> = [
    ['alone', P('a', 1, '0/300', null), [], 'a', true],
    ['tie keeps the designated node', P('a', 1, '0/300', null), [P('b', 1, '0/300', null)], 'a', true],
    ['other node has a greater LSN', P('a', 1, '0/300', null), [P('b', 1, '0/400', null)], 'b', false],
    ['timeline beats LSN', P('a', 1, '0/900', null), [P('b', 2, '0/400', null)], 'b', false],
    [
      'PAF#225: receive reset to segment start, replay ahead',
      P('a', 1, '0/6000000', '0/6498528'),
      [P('b', 1, '0/6400000', null)],
      'a',
      true,
    ],
    ['receive NULL, replay known', P('a', 1, null, '0/500'), [P('b', 1, '0/400', null)], 'a', true],
    [
      'diverged node is never a candidate even if ahead',
      P('a', 1, '0/300', null),
      [P('b', 2, '0/900', null, true)],
      'a',
      true,
    ],
    ['local diverged: the other wins', P('a', 2, '0/900', null, true), [P('b', 1, '0/300', null)], 'b', false],
    ['nobody published a position', P('a', null, null, null), [P('b', null, null, null)], null, false],
  ];
  it.each(cases)('%s', (_c, local, others, winner, promoteLocal) => {
    const r = electCandidate(local, others);
    expect([r.winner, r.promoteLocal]).toEqual([winner, promoteLocal]);
  });
  it('round-trips the lsn_location attribute and treats garbage as unknown', () => {
    expect(decodePosition('b', encodePosition(3, L('0/5000000')))).toMatchObject({
      timeline: 3,
      receiveLsn: L('0/5000000'),
    });
    expect(decodePosition('b', 'garbage').timeline).toBeNull();
  });
});

describe('notify → transition kind', () => {
  const env = (o: Record<string, string>) =>
    parseNotifyEnv(Object.fromEntries(Object.entries(o).map(([k, v]) => [`OCF_RESKEY_CRM_meta_notify_${k}`, v])));
  // [comment, env, kind, target]
  const cases: Array<[string, ReturnType<typeof env>, string, string | null]> = [
    [
      'primary recovered in place',
      env({
        type: 'pre',
        operation: 'promote',
        master_uname: 'a ',
        slave_uname: 'b',
        promote_uname: 'a',
        demote_uname: 'a',
        stop_uname: 'a',
        start_uname: 'a',
      }),
      'primary-recover',
      'a',
    ],
    [
      'switchover a → b',
      env({
        type: 'pre',
        operation: 'promote',
        master_uname: 'a',
        slave_uname: 'b',
        promote_uname: 'b',
        demote_uname: 'a',
      }),
      'switchover',
      'b',
    ],
    [
      'Pacemaker 2.1 promoted/unpromoted names',
      env({
        type: 'pre',
        operation: 'promote',
        promoted_uname: 'a',
        unpromoted_uname: 'b',
        promote_uname: 'b',
        demote_uname: 'a',
      }),
      'switchover',
      'b',
    ],
    [
      'demoted primary also stopped: failover',
      env({
        type: 'pre',
        operation: 'promote',
        master_uname: 'a',
        slave_uname: 'b',
        promote_uname: 'b',
        demote_uname: 'a',
        stop_uname: 'a',
      }),
      'failover',
      'b',
    ],
    [
      'primary lost',
      env({ type: 'pre', operation: 'promote', slave_uname: 'b', promote_uname: 'b', inactive_uname: 'a' }),
      'failover',
      'b',
    ],
    [
      'standby recovered',
      env({ type: 'pre', operation: 'start', master_uname: 'a', slave_uname: 'b', start_uname: 'b', stop_uname: 'b' }),
      'standby-recover',
      null,
    ],
    ['plain start', env({ type: 'pre', operation: 'start', start_uname: 'b' }), 'none', null],
  ];
  it.each(cases)('%s', (_c, n, kind, target) => {
    const t = classifyTransition(n, 'b');
    expect([t.kind, t.target]).toEqual([kind, target]);
  });
  it('every row is reached', () => {
    expect(new Set(cases.map(([, n]) => decideBy(TRANSITION_TABLE, n).row))).toEqual(rowIds(TRANSITION_TABLE));
  });
  it('election nodes are (active ∪ start) − stop; active rebuilt from master+slave', () => {
    expect(
      electionNodes(env({ master_uname: 'a', slave_uname: 'b c', start_uname: 'd', stop_uname: 'a' })).sort(),
    ).toEqual(['b', 'c', 'd']);
  });
});

const SHUTDOWN = (lsn: string, tli = 1) =>
  `rmgr: XLOG        len (rec/tot):    114/   114, tx:          0, lsn: ${lsn}, prev 0/03017E98, desc: CHECKPOINT_SHUTDOWN redo ${lsn}; tli ${tli}; prev tli ${tli}; fpw true; xid 0:725; oid 16387; shutdown`;
const HEAP = (lsn: string) =>
  `rmgr: Heap        len (rec/tot):     59/    59, tx:        725, lsn: ${lsn}, prev 0/03017E98, desc: INSERT off 1 flags 0x00`;

describe('pg_waldump, history, segment parsing', () => {
  it('reads records, checkpoints and the end of valid WAL', () => {
    const d = parseWaldump(
      `${HEAP('0/03018000')}\n${SHUTDOWN('0/03018048')}\n`,
      'pg_waldump: error: error in WAL record at 0/3018048: invalid record length at 0/30180C0: wanted 24, got 0',
    );
    expect(d.records).toHaveLength(2);
    expect(d.records[1]?.checkpoint).toEqual({ shutdown: true, redo: L('0/3018048'), timeline: 1 });
    expect(walEnd(d)).toBe(L('0/30180C0'));
    expect(walEnd(parseWaldump(SHUTDOWN('0/03018048')))).toBe(L('0/30180C0'));
  });
  it('reads a timeline history file and segment names', () => {
    expect(parseTimelineHistory('1\t0/3000148\tno recovery target specified\n\n2\t0/5000000\tx\n')).toEqual([
      { timeline: 1, switchpoint: L('0/3000148') },
      { timeline: 2, switchpoint: L('0/5000000') },
    ]);
    const names = [
      '000000010000000000000003',
      '000000020000000000000003',
      '000000020000000000000004',
      '00000002.history',
      'archive_status',
    ];
    expect(newestTimeline(names)).toBe(2);
    expect(firstSegmentStart(names, 2)).toBe(L('0/3000000'));
  });
});

describe('switchover safety table', () => {
  const S = (o: Partial<SwitchoverSnapshot>): SwitchoverSnapshot => ({
    timeline: 1,
    receivedLsn: L('0/30180C0'),
    waldump: parseWaldump(SHUTDOWN('0/03018048')),
    ...o,
  });
  // [comment, snapshot, safe, code]
  const cases: Array<[string, SwitchoverSnapshot, boolean, number]> = [
    ['pg_waldump could not run', S({ waldump: null, waldumpError: 'not installed' }), false, 2],
    ['not streaming: no received position', S({ receivedLsn: null }), false, 1],
    ['no record up to the received position', S({ waldump: parseWaldump('') }), false, 1],
    ['last record is the shutdown checkpoint, fully received', S({}), true, 0],
    ['shutdown checkpoint only partly received', S({ receivedLsn: L('0/3018050') }), false, 1],
    ['shutdown checkpoint of another timeline', S({ timeline: 2 }), false, 1],
    [
      'records after an older shutdown checkpoint: WAL missed',
      S({ waldump: parseWaldump(`${SHUTDOWN('0/03018048')}\n${HEAP('0/030180C0')}`), receivedLsn: L('0/3018100') }),
      false,
      1,
    ],
  ];
  it.each(cases)('%s', (_c, s, safe, code) => {
    const v = checkSwitchover(s);
    expect([v.safe, v.code]).toEqual([safe, code]);
  });
  it('every row is reached', () => {
    expect(new Set(cases.map(([, s]) => decideBy(SWITCHOVER_TABLE, s).row))).toEqual(rowIds(SWITCHOVER_TABLE));
  });
});

describe('rejoin decision table', () => {
  const hist = [{ timeline: 1, switchpoint: L('0/30180C0') }];
  const R = (o: {
    tl?: number | null;
    end?: string | null;
    primary?: RejoinSnapshot['primary'];
    rewind?: Partial<RejoinSnapshot['rewind']>;
  }): RejoinSnapshot => ({
    local: {
      timeline: o.tl === undefined ? 1 : o.tl,
      walEnd: o.end === null ? null : L(o.end ?? '0/30180C0'),
      controlState: 'shut down',
    },
    primary:
      o.primary === undefined ? { timeline: 2, currentLsn: L('0/4000000'), history: hist, where: 'b' } : o.primary,
    rewind: { allowed: true, hintsOrChecksums: true, binaryPresent: true, ...o.rewind },
  });
  // [comment, snapshot, action, diverged]
  const cases: Array<[string, RejoinSnapshot, string, boolean]> = [
    ['no primary reachable', R({ primary: null }), 'start-standby', false],
    ['local WAL end unknown', R({ end: null }), 'refuse', true],
    ['clean switchover: WAL ends at the switch point', R({}), 'start-standby', false],
    [
      'same timeline, behind the primary',
      R({ primary: { timeline: 1, currentLsn: L('0/5000000'), history: [], where: 'b' } }),
      'start-standby',
      false,
    ],
    ['crashed primary wrote past the switch point: rewind', R({ end: '0/3018200' }), 'rewind', true],
    ['newer local timeline', R({ tl: 3 }), 'rewind', true],
    [
      'same timeline but ahead of the primary',
      R({ primary: { timeline: 1, currentLsn: L('0/3000000'), history: [], where: 'b' } }),
      'rewind',
      true,
    ],
    ['rewind disabled', R({ end: '0/3018200', rewind: { allowed: false } }), 'refuse', true],
    ['no wal_log_hints/checksums', R({ end: '0/3018200', rewind: { hintsOrChecksums: false } }), 'refuse', true],
  ];
  it.each(cases)('%s', (_c, s, action, diverged) => {
    const d = decideRejoin(s);
    expect([d.action, d.diverged]).toEqual([action, diverged]);
    expect(d.reason).not.toMatch(/undefined/);
  });
  it('every row is reached', () => {
    expect(new Set(cases.map(([, s]) => decideBy(REJOIN_TABLE, s).row))).toEqual(rowIds(REJOIN_TABLE));
  });
  it('a timeline missing from the history is divergence, and the refusal says why in one sentence', () => {
    const d = decideRejoin(
      R({
        tl: 1,
        primary: {
          timeline: 3,
          currentLsn: L('0/9000000'),
          history: [{ timeline: 2, switchpoint: L('0/5000000') }],
          where: 'b',
        },
        rewind: { binaryPresent: false },
      }),
    );
    expect(d.action).toBe('refuse');
    expect(d.reason).toMatch(/timeline 1 is not in the history.*pg_rewind is not installed/);
  });
});
