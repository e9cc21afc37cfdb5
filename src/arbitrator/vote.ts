/**
 * The arbitrator's decision core: one pure function from (ticket view, incoming message) to
 * (next view, reply, reason), written as a table of rows walked top to bottom; the first row
 * whose command and condition match decides. It follows boothd's Raft-like rules for a member
 * that never becomes candidate or leader: one vote per term, no vote while a holder's lease is
 * valid, heartbeats/updates/revokes followed and acked with the exact term and leader.
 * Times are milliseconds on the caller's clock; the codec converts term_valid_for.
 */
import { type DecisionTable, decideBy, type TableRow } from '../decisions/table.js';
import { CMD, codeName, NO_ONE, REASON, RESULT } from './wire.js';

export type TicketState = 'Init' | 'Fllw';

export interface TicketView {
  state: TicketState;
  /** undefined: not known (booth prints NONE); NO_ONE: explicitly nobody (prints none); else a site id. */
  leader: number | undefined;
  term: number;
  /** Lease end (ms); Infinity for a granted manual ticket; undefined when no lease. */
  expiresAt: number | undefined;
  /** Whom this box voted for in `votedTerm`. */
  votedFor: number | undefined;
  votedTerm: number | undefined;
  inElection: boolean;
  electionSince: number | undefined;
  /** Term saved at the last revoke or loss; non-Stat messages with an older term are ignored. */
  lastValidTerm: number;
  /** When leader/term/expiry last changed (ms), undefined before the first change. */
  lastChangeAt: number | undefined;
}

export interface Incoming {
  cmd: number;
  from: number;
  reason: number;
  leader: number;
  term: number;
  /** term_valid_for converted to milliseconds. */
  validMs: number;
}

export interface VoteGuardVerdict {
  allow: boolean;
  reason: string;
}

export interface DecideEnv {
  now: number;
  manual: boolean;
  expireMs: number;
  timeoutMs: number;
  acquireAfterMs: number;
  /** Printable name of a site id (its address), for reasons. */
  name(id: number | undefined): string;
  /**
   * When this arbitrator (re)started (ms, same clock as now). For two timeouts after that it gives
   * no new vote: it keeps no state on disk, so a vote given just before a restart is forgotten and
   * a second one in the same term could elect a second holder. Undefined: no quiet period.
   */
  startedAt?: number;
  /**
   * The PostgreSQL-aware guard's verdict on the sender, computed by the caller before the call
   * (once, with one clock reading) for a vote request on a guarded ticket; absent otherwise. The
   * table consults it only when a vote would be granted.
   */
  guard?: VoteGuardVerdict;
}

export interface Reply {
  cmd: number;
  request: number;
  result: number;
  leader: number;
  term: number;
}

export interface Decision {
  row: string;
  view: TicketView;
  reply: Reply | undefined;
  /** One sentence: what was decided and why. */
  reason: string;
  /** Kind for the events log; undefined for routine rows not worth an event. */
  event: string | undefined;
}

export function initialView(): TicketView {
  return {
    state: 'Init',
    leader: undefined,
    term: 0,
    expiresAt: undefined,
    votedFor: undefined,
    votedTerm: undefined,
    inElection: false,
    electionSince: undefined,
    lastValidTerm: 0,
    lastChangeAt: undefined,
  };
}

export function isSite(leader: number | undefined): leader is number {
  return leader !== undefined && leader !== NO_ONE;
}

/** The current holder's lease still runs. */
export function leaseValid(v: TicketView, now: number): boolean {
  return isSite(v.leader) && v.expiresAt !== undefined && v.expiresAt > now;
}

/** Remaining lease in ms for the wire (0 for none and for manual tickets, as boothd sends). */
export function remainingMs(v: TicketView, now: number): number {
  if (v.expiresAt === undefined || v.expiresAt === Number.POSITIVE_INFINITY) return 0;
  return Math.max(0, v.expiresAt - now);
}

function reply(cmd: number, m: Incoming, v: TicketView, over: Partial<Reply> = {}): Reply {
  return {
    cmd,
    request: m.cmd,
    result: RESULT.OK,
    leader: v.leader === undefined ? NO_ONE : v.leader,
    term: v.term,
    ...over,
  };
}

function changed(v: TicketView, next: TicketView, now: number): TicketView {
  const same = v.leader === next.leader && v.term === next.term && v.state === next.state;
  return same ? next : { ...next, lastChangeAt: now };
}

/** Follow a heartbeat or update from the leader it names. */
function follow(v: TicketView, m: Incoming, e: DecideEnv): TicketView {
  const termChanged = m.term !== v.term;
  return changed(
    v,
    {
      ...v,
      state: 'Fllw',
      term: m.term,
      leader: m.leader,
      expiresAt: e.manual ? Number.POSITIVE_INFINITY : e.now + m.validMs,
      inElection: false,
      electionSince: undefined,
      votedFor: termChanged ? undefined : v.votedFor,
      votedTerm: termChanged ? undefined : v.votedTerm,
    },
    e.now,
  );
}

function voteFor(v: TicketView, _m: Incoming, e: DecideEnv, candidate: number, newTerm: number): TicketView {
  const expired = !leaseValid(v, e.now) && !(e.manual && isSite(v.leader));
  return changed(
    v,
    {
      ...v,
      term: newTerm,
      votedFor: candidate,
      votedTerm: newTerm,
      inElection: true,
      electionSince: e.now,
      leader: expired && v.leader !== NO_ONE ? undefined : v.leader,
    },
    e.now,
  );
}

/** What a row does: the next view, the reply to send (none: silence) and the events-log kind. */
export interface VoteOutcome {
  view: TicketView;
  reply: Reply | undefined;
  /** Kind for the events log; undefined for routine rows not worth an event. */
  event: string | undefined;
}

/**
 * The snapshot the table decides on: a message (phase `message`) or a turn of the ticket timer
 * (phase `timer`). Everything a row looks at is in it: the view, the message, the clock, the
 * ticket's settings and the PostgreSQL guard's verdict (computed before the call).
 */
export type VoteSnapshot =
  | { readonly phase: 'message'; readonly view: TicketView; readonly msg: Incoming; readonly env: DecideEnv }
  | { readonly phase: 'timer'; readonly view: TicketView; readonly env: TickEnv };

type MessageSnapshot = Extract<VoteSnapshot, { phase: 'message' }>;
type TimerSnapshot = Extract<VoteSnapshot, { phase: 'timer' }>;

/** A message row as written: its command ("*" for any non-Stat command) and functions of (view, message, env). */
interface MessageRow {
  id: string;
  comment: string;
  cmd: number | '*';
  when?: (v: TicketView, m: Incoming, e: DecideEnv) => boolean;
  outcome: (v: TicketView, m: Incoming, e: DecideEnv) => VoteOutcome;
  reason: (v: TicketView, m: Incoming, e: DecideEnv) => string;
}

const cmdMatches = (cmd: number | '*', m: Incoming) => (cmd === '*' ? m.cmd !== CMD.Stat : m.cmd === cmd);
const onMessage = (s: VoteSnapshot): s is MessageSnapshot => s.phase === 'message';

function messageRow(r: MessageRow): TableRow<VoteSnapshot, VoteOutcome> {
  const { cmd, when } = r;
  const label = cmd === '*' ? 'Any command but Stat' : codeName(cmd);
  return {
    id: r.id,
    phase: 'message',
    comment: `${label}: ${r.comment}`,
    when: (s) => onMessage(s) && cmdMatches(cmd, s.msg) && (when === undefined || when(s.view, s.msg, s.env)),
    outcome: (s) => r.outcome(s.view, (s as MessageSnapshot).msg, (s as MessageSnapshot).env),
    reason: (s) => r.reason(s.view, (s as MessageSnapshot).msg, (s as MessageSnapshot).env),
  };
}

const keep = (v: TicketView, event?: string): VoteOutcome => ({ view: v, reply: undefined, event });
const answer = (v: TicketView, r: Reply, event?: string): VoteOutcome => ({ view: v, reply: r, event });

/** No vote was given in the ticket's current term. */
const noVoteThisTerm = (v: TicketView) => v.votedTerm !== v.term || v.votedFor === undefined;
/** A vote request that the vote rows would grant once nothing (lease, term, quiet period, guard) stands against it. */
const wouldGrant = (v: TicketView, m: Incoming) => m.term > v.term || noVoteThisTerm(v);
/** Following the sender's message changes the holder or the term. */
const followChanges = (v: TicketView, m: Incoming) => m.leader !== v.leader || m.term !== v.term;

/**
 * The vote/follow rows. Rows are checked in order; the first match decides. Every row has a
 * test in test/unit/arbitrator/vote.test.ts.
 */
const messageRows: readonly MessageRow[] = [
  {
    id: 'stale-term',
    comment:
      'a message from an older term than the last revoke/loss is a straggler: ignore it (boothd lastValid rule).',
    cmd: '*',
    when: (v, m) => m.term < v.lastValidTerm,
    outcome: (v) => keep(v),
    reason: (v, m, e) =>
      `ignored ${codeName(m.cmd)} from ${e.name(m.from)}: term ${m.term} predates the last revoke/loss (term ${v.lastValidTerm})`,
  },
  // ---- Stat: a member (re)starting asks for everyone's view ----
  {
    id: 'stat-in-election',
    comment: 'during an election a member does not answer status queries (boothd does the same).',
    cmd: CMD.Stat,
    when: (v) => v.inElection,
    outcome: (v) => keep(v),
    reason: (_v, m, e) => `did not answer the status query of ${e.name(m.from)}: an election is under way`,
  },
  {
    id: 'stat-answer',
    comment: 'otherwise answer with our view: MIdx, request=Stat, our leader/term/remaining lease.',
    cmd: CMD.Stat,
    outcome: (v, m) => answer(v, reply(CMD.MIdx, m, v)),
    reason: (v, m, e) =>
      `answered the status query of ${e.name(m.from)} with leader ${e.name(v.leader)}, term ${v.term}`,
  },
  // ---- RVot: a site asks for our vote ----
  {
    id: 'rvot-lost-but-revoked',
    comment: '"ticket lost" election for a ticket that was revoked: the candidate is outdated (RJC!/Outd).',
    cmd: CMD.RVot,
    when: (v, m) => m.reason === REASON.TicketLost && v.state === 'Init' && v.leader === NO_ONE,
    outcome: (v, m) => answer(v, reply(CMD.RJC, m, v, { result: RESULT.YouOutdated }), 'ticket.vote-refused'),
    reason: (_v, m, e) => `refused the vote to ${e.name(m.from)}: it claims the ticket was lost, but it was revoked`,
  },
  {
    id: 'rvot-lost-still-valid',
    comment:
      '"ticket lost" election while we still follow a holder with at least a third of the lease left: the ticket was not lost (RJC!/TVld).',
    cmd: CMD.RVot,
    when: (v, m, e) =>
      m.reason === REASON.TicketLost &&
      v.state === 'Fllw' &&
      (e.manual || remainingMs(v, e.now) >= e.expireMs / 3) &&
      leaseValid(v, e.now),
    outcome: (v, m) => answer(v, reply(CMD.RJC, m, v, { result: RESULT.TermStillValid }), 'ticket.vote-refused'),
    reason: (v, m, e) =>
      `refused the vote to ${e.name(m.from)}: it says the ticket was lost, but ${e.name(v.leader)} holds it for ${Math.round(remainingMs(v, e.now) / 1000)} s more`,
  },
  {
    id: 'rvot-lease-valid',
    comment: 'someone else holds a valid lease: no vote unless the holder itself stepped down (RJC!/TVld).',
    cmd: CMD.RVot,
    when: (v, m, e) =>
      m.from !== v.leader &&
      m.reason !== REASON.StepDown &&
      (leaseValid(v, e.now) || (e.manual && isSite(v.leader) && v.state === 'Fllw')),
    outcome: (v, m) => answer(v, reply(CMD.RJC, m, v, { result: RESULT.TermStillValid }), 'ticket.vote-refused'),
    reason: (v, m, e) =>
      `refused the vote to ${e.name(m.from)}: ${e.name(v.leader)} still holds a valid lease (term ${v.term})`,
  },
  {
    id: 'rvot-old-term',
    comment: 'a candidate from an older term is outdated (RJC!/TOdt).',
    cmd: CMD.RVot,
    when: (v, m) => m.term < v.term,
    outcome: (v, m) => answer(v, reply(CMD.RJC, m, v, { result: RESULT.TermOutdated }), 'ticket.vote-refused'),
    reason: (v, m, e) => `refused the vote to ${e.name(m.from)}: its term ${m.term} is older than ours (${v.term})`,
  },
  {
    id: 'rvot-startup-quiet',
    comment:
      'just (re)started and a vote would be given: we may have voted in this term before the restart (no state on disk), so stay silent for two timeouts; a second vote could elect two holders.',
    cmd: CMD.RVot,
    when: (v, m, e) => e.startedAt !== undefined && e.now < e.startedAt + 2 * e.timeoutMs && wouldGrant(v, m),
    outcome: (v) => keep(v, 'ticket.vote-withheld'),
    reason: (_v, m, e) =>
      `did not vote for ${e.name(m.from)} (term ${m.term}): restarted less than two timeouts ago, a vote given before the restart may still count`,
  },
  {
    id: 'rvot-guard-withhold',
    comment:
      "a vote would be given, but the PostgreSQL guard (off by default) says the candidate's database is provably behind: no reply at all; the reason is logged.",
    cmd: CMD.RVot,
    when: (v, m, e) => wouldGrant(v, m) && e.guard !== undefined && !e.guard.allow,
    outcome: (v) => keep(v, 'ticket.vote-withheld'),
    reason: (_v, m, e) => `withheld the vote from ${e.name(m.from)} (term ${m.term}): ${e.guard?.reason}`,
  },
  {
    id: 'rvot-new-term',
    comment:
      "a newer term: adopt it and give this term's one vote to the candidate (VtFr); an expired holder is forgotten.",
    cmd: CMD.RVot,
    when: (v, m) => m.term > v.term,
    outcome: (v, m, e) => {
      const next = voteFor(v, m, e, m.from, m.term);
      return answer(next, reply(CMD.VtFr, m, next, { leader: m.from }), 'ticket.vote');
    },
    reason: (_v, m, e) => `voted for ${e.name(m.from)} in new term ${m.term} (no valid lease held by anyone else)`,
  },
  {
    id: 'rvot-first-vote',
    comment: 'same term, no vote given yet in this term: vote for the candidate (VtFr).',
    cmd: CMD.RVot,
    when: (v) => noVoteThisTerm(v),
    outcome: (v, m, e) => {
      const next = voteFor(v, m, e, m.from, v.term);
      return answer(next, reply(CMD.VtFr, m, next, { leader: m.from }), 'ticket.vote');
    },
    reason: (v, m, e) =>
      `voted for ${e.name(m.from)} in term ${v.term} (first request this term, no valid lease held by anyone else)`,
  },
  {
    id: 'rvot-already-voted',
    comment: 'already voted this term: repeat that vote (one vote per term), whoever asks; a second candidate is told.',
    cmd: CMD.RVot,
    outcome: (v, m) =>
      answer(
        v,
        reply(CMD.VtFr, m, v, { leader: v.votedFor as number }),
        v.votedFor === m.from ? undefined : 'ticket.vote-refused',
      ),
    reason: (v, m, e) =>
      v.votedFor === m.from
        ? `repeated our vote for ${e.name(m.from)} in term ${v.term}`
        : `refused a second vote in term ${v.term} to ${e.name(m.from)}: our vote went to ${e.name(v.votedFor)}`,
  },
  // ---- HrtB: the leader renews ----
  {
    id: 'hrtb-outdated',
    comment: 'a heartbeat from an older term by someone who is not our leader, while a leader is known (RJC!/TOdt).',
    cmd: CMD.HrtB,
    when: (v, m) => m.term < v.term && m.from !== v.leader && isSite(v.leader),
    outcome: (v, m) => answer(v, reply(CMD.RJC, m, v, { result: RESULT.TermOutdated }), 'ticket.reject'),
    reason: (v, m, e) =>
      `rejected a heartbeat from ${e.name(m.from)}: term ${m.term} is older than ours (${v.term}, leader ${e.name(v.leader)})`,
  },
  {
    id: 'hrtb-follow',
    comment:
      'otherwise follow it: leader, term and lease (now + its validity; none for manual tickets) from the message; ack with the same term and leader.',
    cmd: CMD.HrtB,
    outcome: (v, m, e) => {
      const next = follow(v, m, e);
      return answer(
        next,
        reply(CMD.Ack, m, next, { leader: m.leader }),
        followChanges(v, m) ? 'ticket.leader' : undefined,
      );
    },
    reason: (v, m, e) =>
      followChanges(v, m)
        ? `following ${e.name(m.leader)} as holder of term ${m.term} (heartbeat)`
        : `lease of ${e.name(m.leader)} renewed (heartbeat, term ${m.term})`,
  },
  // ---- UpdE: the leader commits a renewal ----
  {
    id: 'upde-owned-valid',
    comment: 'another site holds a valid lease: the update is refused (RJC!/TVld).',
    cmd: CMD.UpdE,
    when: (v, m, e) => isSite(v.leader) && v.leader !== m.from && leaseValid(v, e.now),
    outcome: (v, m) => answer(v, reply(CMD.RJC, m, v, { result: RESULT.TermStillValid }), 'ticket.reject'),
    reason: (v, m, e) => `rejected an update from ${e.name(m.from)}: ${e.name(v.leader)} still holds a valid lease`,
  },
  {
    id: 'upde-owned-other',
    comment: 'owned by another site whose lease ran out, and no heartbeat came from the sender: outdated (RJC!/TOdt).',
    cmd: CMD.UpdE,
    when: (v, m) => isSite(v.leader) && v.leader !== m.from,
    outcome: (v, m) => answer(v, reply(CMD.RJC, m, v, { result: RESULT.TermOutdated }), 'ticket.reject'),
    reason: (v, m, e) =>
      `rejected an update from ${e.name(m.from)}: the ticket belongs to ${e.name(v.leader)} and no heartbeat came first`,
  },
  {
    id: 'upde-follow',
    comment: 'from our leader (or nobody known): follow it and ack, as hrtb-follow.',
    cmd: CMD.UpdE,
    outcome: (v, m, e) => {
      const next = follow(v, m, e);
      return answer(
        next,
        reply(CMD.Ack, m, next, { leader: m.leader }),
        followChanges(v, m) ? 'ticket.leader' : undefined,
      );
    },
    reason: (_v, m, e) => `lease of ${e.name(m.leader)} committed for term ${m.term} (update)`,
  },
  // ---- Revk: the leader gives the ticket up ----
  {
    id: 'revk-already-revoked',
    comment: 'already revoked: our ack was probably lost, ack again.',
    cmd: CMD.Revk,
    when: (v) => v.state === 'Init' && v.leader === NO_ONE,
    outcome: (v, m) => answer(v, reply(CMD.Ack, m, v, { leader: NO_ONE })),
    reason: (_v, m, e) => `acked a repeated revoke from ${e.name(m.from)}`,
  },
  {
    id: 'revk-foreign-manual',
    comment: 'a revoke of a manual ticket from a site that is not its holder: boothd acks it anyway; the view is kept.',
    cmd: CMD.Revk,
    when: (v, m, e) => e.manual && m.from !== v.leader,
    outcome: (v, m) => answer(v, reply(CMD.Ack, m, v, { leader: NO_ONE })),
    reason: (v, m, e) =>
      `acked a revoke of a manual ticket from ${e.name(m.from)}, which is not its holder (${e.name(v.leader)})`,
  },
  {
    id: 'revk-foreign',
    comment: 'a revoke from a site that is not the holder: ignored.',
    cmd: CMD.Revk,
    when: (v, m) => m.from !== v.leader,
    outcome: (v) => keep(v, 'ticket.ignore'),
    reason: (v, m, e) => `ignored a revoke from ${e.name(m.from)}: the holder is ${e.name(v.leader)}`,
  },
  {
    id: 'revk-follow',
    comment: 'from the holder: nobody holds the ticket now; remember the term (older messages become stragglers); ack.',
    cmd: CMD.Revk,
    outcome: (v, m, e) => {
      const next = changed(
        v,
        {
          ...v,
          state: 'Init',
          leader: NO_ONE,
          expiresAt: undefined,
          lastValidTerm: v.term,
          inElection: false,
          electionSince: undefined,
        },
        e.now,
      );
      return answer(next, reply(CMD.Ack, m, next, { leader: NO_ONE }), 'ticket.revoke');
    },
    reason: (v, m, e) => `ticket revoked by its holder ${e.name(m.from)} (term ${v.term})`,
  },
  // ---- MIdx: someone's view, answering a status query ----
  {
    id: 'midx-we-are-newer',
    comment: 'our term is newer: tell the sender our view.',
    cmd: CMD.MIdx,
    when: (v, m) => v.term > m.term,
    outcome: (v, m) => answer(v, reply(CMD.MIdx, m, v)),
    reason: (v, m, e) =>
      `told ${e.name(m.from)} our newer view (term ${v.term} > ${m.term}, leader ${e.name(v.leader)})`,
  },
  {
    id: 'midx-manual-holder',
    comment: 'a manual ticket carries no lease on the wire: learn its holder when we know none.',
    cmd: CMD.MIdx,
    when: (v, m, e) => e.manual && isSite(m.leader) && !isSite(v.leader) && v.leader !== NO_ONE,
    outcome: (v, m, e) =>
      keep(
        changed(v, { ...v, state: 'Fllw', leader: m.leader, term: m.term, expiresAt: Number.POSITIVE_INFINITY }, e.now),
        'ticket.leader',
      ),
    reason: (_v, m, e) =>
      `learned from ${e.name(m.from)} that manual ticket holder is ${e.name(m.leader)} (term ${m.term})`,
  },
  {
    id: 'midx-nothing-new',
    comment: 'nothing newer and no lease in it: nothing to learn.',
    cmd: CMD.MIdx,
    when: (v, m) => v.term >= m.term && m.validMs === 0,
    outcome: (v) => keep(v),
    reason: () => 'status answer carried nothing newer',
  },
  {
    id: 'midx-adopt',
    comment: "learn the sender's view: holder, lease (at most one expire period) and the higher term.",
    cmd: CMD.MIdx,
    outcome: (v, m, e) => {
      const site = isSite(m.leader);
      const next = changed(
        v,
        {
          ...v,
          state: site ? 'Fllw' : 'Init',
          leader: m.leader,
          term: Math.max(v.term, m.term),
          expiresAt: site ? (e.manual ? Number.POSITIVE_INFINITY : e.now + Math.min(e.expireMs, m.validMs)) : undefined,
        },
        e.now,
      );
      return keep(next, next.leader !== v.leader || next.term !== v.term ? 'ticket.leader' : undefined);
    },
    reason: (v, m, e) =>
      `learned from ${e.name(m.from)}: holder ${e.name(m.leader)}, term ${Math.max(v.term, m.term)}, ${Math.round(Math.min(e.expireMs, m.validMs) / 1000)} s of lease left`,
  },
  // ---- VtFr, Ack., RJC!: answers to a leader or candidate, which we never are ----
  {
    id: 'vtfr-stepdown',
    comment: 'our holder announces "nobody" (it stepped down after a local failure): forget it.',
    cmd: CMD.VtFr,
    when: (v, m) => m.leader === NO_ONE && isSite(v.leader) && m.from === v.leader,
    outcome: (v, _m, e) =>
      keep(
        changed(v, { ...v, state: 'Init', leader: undefined, expiresAt: undefined, lastValidTerm: v.term }, e.now),
        'ticket.stepdown',
      ),
    reason: (v, m, e) => `holder ${e.name(m.from)} stepped down (term ${v.term}); no holder known now`,
  },
  {
    id: 'vtfr-ignore',
    comment: "someone else's vote: it concerns the candidate only.",
    cmd: CMD.VtFr,
    outcome: (v) => keep(v),
    reason: (_v, m, e) => `ignored a vote from ${e.name(m.from)}: we never campaign`,
  },
  {
    id: 'ack-ignore',
    comment: 'acks are for leaders; we never lead.',
    cmd: CMD.Ack,
    outcome: (v) => keep(v),
    reason: (_v, m, e) => `ignored an ack from ${e.name(m.from)}: we never lead`,
  },
  {
    id: 'rjc-ignore',
    comment: 'rejections are for leaders and candidates; we are neither.',
    cmd: CMD.RJC,
    outcome: (v) => keep(v),
    reason: (_v, m, e) => `ignored a rejection from ${e.name(m.from)}: we never lead or campaign`,
  },
];

const tv = (s: VoteSnapshot) => (s as TimerSnapshot).env;
/** The automatic ticket's lease plus acquire-after passed without renewal. */
const leaseLost = (v: TicketView, e: TickEnv) =>
  !e.manual &&
  v.state === 'Fllw' &&
  isSite(v.leader) &&
  v.expiresAt !== undefined &&
  e.now >= v.expiresAt + e.acquireAfterMs;
/** No heartbeat followed our vote within two timeouts. */
const electionStuck = (v: TicketView, e: TickEnv) =>
  v.inElection && v.electionSince !== undefined && e.now >= v.electionSince + 2 * e.timeoutMs;

/** The vote table: the message rows (phase `message`) and the timer rows (phase `timer`). */
export const voteTable: DecisionTable<VoteSnapshot, VoteOutcome> = {
  name: 'Booth ticket votes',
  summary:
    "The arbitrator's answer to each booth message about a ticket, and what its ticket timer does (src/arbitrator/arbitrator.ts builds the snapshot: the ticket's view, the message, the clock, the ticket's settings and the PostgreSQL guard's verdict, computed before the call). It follows boothd's Raft-like rules for a member that never becomes candidate or leader: one vote per term, no vote while a holder's lease is valid, heartbeats, updates and revokes followed and acked with the exact term and leader.",
  phases: ['message', 'timer'],
  phaseOf: (s) => s.phase,
  rows: [
    ...messageRows.map(messageRow),
    {
      id: 'unknown-cmd',
      phase: 'message',
      comment: 'A command that is not a member command (or that no row takes): ignored, the view is kept.',
      outcome: (s) => keep(s.view),
      reason: (s) => {
        const { msg, env } = s as MessageSnapshot;
        return `ignored unknown command ${codeName(msg.cmd)} from ${env.name(msg.from)}`;
      },
    },
    {
      id: 'lease-lost',
      phase: 'timer',
      comment:
        'Timer: the lease of an automatic ticket and acquire-after passed without renewal; the holder is forgotten and the ticket is free for a new election (term saved).',
      when: (s) => leaseLost(s.view, tv(s)),
      outcome: (s) =>
        keep(
          { ...s.view, state: 'Init', leader: undefined, lastValidTerm: s.view.term, lastChangeAt: tv(s).now },
          'ticket.lost',
        ),
      reason: (s) =>
        `lease of ${tv(s).name(s.view.leader)} (term ${s.view.term}) expired without renewal; the ticket is free for a new election`,
    },
    {
      id: 'election-over',
      phase: 'timer',
      comment:
        'Timer: no heartbeat followed our vote within two timeouts; the election is over and status queries are answered again.',
      when: (s) => electionStuck(s.view, tv(s)),
      outcome: (s) => keep({ ...s.view, inElection: false, electionSince: undefined }),
      reason: (s) => `no heartbeat followed the election in term ${s.view.term}; answering status queries again`,
    },
    {
      id: 'timer-nothing-due',
      phase: 'timer',
      comment: 'Timer: nothing is due; the view is kept.',
      outcome: (s) => keep(s.view),
      reason: () => 'nothing due',
    },
  ],
};

/** Runs the table on a message. Commands without a row (not member commands) are ignored with a reason. */
export function decide(view: TicketView, msg: Incoming, env: DecideEnv): Decision {
  const d = decideBy(voteTable, { phase: 'message', view, msg, env });
  return { row: d.row, ...d.outcome, reason: d.reason };
}

export interface TickEnv {
  now: number;
  manual: boolean;
  timeoutMs: number;
  acquireAfterMs: number;
  name(id: number | undefined): string;
}

/**
 * The timer rows: the holder's lease ran out (plus acquire-after) without renewal, or a stuck
 * election ends. Returns undefined when nothing changes.
 */
export function tick(v: TicketView, e: TickEnv): Omit<Decision, 'reply'> | undefined {
  const d = decideBy(voteTable, { phase: 'timer', view: v, env: e });
  if (d.row === 'timer-nothing-due') return undefined;
  return { row: d.row, view: d.outcome.view, reason: d.reason, event: d.outcome.event };
}

/** When the next tick() could change something (ms), or undefined. */
export function nextDeadline(v: TicketView, e: { manual: boolean; timeoutMs: number; acquireAfterMs: number }) {
  const times: number[] = [];
  if (!e.manual && v.state === 'Fllw' && isSite(v.leader) && v.expiresAt !== undefined && Number.isFinite(v.expiresAt))
    times.push(v.expiresAt + e.acquireAfterMs);
  if (v.inElection && v.electionSince !== undefined) times.push(v.electionSince + 2 * e.timeoutMs);
  return times.length ? Math.min(...times) : undefined;
}
