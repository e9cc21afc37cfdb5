/**
 * PostgreSQL-aware vote guard (off by default). A ticket can be tied to the rack's PostgreSQL
 * nodes (booth site address -> node name). Before the arbitrator gives its vote to a candidate
 * site, the guard compares the candidate node's last known WAL position with the other nodes'
 * last known positions; when the candidate is *provably* behind, the vote is withheld. Anything
 * that cannot be proven (no observation, stale observation, no provider) lets the vote through:
 * the guard can only make a failover slower or impossible, never create a second holder.
 */

import { formatLsn } from '../pgsql/core/lsn.js';

/** One observation of a node's WAL position (flush/replay LSN) and when it was taken (ms). */
export interface LsnObservation {
  lsn: bigint;
  observedAt: number;
}

/**
 * Supplied by the pgsql observer: the last WAL position known for a node, or undefined.
 * Must be cheap and synchronous (it is called on the vote path).
 */
export type LastKnownLsn = (node: string) => LsnObservation | undefined;

export interface GuardPolicy {
  /** Candidate site address -> PostgreSQL node name (all nodes of the rack). */
  nodes: Readonly<Record<string, string>>;
  /** Bytes the candidate may be behind and still get the vote. */
  toleranceBytes: bigint;
  /** Observations older than this (ms) prove nothing. */
  maxAgeMs: number;
}

export interface GuardInput {
  candidateAddress: string;
  now: number;
  policy: GuardPolicy;
  lastKnownLsn: LastKnownLsn | undefined;
}

export interface GuardVerdict {
  allow: boolean;
  reason: string;
}

/** The pure guard rule. */
export function guardVote(input: GuardInput): GuardVerdict {
  const { candidateAddress, now, policy, lastKnownLsn } = input;
  const node = policy.nodes[candidateAddress];
  if (node === undefined)
    return { allow: true, reason: `site ${candidateAddress} is not tied to a PostgreSQL node; guard does not apply` };
  if (!lastKnownLsn)
    return { allow: true, reason: 'no PostgreSQL position provider is attached; guard cannot prove anything' };
  const fresh = (o: LsnObservation | undefined): o is LsnObservation =>
    o !== undefined && now - o.observedAt <= policy.maxAgeMs;
  const mine = lastKnownLsn(node);
  if (!fresh(mine))
    return {
      allow: true,
      reason: `no fresh WAL position for ${node}; cannot prove it is behind`,
    };
  let ahead: { node: string; lsn: bigint } | undefined;
  for (const [addr, other] of Object.entries(policy.nodes)) {
    if (addr === candidateAddress || other === node) continue;
    const o = lastKnownLsn(other);
    if (!fresh(o)) continue;
    if (o.lsn > mine.lsn + policy.toleranceBytes && (!ahead || o.lsn > ahead.lsn)) ahead = { node: other, lsn: o.lsn };
  }
  if (ahead)
    return {
      allow: false,
      reason: `PostgreSQL on ${node} is at ${formatLsn(mine.lsn)}, ${ahead.lsn - mine.lsn} bytes behind ${ahead.node} (${formatLsn(ahead.lsn)}); promoting it would lose acknowledged commits`,
    };
  return { allow: true, reason: `PostgreSQL on ${node} (${formatLsn(mine.lsn)}) is not behind any known position` };
}
