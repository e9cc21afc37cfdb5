/**
 * Promotion scores, computed by the primary's monitor from one pg_stat_replication read (PAF's
 * rules, with the PR #198 ordering: most advanced standby first). The primary gets 1001; standbys
 * 1000, 990, 980 ... by written position; beyond maxlag the score is negated; a walsender in
 * startup/backup gets -1; a partition node with no walsender gets -1000; a node known to have
 * diverged (needs a rewind) gets -1000 whatever it reports: it is never a promotion candidate.
 */
import type { Lsn } from './types.js';

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
