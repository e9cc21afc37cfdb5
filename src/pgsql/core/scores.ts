/**
 * Promotion scores, computed by the primary's monitor from one pg_stat_replication read (PAF's
 * rules, with the PR #198 ordering: most advanced standby first). The primary gets 1001; standbys
 * 1000, 990, 980 ... by written position; beyond maxlag the score is negated; a walsender in
 * startup/backup gets -1; a partition node with no walsender gets -1000; a node known to have
 * diverged (needs a rewind) gets -1000 whatever it reports: it is never a promotion candidate.
 */
import { type ConstantRow, constantOutcomes, type DecisionTable, decideBy } from '../../decisions/table.js';
import type { Lsn } from './lsn.js';

export const PRIMARY_SCORE = 1001;
export const BEST_STANDBY_SCORE = 1000;
export const SCORE_STEP = 10;
export const NOT_STREAMING_SCORE = -1;
export const DISCONNECTED_SCORE = -1000;

/** One row of pg_stat_replication as the primary sees it. */
export interface WalSenderRow {
  applicationName: string;
  /** startup | catchup | streaming | backup | stopping */
  state: string;
  writeLsn: Lsn | null;
}

export interface ScoreInput {
  /** This node (the primary). */
  localNode: string;
  /** Nodes of the current partition (crm_node --partition), the local one included. */
  partitionNodes: readonly string[];
  /** The primary's current WAL position (pg_current_wal_lsn()). */
  currentLsn: Lsn;
  walSenders: readonly WalSenderRow[];
  /** Bytes; 0 = off. */
  maxlag: number;
  /** Nodes marked diverged (a returning ex-primary that refused or needs a rewind). */
  divergedNodes?: readonly string[];
}

export interface NodeScore {
  node: string;
  score: number;
  reason: string;
}

export function computeScores(input: ScoreInput): NodeScore[] {
  const out: NodeScore[] = [{ node: input.localNode, score: PRIMARY_SCORE, reason: 'this node is the primary' }];
  const others = input.partitionNodes.filter((n) => n !== input.localNode);
  const diverged = new Set(input.divergedNodes ?? []);
  // exact match of application_name to the node name (PAF used a substring regex: node1 matched node10)
  const rows = input.walSenders.filter((r) => others.includes(r.applicationName));
  const live = rows.filter((r) => r.state !== 'startup' && r.state !== 'backup');
  const ranked = [...live].sort((a, b) => {
    const wa = a.writeLsn ?? -1n;
    const wb = b.writeLsn ?? -1n;
    if (wa !== wb) return wa > wb ? -1 : 1;
    return a.applicationName < b.applicationName ? -1 : a.applicationName > b.applicationName ? 1 : 0;
  });
  const seen = new Set<string>();
  ranked.forEach((r, i) => {
    if (seen.has(r.applicationName)) return;
    seen.add(r.applicationName);
    const base = BEST_STANDBY_SCORE - i * SCORE_STEP;
    const lag = r.writeLsn === null ? null : input.currentLsn - r.writeLsn;
    if (diverged.has(r.applicationName)) {
      out.push({
        node: r.applicationName,
        score: DISCONNECTED_SCORE,
        reason: 'the node has diverged from the primary and is never a promotion candidate',
      });
    } else if (input.maxlag > 0 && (lag === null || lag > BigInt(input.maxlag))) {
      out.push({
        node: r.applicationName,
        score: -base,
        reason: `the standby lags ${lag ?? 'an unknown number of'} bytes, beyond maxlag ${input.maxlag}`,
      });
    } else {
      out.push({
        node: r.applicationName,
        score: base,
        reason: `the standby is streaming, rank ${i + 1} by written position${lag === null ? '' : ` (lag ${lag} bytes)`}`,
      });
    }
  });
  for (const r of rows) {
    if (seen.has(r.applicationName)) continue;
    seen.add(r.applicationName);
    out.push({
      node: r.applicationName,
      score: NOT_STREAMING_SCORE,
      reason: `the standby's walsender is in state "${r.state}"`,
    });
  }
  for (const n of others) {
    if (seen.has(n)) continue;
    out.push({
      node: n,
      score: DISCONNECTED_SCORE,
      reason: 'the node has no walsender on the primary (not replicating)',
    });
  }
  return out;
}

/** Bootstrap scores: below every score a primary's monitor gives a streaming standby (1000, 990 ...). */
export const BOOTSTRAP_PRIMARY_SCORE = 2;
export const BOOTSTRAP_STANDBY_SCORE = 1;

export interface BootstrapInput {
  localNode: string;
  /** This node's control file state (the instance is cleanly stopped, or just started from it). */
  controlState: 'shut down' | 'shut down in recovery';
  /** Promotion scores of the partition's nodes right now (null: none). */
  scores: ReadonlyArray<{ node: string; score: number | null }>;
  /** Every node Pacemaker knows (crm_node -l) is in this partition: the election will see all of them. */
  allKnownNodesPresent: boolean;
}

export interface BootstrapDecision {
  /** The score to publish for the local node, or null to publish nothing. */
  score: number | null;
  reason: string;
}

const realScore = (b: BootstrapInput) =>
  b.scores.find((s) => s.node !== b.localNode && s.score !== null && s.score > BOOTSTRAP_PRIMARY_SCORE);

/** First matching row wins. */
const bootstrapRows: readonly ConstantRow<BootstrapInput, { score: number | null }>[] = [
  {
    id: 'other-has-real-score',
    comment:
      "Another node holds a score a primary's monitor gave (above the bootstrap scores): a primary runs or ran with fresher knowledge; publish nothing.",
    when: (b) => realScore(b) !== undefined,
    out: { score: null },
    reason: (b) =>
      `${realScore(b)?.node} already has promotion score ${realScore(b)?.score}, so no bootstrap score is needed`,
  },
  {
    id: 'clean-primary',
    comment:
      'A cleanly stopped primary ("shut down", PAF\'s bootstrap rule): it was the last writer, so it is preferred (score 2); the election still redirects to a node with a newer timeline/LSN.',
    when: (b) => b.controlState === 'shut down',
    out: { score: BOOTSTRAP_PRIMARY_SCORE },
    reason: () => 'the instance was a cleanly stopped primary and no primary has set scores',
  },
  {
    id: 'clean-standby-all-present',
    comment:
      'A cleanly stopped standby ("shut down in recovery", e.g. after Pacemaker demoted and stopped the whole clone) while every known node is in the partition: promotable (score 1), because the election in promote compares it with every other node and never promotes it over a more advanced one.',
    when: (b) => b.allKnownNodesPresent,
    out: { score: BOOTSTRAP_STANDBY_SCORE },
    reason: () =>
      'the instance is a cleanly stopped standby, no primary has set scores and every known node is present for the election',
  },
  {
    id: 'clean-standby-node-missing',
    comment:
      'A cleanly stopped standby while some known node is absent: the absent node may hold newer commits, so it is never made promotable on its own (an operator decides).',
    out: { score: null },
    reason: () =>
      'the instance is a cleanly stopped standby and some known node is not in this partition (it may hold newer data), so it gets no score',
  },
];

/** The bootstrap rule (src/decisions/table.ts shape; docs/tables.md is generated from it). */
export const BOOTSTRAP_TABLE: DecisionTable<BootstrapInput, { score: number | null }> = {
  name: 'PostgreSQL bootstrap score',
  summary:
    "A probe or start that finds a cleanly stopped instance while no primary has set promotion scores (a whole-cluster bring-up): which score, if any, the local node publishes so that Pacemaker can promote someone. The bootstrap scores (2, 1) stay below every score a primary's monitor gives a streaming standby. The outcome column is the score published.",
  ...constantOutcomes(bootstrapRows, (o) => (o.score === null ? 'none' : String(o.score))),
};

export function decideBootstrap(b: BootstrapInput): BootstrapDecision {
  const d = decideBy(BOOTSTRAP_TABLE, b);
  return { score: d.outcome.score, reason: d.reason };
}

/**
 * A standby in a cluster of its own (a booth site: one Pacemaker node per site, the primary in the
 * other site's cluster). No primary of its cluster ever ranks it, so its own monitor gives it the
 * score a primary's monitor would give the best standby while it streams; the rsc_ticket, not the
 * score, decides whether Pacemaker may promote it.
 */
export interface LoneStandbyInput {
  localNode: string;
  /** Every node Pacemaker knows (crm_node -l), or null when it could not be asked. */
  knownNodes: readonly string[] | null;
  /** The walreceiver streams from a primary right now. */
  streaming: boolean;
  /** The node is marked diverged (a returning ex-primary that refused or failed a rewind). */
  diverged: boolean;
}

/** A score to publish, or 'keep' to leave the local node's score as it is. */
export type LoneStandbyOutcome = { score: number | 'keep' };

/** True when Pacemaker knows no node but this one (a single-node cluster, as at a booth site). */
export function aloneInCluster(localNode: string, knownNodes: readonly string[] | null): boolean {
  return knownNodes !== null && knownNodes.length > 0 && knownNodes.every((n) => n === localNode);
}

/** First matching row wins. */
const loneStandbyRows: readonly ConstantRow<LoneStandbyInput, LoneStandbyOutcome>[] = [
  {
    id: 'not-alone',
    comment:
      "Pacemaker knows another node (or could not be asked): the primary's monitor in this cluster ranks the standbys; leave the score alone.",
    when: (s) => !aloneInCluster(s.localNode, s.knownNodes),
    out: { score: 'keep' },
    reason: () => "another node is in this cluster, so the primary's monitor sets the promotion scores",
  },
  {
    id: 'diverged',
    comment: 'The only node of its cluster, marked diverged: never a promotion candidate, whoever holds the ticket.',
    when: (s) => s.diverged,
    out: { score: DISCONNECTED_SCORE },
    reason: () => 'the node has diverged from the primary and is never a promotion candidate',
  },
  {
    id: 'streaming',
    comment:
      "The only node of its cluster, streaming from the primary of another cluster (another booth site): the best standby's score; the ticket decides whether it is promoted.",
    when: (s) => s.streaming,
    out: { score: BEST_STANDBY_SCORE },
    reason: () =>
      'the standby is the only node of its cluster and streams from a primary, so it gets the best standby score (the ticket gates its promotion)',
  },
  {
    id: 'not-streaming',
    comment:
      'The only node of its cluster, not streaming: keep the score it has (its primary may be gone, which is when the ticket moves here); a standby that never streamed has none and stays unpromotable.',
    out: { score: 'keep' },
    reason: () =>
      'the standby is the only node of its cluster and does not stream now, so it keeps the score it had (none if it never streamed)',
  },
];

/** The lone standby rule (src/decisions/table.ts shape; docs/tables.md is generated from it). */
export const LONE_STANDBY_TABLE: DecisionTable<LoneStandbyInput, LoneStandbyOutcome> = {
  name: 'PostgreSQL single-node site score',
  summary:
    "The monitor of a running standby that is the only node Pacemaker knows (a booth site: the primary runs in another site's cluster, so no primary's monitor here ranks it): which promotion score, if any, it publishes for itself. The outcome column is the score published (keep: the score is left as it is).",
  ...constantOutcomes(loneStandbyRows, (o) => String(o.score)),
};

export function decideLoneStandby(s: LoneStandbyInput): { score: number | 'keep'; reason: string } {
  const d = decideBy(LONE_STANDBY_TABLE, s);
  return { score: d.outcome.score, reason: d.reason };
}
