/**
 * The arbitrator's decision core: one pure function from (ticket view, incoming message) to
 * (next view, reply, reason), written as a table of rows walked top to bottom; the first row
 * whose command and condition match decides. It follows boothd's Raft-like rules for a member
 * that never becomes candidate or leader: one vote per term, no vote while a holder's lease is
 * valid, heartbeats/updates/revokes followed and acked with the exact term and leader.
 * Times are milliseconds on the caller's clock; the codec converts term_valid_for.
 */
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
  /** Optional PostgreSQL-aware guard, consulted only when a vote would be granted. */
  guard?: (candidate: number) => VoteGuardVerdict;
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

interface Row {
  id: string;
  /** Command this row applies to; "*" for any non-Stat command. */
  cmd: number | '*';
  when(v: TicketView, m: Incoming, e: DecideEnv): boolean;
  act(v: TicketView, m: Incoming, e: DecideEnv): Omit<Decision, 'row'>;
}

const ignore = (v: TicketView, reason: string, event?: string): Omit<Decision, 'row'> => ({
  view: v,
  reply: undefined,
  reason,
  event,
});

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

/**
 * The vote/follow table. Rows are checked in order; the first match decides. Every row has a
 * test in test/unit/arbitrator/vote.test.ts.
 */
export const ROWS: readonly Row[] = [
  {
    // A message from an older term than the last revoke/loss is a straggler: ignore it (boothd's lastValid rule).
    id: 'stale-term',
    cmd: '*',
    when: (v, m) => m.cmd !== CMD.Stat && m.term < v.lastValidTerm,
    act: (v, m, e) =>
      ignore(
        v,
        `ignored ${codeName(m.cmd)} from ${e.name(m.from)}: term ${m.term} predates the last revoke/loss (term ${v.lastValidTerm})`,
      ),
  },
  // ---- Stat: a member (re)starting asks for everyone's view ----
  {
    // During an election a member does not answer status queries (boothd does the same).
    id: 'stat-in-election',
    cmd: CMD.Stat,
    when: (v) => v.inElection,
    act: (v, m, e) => ignore(v, `did not answer the status query of ${e.name(m.from)}: an election is under way`),
  },
  {
    // Otherwise answer with our view: MIdx, request=Stat, our leader/term/remaining lease.
    id: 'stat-answer',
    cmd: CMD.Stat,
    when: () => true,
    act: (v, m, e) => ({
      view: v,
      reply: reply(CMD.MIdx, m, v),
      reason: `answered the status query of ${e.name(m.from)} with leader ${e.name(v.leader)}, term ${v.term}`,
      event: undefined,
    }),
  },
  // ---- RVot: a site asks for our vote ----
  {
    // "Ticket lost" election for a ticket that was revoked: the candidate is outdated.
    id: 'rvot-lost-but-revoked',
    cmd: CMD.RVot,
    when: (v, m) => m.reason === REASON.TicketLost && v.state === 'Init' && v.leader === NO_ONE,
    act: (v, m, e) => ({
      view: v,
      reply: reply(CMD.RJC, m, v, { result: RESULT.YouOutdated }),
      reason: `refused the vote to ${e.name(m.from)}: it claims the ticket was lost, but it was revoked`,
      event: 'ticket.vote-refused',
    }),
  },
  {
    // "Ticket lost" election while we still follow a holder with at least a third of the lease left.
    id: 'rvot-lost-still-valid',
    cmd: CMD.RVot,
    when: (v, m, e) =>
      m.reason === REASON.TicketLost &&
      v.state === 'Fllw' &&
      (e.manual || remainingMs(v, e.now) >= e.expireMs / 3) &&
      leaseValid(v, e.now),
    act: (v, m, e) => ({
      view: v,
      reply: reply(CMD.RJC, m, v, { result: RESULT.TermStillValid }),
      reason: `refused the vote to ${e.name(m.from)}: it says the ticket was lost, but ${e.name(v.leader)} holds it for ${Math.round(remainingMs(v, e.now) / 1000)} s more`,
      event: 'ticket.vote-refused',
    }),
  },
  {
    // Someone else holds a valid lease: no vote unless the holder itself stepped down.
    id: 'rvot-lease-valid',
    cmd: CMD.RVot,
    when: (v, m, e) =>
      m.from !== v.leader &&
      m.reason !== REASON.StepDown &&
      (leaseValid(v, e.now) || (e.manual && isSite(v.leader) && v.state === 'Fllw')),
    act: (v, m, e) => ({
      view: v,
      reply: reply(CMD.RJC, m, v, { result: RESULT.TermStillValid }),
      reason: `refused the vote to ${e.name(m.from)}: ${e.name(v.leader)} still holds a valid lease (term ${v.term})`,
      event: 'ticket.vote-refused',
    }),
  },
  {
    // A candidate from an older term is outdated.
    id: 'rvot-old-term',
    cmd: CMD.RVot,
    when: (v, m) => m.term < v.term,
    act: (v, m, e) => ({
      view: v,
      reply: reply(CMD.RJC, m, v, { result: RESULT.TermOutdated }),
      reason: `refused the vote to ${e.name(m.from)}: its term ${m.term} is older than ours (${v.term})`,
      event: 'ticket.vote-refused',
    }),
  },
  {
    // Just (re)started: we may have voted in this term before the restart; stay silent for two timeouts.
    id: 'rvot-startup-quiet',
    cmd: CMD.RVot,
    when: (v, m, e) =>
      e.startedAt !== undefined &&
      e.now < e.startedAt + 2 * e.timeoutMs &&
      (m.term > v.term || v.votedTerm !== v.term || v.votedFor === undefined),
    act: (v, m, e) =>
      ignore(
        v,
        `did not vote for ${e.name(m.from)} (term ${m.term}): restarted less than two timeouts ago, a vote given before the restart may still count`,
        'ticket.vote-withheld',
      ),
  },
  {
    // The PostgreSQL guard (off by default) withholds a vote we would otherwise grant: no reply at all.
    id: 'rvot-guard-withhold',
    cmd: CMD.RVot,
    when: (v, m, e) => {
      const wouldGrant = m.term > v.term || v.votedTerm !== v.term || v.votedFor === undefined;
      return wouldGrant && e.guard !== undefined && !e.guard(m.from).allow;
    },
    act: (v, m, e) =>
      ignore(
        v,
        `withheld the vote from ${e.name(m.from)} (term ${m.term}): ${(e.guard as NonNullable<DecideEnv['guard']>)(m.from).reason}`,
        'ticket.vote-withheld',
      ),
  },
  {
    // A newer term: adopt it and give this term's one vote to the candidate.
    id: 'rvot-new-term',
    cmd: CMD.RVot,
    when: (v, m) => m.term > v.term,
    act: (v, m, e) => {
      const next = voteFor(v, m, e, m.from, m.term);
      return {
        view: next,
        reply: reply(CMD.VtFr, m, next, { leader: m.from }),
        reason: `voted for ${e.name(m.from)} in new term ${m.term} (no valid lease held by anyone else)`,
        event: 'ticket.vote',
      };
    },
  },
  {
    // Same term, no vote given yet in this term: vote for the candidate.
    id: 'rvot-first-vote',
    cmd: CMD.RVot,
    when: (v) => v.votedTerm !== v.term || v.votedFor === undefined,
    act: (v, m, e) => {
      const next = voteFor(v, m, e, m.from, v.term);
      return {
        view: next,
        reply: reply(CMD.VtFr, m, next, { leader: m.from }),
        reason: `voted for ${e.name(m.from)} in term ${v.term} (first request this term, no valid lease held by anyone else)`,
        event: 'ticket.vote',
      };
    },
  },
  {
    // Already voted this term: repeat that vote (one vote per term), whoever asks.
    id: 'rvot-already-voted',
    cmd: CMD.RVot,
    when: () => true,
    act: (v, m, e) => {
      const again = v.votedFor === m.from;
      return {
        view: v,
        reply: reply(CMD.VtFr, m, v, { leader: v.votedFor as number }),
        reason: again
          ? `repeated our vote for ${e.name(m.from)} in term ${v.term}`
          : `refused a second vote in term ${v.term} to ${e.name(m.from)}: our vote went to ${e.name(v.votedFor)}`,
        event: again ? undefined : 'ticket.vote-refused',
      };
    },
  },
  // ---- HrtB: the leader renews ----
  {
    // A heartbeat from an older term by someone who is not our leader, while a leader is known.
    id: 'hrtb-outdated',
    cmd: CMD.HrtB,
    when: (v, m) => m.term < v.term && m.from !== v.leader && isSite(v.leader),
    act: (v, m, e) => ({
      view: v,
      reply: reply(CMD.RJC, m, v, { result: RESULT.TermOutdated }),
      reason: `rejected a heartbeat from ${e.name(m.from)}: term ${m.term} is older than ours (${v.term}, leader ${e.name(v.leader)})`,
      event: 'ticket.reject',
    }),
  },
  {
    // Otherwise follow it: leader, term and lease from the message; ack with the same term and leader.
    id: 'hrtb-follow',
    cmd: CMD.HrtB,
    when: () => true,
    act: (v, m, e) => {
      const next = follow(v, m, e);
      const isNew = next.leader !== v.leader || next.term !== v.term;
      return {
        view: next,
        reply: reply(CMD.Ack, m, next, { leader: m.leader }),
        reason: isNew
          ? `following ${e.name(m.leader)} as holder of term ${m.term} (heartbeat)`
          : `lease of ${e.name(m.leader)} renewed (heartbeat, term ${m.term})`,
        event: isNew ? 'ticket.leader' : undefined,
      };
    },
  },
  // ---- UpdE: the leader commits a renewal ----
  {
    // Another site holds a valid lease: the update is refused.
    id: 'upde-owned-valid',
    cmd: CMD.UpdE,
    when: (v, m, e) => isSite(v.leader) && v.leader !== m.from && leaseValid(v, e.now),
    act: (v, m, e) => ({
      view: v,
      reply: reply(CMD.RJC, m, v, { result: RESULT.TermStillValid }),
      reason: `rejected an update from ${e.name(m.from)}: ${e.name(v.leader)} still holds a valid lease`,
      event: 'ticket.reject',
    }),
  },
  {
    // Owned by another site whose lease ran out and no heartbeat from the sender: outdated.
    id: 'upde-owned-other',
    cmd: CMD.UpdE,
    when: (v, m) => isSite(v.leader) && v.leader !== m.from,
    act: (v, m, e) => ({
      view: v,
      reply: reply(CMD.RJC, m, v, { result: RESULT.TermOutdated }),
      reason: `rejected an update from ${e.name(m.from)}: the ticket belongs to ${e.name(v.leader)} and no heartbeat came first`,
      event: 'ticket.reject',
    }),
  },
  {
    // From our leader (or nobody known): follow it and ack.
    id: 'upde-follow',
    cmd: CMD.UpdE,
    when: () => true,
    act: (v, m, e) => {
      const next = follow(v, m, e);
      const isNew = next.leader !== v.leader || next.term !== v.term;
      return {
        view: next,
        reply: reply(CMD.Ack, m, next, { leader: m.leader }),
        reason: `lease of ${e.name(m.leader)} committed for term ${m.term} (update)`,
        event: isNew ? 'ticket.leader' : undefined,
      };
    },
  },
  // ---- Revk: the leader gives the ticket up ----
  {
    // Already revoked: our ack was probably lost, ack again.
    id: 'revk-already-revoked',
    cmd: CMD.Revk,
    when: (v) => v.state === 'Init' && v.leader === NO_ONE,
    act: (v, m, e) => ({
      view: v,
      reply: reply(CMD.Ack, m, v, { leader: NO_ONE }),
      reason: `acked a repeated revoke from ${e.name(m.from)}`,
      event: undefined,
    }),
  },
  {
    // A revoke from a site that is not the holder of a manual ticket: boothd acks it anyway.
    id: 'revk-foreign-manual',
    cmd: CMD.Revk,
    when: (v, m, e) => e.manual && m.from !== v.leader,
    act: (v, m, e) => ({
      view: v,
      reply: reply(CMD.Ack, m, v, { leader: NO_ONE }),
      reason: `acked a revoke of a manual ticket from ${e.name(m.from)}, which is not its holder (${e.name(v.leader)})`,
      event: undefined,
    }),
  },
  {
    // A revoke from a site that is not the holder: ignored.
    id: 'revk-foreign',
    cmd: CMD.Revk,
    when: (v, m) => m.from !== v.leader,
    act: (v, m, e) =>
      ignore(v, `ignored a revoke from ${e.name(m.from)}: the holder is ${e.name(v.leader)}`, 'ticket.ignore'),
  },
  {
    // From the holder: nobody holds the ticket now; remember the term; ack.
    id: 'revk-follow',
    cmd: CMD.Revk,
    when: () => true,
    act: (v, m, e) => {
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
      return {
        view: next,
        reply: reply(CMD.Ack, m, next, { leader: NO_ONE }),
        reason: `ticket revoked by its holder ${e.name(m.from)} (term ${v.term})`,
        event: 'ticket.revoke',
      };
    },
  },
  // ---- MIdx: someone's view, answering a status query ----
  {
    // Our term is newer: tell the sender our view.
    id: 'midx-we-are-newer',
    cmd: CMD.MIdx,
    when: (v, m) => v.term > m.term,
    act: (v, m, e) => ({
      view: v,
      reply: reply(CMD.MIdx, m, v),
      reason: `told ${e.name(m.from)} our newer view (term ${v.term} > ${m.term}, leader ${e.name(v.leader)})`,
      event: undefined,
    }),
  },
  {
    // A manual ticket carries no lease on the wire: learn its holder when we know none.
    id: 'midx-manual-holder',
    cmd: CMD.MIdx,
    when: (v, m, e) => e.manual && isSite(m.leader) && !isSite(v.leader) && v.leader !== NO_ONE,
    act: (v, m, e) => {
      const next = changed(
        v,
        { ...v, state: 'Fllw', leader: m.leader, term: m.term, expiresAt: Number.POSITIVE_INFINITY },
        e.now,
      );
      return {
        view: next,
        reply: undefined,
        reason: `learned from ${e.name(m.from)} that manual ticket holder is ${e.name(m.leader)} (term ${m.term})`,
        event: 'ticket.leader',
      };
    },
  },
  {
    // Nothing newer and no lease in it: nothing to learn.
    id: 'midx-nothing-new',
    cmd: CMD.MIdx,
    when: (v, m) => v.term >= m.term && m.validMs === 0,
    act: (v) => ignore(v, 'status answer carried nothing newer'),
  },
  {
    // Learn the sender's view: leader, lease (at most one expire period) and the higher term.
    id: 'midx-adopt',
    cmd: CMD.MIdx,
    when: () => true,
    act: (v, m, e) => {
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
      return {
        view: next,
        reply: undefined,
        reason: `learned from ${e.name(m.from)}: holder ${e.name(m.leader)}, term ${next.term}, ${Math.round(Math.min(e.expireMs, m.validMs) / 1000)} s of lease left`,
        event: next.leader !== v.leader || next.term !== v.term ? 'ticket.leader' : undefined,
      };
    },
  },
  // ---- VtFr, Ack., RJC!: answers to a leader or candidate, which we never are ----
  {
    // Our holder announces "nobody" (it stepped down after a local failure): forget it.
    id: 'vtfr-stepdown',
    cmd: CMD.VtFr,
    when: (v, m) => m.leader === NO_ONE && isSite(v.leader) && m.from === v.leader,
    act: (v, m, e) => {
      const next = changed(
        v,
        { ...v, state: 'Init', leader: undefined, expiresAt: undefined, lastValidTerm: v.term },
        e.now,
      );
      return ignore(
        next,
        `holder ${e.name(m.from)} stepped down (term ${v.term}); no holder known now`,
        'ticket.stepdown',
      );
    },
  },
  {
    // Someone else's vote: it concerns the candidate only.
    id: 'vtfr-ignore',
    cmd: CMD.VtFr,
    when: () => true,
    act: (v, m, e) => ignore(v, `ignored a vote from ${e.name(m.from)}: we never campaign`),
  },
  {
    // Acks are for leaders; we never lead.
    id: 'ack-ignore',
    cmd: CMD.Ack,
    when: () => true,
    act: (v, m, e) => ignore(v, `ignored an ack from ${e.name(m.from)}: we never lead`),
  },
  {
    // Rejections are for leaders and candidates; we are neither.
    id: 'rjc-ignore',
    cmd: CMD.RJC,
    when: () => true,
    act: (v, m, e) => ignore(v, `ignored a rejection from ${e.name(m.from)}: we never lead or campaign`),
  },
];

/** Runs the table. Commands without a row (not member commands) are ignored with a reason. */
export function decide(view: TicketView, msg: Incoming, env: DecideEnv): Decision {
  for (const row of ROWS) {
    if (row.cmd !== msg.cmd && !(row.cmd === '*' && msg.cmd !== CMD.Stat)) continue;
    if (row.when(view, msg, env)) return { row: row.id, ...row.act(view, msg, env) };
  }
  return {
    row: 'unknown-cmd',
    view,
    reply: undefined,
    reason: `ignored unknown command ${codeName(msg.cmd)} from ${env.name(msg.from)}`,
    event: undefined,
  };
}

export interface TickEnv {
  now: number;
  manual: boolean;
  timeoutMs: number;
  acquireAfterMs: number;
  name(id: number | undefined): string;
}

/**
 * Timer rows: the holder's lease ran out (plus acquire-after) without renewal, and a stuck
 * election ends. Returns undefined when nothing changes.
 */
export function tick(v: TicketView, e: TickEnv): Omit<Decision, 'reply'> | undefined {
  if (
    !e.manual &&
    v.state === 'Fllw' &&
    isSite(v.leader) &&
    v.expiresAt !== undefined &&
    e.now >= v.expiresAt + e.acquireAfterMs
  ) {
    // lease-lost: the lease and acquire-after passed without renewal; the ticket is free for a new election.
    const next = { ...v, state: 'Init' as const, leader: undefined, lastValidTerm: v.term, lastChangeAt: e.now };
    return {
      row: 'lease-lost',
      view: next,
      reason: `lease of ${e.name(v.leader)} (term ${v.term}) expired without renewal; the ticket is free for a new election`,
      event: 'ticket.lost',
    };
  }
  if (v.inElection && v.electionSince !== undefined && e.now >= v.electionSince + 2 * e.timeoutMs) {
    // election-over: no heartbeat followed our vote within two timeouts; answer status queries again.
    return {
      row: 'election-over',
      view: { ...v, inElection: false, electionSince: undefined },
      reason: `no heartbeat followed the election in term ${v.term}; answering status queries again`,
      event: undefined,
    };
  }
  return undefined;
}

/** When the next tick() could change something (ms), or undefined. */
export function nextDeadline(v: TicketView, e: { manual: boolean; timeoutMs: number; acquireAfterMs: number }) {
  const times: number[] = [];
  if (!e.manual && v.state === 'Fllw' && isSite(v.leader) && v.expiresAt !== undefined && Number.isFinite(v.expiresAt))
    times.push(v.expiresAt + e.acquireAfterMs);
  if (v.inElection && v.electionSince !== undefined) times.push(v.electionSince + 2 * e.timeoutMs);
  return times.length ? Math.min(...times) : undefined;
}
