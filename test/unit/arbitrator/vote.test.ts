import { describe, expect, it } from 'vitest';
import {
  type DecideEnv,
  decide,
  type Incoming,
  initialView,
  nextDeadline,
  type TicketView,
  tick,
  voteTable,
} from '../../../src/arbitrator/vote.js';
import { CMD, NO_ONE, REASON, RESULT } from '../../../src/arbitrator/wire.js';
import { tablesDocs } from '../../../src/decisions/registry.js';
import { checkTable, decideBy, tableMarkdown } from '../../../src/decisions/table.js';

const S1 = 0x17be2063;
const S2 = 0x09dab5c0;
const NOW = 1_000_000;
const EXPIRE = 12_000;

const env = (over: Partial<DecideEnv> = {}): DecideEnv => ({
  now: NOW,
  manual: false,
  expireMs: EXPIRE,
  timeoutMs: 1000,
  acquireAfterMs: 2000,
  name: (id) => (id === undefined ? 'NONE' : id === NO_ONE ? 'none' : id === S1 ? 'site1' : id === S2 ? 'site2' : '?'),
  ...over,
});
const msg = (cmd: number, over: Partial<Incoming> = {}): Incoming => ({
  cmd,
  from: S1,
  reason: 0,
  leader: S1,
  term: 0,
  validMs: 0,
  ...over,
});
const view = (over: Partial<TicketView> = {}): TicketView => ({ ...initialView(), ...over });
/** site1 holds the ticket in term 3 with `left` ms of lease. */
const held = (left = 10_000, over: Partial<TicketView> = {}) =>
  view({ state: 'Fllw', leader: S1, term: 3, expiresAt: NOW + left, ...over });

interface Case {
  row: string;
  why: string;
  v: TicketView;
  m: Incoming;
  e?: Partial<DecideEnv>;
  /** Expected reply (cmd/result/leader/term) or null for none. */
  reply: { cmd: number; result?: number; leader?: number; term?: number; request?: number } | null;
  /** Expected fields of the next view. */
  next?: Partial<TicketView>;
}

const cases: Case[] = [
  {
    row: 'stale-term',
    why: 'a heartbeat older than the last revoke is a straggler',
    v: view({ state: 'Init', leader: NO_ONE, term: 5, lastValidTerm: 5 }),
    m: msg(CMD.HrtB, { term: 4, validMs: 11_000 }),
    reply: null,
    next: { leader: NO_ONE, term: 5 },
  },
  {
    row: 'stat-in-election',
    why: 'no status answers while an election runs',
    v: view({ inElection: true, electionSince: NOW - 100 }),
    m: msg(CMD.Stat, { leader: NO_ONE }),
    reply: null,
  },
  {
    row: 'stat-answer',
    why: 'answer Stat with our view',
    v: held(),
    m: msg(CMD.Stat, { from: S2, leader: NO_ONE }),
    reply: { cmd: CMD.MIdx, request: CMD.Stat, leader: S1, term: 3 },
  },
  {
    row: 'rvot-lost-but-revoked',
    why: 'TLst election for a revoked ticket: candidate outdated',
    v: view({ state: 'Init', leader: NO_ONE, term: 2 }),
    m: msg(CMD.RVot, { from: S2, leader: S2, term: 3, reason: REASON.TicketLost }),
    reply: { cmd: CMD.RJC, result: RESULT.YouOutdated, request: CMD.RVot },
  },
  {
    row: 'rvot-lost-still-valid',
    why: 'TLst election while the holder has more than a third of the lease',
    v: held(5_000),
    m: msg(CMD.RVot, { from: S2, leader: S2, term: 4, reason: REASON.TicketLost }),
    reply: { cmd: CMD.RJC, result: RESULT.TermStillValid, leader: S1, term: 3 },
    next: { term: 3, votedFor: undefined },
  },
  {
    row: 'rvot-lease-valid',
    why: 'no vote for another site while the holder’s lease runs (below expire/3 too)',
    v: held(1_000),
    m: msg(CMD.RVot, { from: S2, leader: S2, term: 4, reason: REASON.Admin }),
    reply: { cmd: CMD.RJC, result: RESULT.TermStillValid },
    next: { leader: S1, term: 3 },
  },
  {
    row: 'rvot-old-term',
    why: 'candidate with an older term',
    v: view({ term: 5 }),
    m: msg(CMD.RVot, { from: S2, leader: S2, term: 4 }),
    reply: { cmd: CMD.RJC, result: RESULT.TermOutdated, term: 5 },
  },
  {
    row: 'rvot-startup-quiet',
    why: 'no new vote within two timeouts of a restart (a vote before it is forgotten)',
    v: view(),
    m: msg(CMD.RVot, { reason: REASON.Admin }),
    e: { startedAt: NOW - 1_999 },
    reply: null,
    next: { votedFor: undefined, inElection: false },
  },
  {
    row: 'rvot-guard-withhold',
    why: 'the PostgreSQL guard withholds a vote that would be granted: no reply',
    v: held(-3_000),
    m: msg(CMD.RVot, { from: S2, leader: S2, term: 4, reason: REASON.TicketLost }),
    e: { guard: { allow: false, reason: 'behind' } },
    reply: null,
    next: { term: 3, votedFor: undefined, inElection: false },
  },
  {
    row: 'rvot-new-term',
    why: 'after the lease expired, a newer term gets our vote and the old holder is forgotten',
    v: held(-3_000),
    m: msg(CMD.RVot, { from: S2, leader: S2, term: 4, reason: REASON.TicketLost }),
    e: { guard: { allow: true, reason: 'fine' } },
    reply: { cmd: CMD.VtFr, request: CMD.RVot, leader: S2, term: 4 },
    next: { term: 4, votedFor: S2, votedTerm: 4, inElection: true, leader: undefined },
  },
  {
    row: 'rvot-first-vote',
    why: 'grant: same term, first request gets the vote',
    v: view(),
    m: msg(CMD.RVot, { reason: REASON.Admin }),
    reply: { cmd: CMD.VtFr, request: CMD.RVot, leader: S1, term: 0 },
    next: { votedFor: S1, votedTerm: 0, inElection: true },
  },
  {
    row: 'rvot-already-voted',
    why: 'one vote per term: a second candidate is told whom we voted for',
    v: view({ votedFor: S1, votedTerm: 0, inElection: true }),
    m: msg(CMD.RVot, { from: S2, leader: S2, reason: REASON.Admin }),
    reply: { cmd: CMD.VtFr, leader: S1, term: 0 },
    next: { votedFor: S1 },
  },
  {
    row: 'hrtb-outdated',
    why: 'heartbeat from an older term by a non-leader',
    v: held(),
    m: msg(CMD.HrtB, { from: S2, leader: S2, term: 2, validMs: 11_000 }),
    reply: { cmd: CMD.RJC, result: RESULT.TermOutdated, leader: S1, term: 3 },
    next: { leader: S1 },
  },
  {
    row: 'hrtb-follow',
    why: 'heartbeat: follow, lease from the message, ack with its term and leader',
    v: view({ votedFor: S1, votedTerm: 0, inElection: true, electionSince: NOW }),
    m: msg(CMD.HrtB, { validMs: 11_000 }),
    reply: { cmd: CMD.Ack, request: CMD.HrtB, leader: S1, term: 0 },
    next: { state: 'Fllw', leader: S1, expiresAt: NOW + 11_000, inElection: false },
  },
  {
    row: 'upde-owned-valid',
    why: 'update from a site other than the valid holder',
    v: held(),
    m: msg(CMD.UpdE, { from: S2, leader: S2, term: 3, validMs: 11_000 }),
    reply: { cmd: CMD.RJC, result: RESULT.TermStillValid },
  },
  {
    row: 'upde-owned-other',
    why: 'update from another site without a heartbeat after the lease ran out',
    v: held(-1_000),
    m: msg(CMD.UpdE, { from: S2, leader: S2, term: 3, validMs: 11_000 }),
    reply: { cmd: CMD.RJC, result: RESULT.TermOutdated },
  },
  {
    row: 'upde-follow',
    why: 'update from the holder: new lease, ack with request=UpdE',
    v: held(2_000),
    m: msg(CMD.UpdE, { term: 3, validMs: 11_000 }),
    reply: { cmd: CMD.Ack, request: CMD.UpdE, leader: S1, term: 3 },
    next: { expiresAt: NOW + 11_000 },
  },
  {
    row: 'revk-already-revoked',
    why: 'repeated revoke: ack again',
    v: view({ state: 'Init', leader: NO_ONE, term: 3 }),
    m: msg(CMD.Revk, { leader: NO_ONE, term: 3 }),
    reply: { cmd: CMD.Ack, request: CMD.Revk, leader: NO_ONE, term: 3 },
  },
  {
    row: 'revk-foreign-manual',
    why: 'manual ticket revoked by a non-holder: ack anyway, keep the view',
    v: held(0, { expiresAt: Number.POSITIVE_INFINITY }),
    m: msg(CMD.Revk, { from: S2, leader: NO_ONE, term: 3 }),
    e: { manual: true },
    reply: { cmd: CMD.Ack, leader: NO_ONE },
    next: { leader: S1 },
  },
  {
    row: 'revk-foreign',
    why: 'automatic ticket revoked by a non-holder: ignored',
    v: held(),
    m: msg(CMD.Revk, { from: S2, leader: NO_ONE, term: 3 }),
    reply: null,
    next: { leader: S1, state: 'Fllw' },
  },
  {
    row: 'revk-follow',
    why: 'holder revokes: nobody holds it, term remembered',
    v: held(),
    m: msg(CMD.Revk, { leader: NO_ONE, term: 3, reason: REASON.Admin }),
    reply: { cmd: CMD.Ack, request: CMD.Revk, leader: NO_ONE, term: 3 },
    next: { state: 'Init', leader: NO_ONE, lastValidTerm: 3, expiresAt: undefined },
  },
  {
    row: 'midx-we-are-newer',
    why: 'a restarted site with a stale view learns ours',
    v: view({ state: 'Fllw', leader: S2, term: 1, expiresAt: NOW + 10_000 }),
    m: msg(CMD.MIdx, { leader: S1, term: 0 }),
    reply: { cmd: CMD.MIdx, request: CMD.MIdx, leader: S2, term: 1 },
  },
  {
    row: 'midx-manual-holder',
    why: 'after our restart, learn the holder of a manual ticket (no lease on the wire)',
    v: view(),
    m: msg(CMD.MIdx, { leader: S1, term: 0, validMs: 0 }),
    e: { manual: true },
    reply: null,
    next: { leader: S1, state: 'Fllw', expiresAt: Number.POSITIVE_INFINITY },
  },
  {
    row: 'midx-nothing-new',
    why: 'same term, no lease: nothing to learn',
    v: view(),
    m: msg(CMD.MIdx, { leader: NO_ONE, term: 0, validMs: 0 }),
    reply: null,
    next: { leader: undefined },
  },
  {
    row: 'midx-adopt',
    why: 'after our restart, adopt the holder with at most one expire period of lease',
    v: view(),
    m: msg(CMD.MIdx, { leader: S1, term: 2, validMs: 60_000 }),
    reply: null,
    next: { leader: S1, term: 2, state: 'Fllw', expiresAt: NOW + EXPIRE },
  },
  {
    row: 'vtfr-stepdown',
    why: 'the holder announces nobody: forget it',
    v: held(),
    m: msg(CMD.VtFr, { leader: NO_ONE, term: 3, reason: REASON.LocalFail }),
    reply: null,
    next: { leader: undefined, state: 'Init' },
  },
  {
    row: 'vtfr-ignore',
    why: 'other votes are for the candidate',
    v: view(),
    m: msg(CMD.VtFr, { from: S2, leader: S1 }),
    reply: null,
  },
  {
    row: 'ack-ignore',
    why: 'we never lead',
    v: held(),
    m: msg(CMD.Ack, { term: 3 }),
    reply: null,
  },
  {
    row: 'rjc-ignore',
    why: 'we never lead or campaign',
    v: held(),
    m: msg(CMD.RJC, { term: 3 }),
    reply: null,
  },
];

describe('vote table', () => {
  it('is well formed: unique ids, a comment per row, one catch-all per phase (checkTable)', () => {
    expect(checkTable(voteTable)).toEqual([]);
  });

  it('every message row has a case (unknown-cmd below) and every case names a row', () => {
    const messageRows = voteTable.rows.filter((r) => r.phase === 'message').map((r) => r.id);
    expect(new Set([...cases.map((c) => c.row), 'unknown-cmd'])).toEqual(new Set(messageRows));
  });

  it('the generated docs (docs/tables.md) list every row', () => {
    expect(tablesDocs()).toContain(tableMarkdown(voteTable));
  });

  for (const c of cases) {
    it(`${c.row}: ${c.why}`, () => {
      const d = decide(c.v, c.m, env(c.e));
      expect(d.row).toBe(c.row);
      expect(d.reason).toMatch(/\S/);
      if (c.reply === null) expect(d.reply).toBeUndefined();
      else expect(d.reply).toMatchObject(c.reply);
      if (c.next) expect(d.view).toMatchObject(c.next);
    });
  }

  it('the guard verdict computed before the call is the one the reason quotes', () => {
    const d = decide(
      held(-3_000),
      msg(CMD.RVot, { from: S2, leader: S2, term: 4, reason: REASON.TicketLost }),
      env({ guard: { allow: false, reason: 'node-b is 4096 bytes behind' } }),
    );
    expect(d.row).toBe('rvot-guard-withhold');
    expect(d.reason).toContain('node-b is 4096 bytes behind');
  });

  it('a refusing guard verdict does not stop a row that would not grant the vote anyway', () => {
    const d = decide(
      view({ term: 5 }),
      msg(CMD.RVot, { from: S2, leader: S2, term: 4 }),
      env({ guard: { allow: false, reason: 'behind' } }),
    );
    expect(d.row).toBe('rvot-old-term');
  });

  it('unknown command: ignored, view unchanged', () => {
    const v = held();
    const d = decide(v, msg(0x41424344), env());
    expect(d).toMatchObject({ row: 'unknown-cmd', reply: undefined });
    expect(d.view).toBe(v);
  });

  it('one vote per term over a sequence: site1 then site2 in the same term', () => {
    let v = view({ term: 7 });
    const e = env();
    const a = decide(v, msg(CMD.RVot, { from: S1, leader: S1, term: 7 }), e);
    v = a.view;
    const b = decide(v, msg(CMD.RVot, { from: S2, leader: S2, term: 7 }), e);
    expect(a.reply?.leader).toBe(S1);
    expect(b.reply?.leader).toBe(S1);
    // a newer term frees the vote (no lease is held)
    const c = decide(b.view, msg(CMD.RVot, { from: S2, leader: S2, term: 8 }), e);
    expect(c.reply).toMatchObject({ cmd: CMD.VtFr, leader: S2, term: 8 });
  });
});

describe('timer rows', () => {
  const tenv = { now: NOW, manual: false, timeoutMs: 1000, acquireAfterMs: 2000, name: () => 'site1' };
  it('lease-lost: after expiry plus acquire-after, the holder is forgotten', () => {
    const v = held(-2_000);
    const d = tick(v, tenv);
    expect(d?.row).toBe('lease-lost');
    expect(d?.view).toMatchObject({ state: 'Init', leader: undefined, lastValidTerm: 3 });
    expect(tick(held(-1_999), tenv)).toBeUndefined();
    expect(nextDeadline(held(-1_999), tenv)).toBe(NOW + 1);
  });
  it('manual tickets never expire', () => {
    expect(tick(held(-100_000), { ...tenv, manual: true })).toBeUndefined();
  });
  it('election-over: a stuck election ends after two timeouts', () => {
    const v = view({ inElection: true, electionSince: NOW - 2000 });
    expect(tick(v, tenv)?.row).toBe('election-over');
    expect(tick(v, tenv)?.view.inElection).toBe(false);
  });
  it('timer-nothing-due: nothing changes, tick() returns nothing', () => {
    const v = view({ inElection: true, electionSince: NOW - 1999 });
    expect(decideBy(voteTable, { phase: 'timer', view: v, env: tenv }).row).toBe('timer-nothing-due');
    expect(tick(v, tenv)).toBeUndefined();
  });
  it('the timer rows are exactly the three walked above', () => {
    expect(voteTable.rows.filter((r) => r.phase === 'timer').map((r) => r.id)).toEqual([
      'lease-lost',
      'election-over',
      'timer-nothing-due',
    ]);
  });
});
