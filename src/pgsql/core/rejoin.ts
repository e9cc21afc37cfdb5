/**
 * Rejoin decision for a node that was a primary (control file "shut down" or "in production") and
 * is about to start as a standby of a new primary. Decided BEFORE it starts: compare the end of its
 * valid WAL with the point where its timeline ends in the new primary's history (read after a
 * CHECKPOINT on the new primary, so its control file and history are current). At or before the
 * switch point: start as a standby directly. Beyond it (or on a branch the primary does not know):
 * diverged → pg_rewind when possible, else refuse to join, in one sentence.
 */
import { type ConstantRow, constantOutcomes, type DecisionTable, decideBy } from '../../decisions/table.js';
import { formatLsn, type Lsn } from './lsn.js';
import type { ClusterState, Decision } from './types.js';
import type { HistoryEntry } from './wal.js';

export interface RejoinSnapshot {
  local: {
    /** Newest timeline of the local WAL. */
    timeline: number | null;
    /** End of the local valid WAL on that timeline. */
    walEnd: Lsn | null;
    controlState: ClusterState | null;
  };
  /** The new primary, when one answered at primary_conninfo; null when none is reachable. */
  primary: { timeline: number; currentLsn: Lsn; history: readonly HistoryEntry[]; where: string } | null;
  rewind: {
    /** Parameter rewind=true. */
    allowed: boolean;
    /** wal_log_hints on or data checksums enabled (pg_rewind refuses otherwise). */
    hintsOrChecksums: boolean;
    /** pg_rewind is installed in bindir. */
    binaryPresent: boolean;
  };
}

export type RejoinAction = 'start-standby' | 'rewind' | 'refuse';

export interface RejoinDecision extends Decision<RejoinAction> {
  diverged: boolean;
}

/** Where the local timeline ends in the primary's history, or null when not in it. */
export function switchpointOf(history: readonly HistoryEntry[], timeline: number): Lsn | null {
  return history.find((h) => h.timeline === timeline)?.switchpoint ?? null;
}

/** null: not diverged; else why. */
function divergence(s: RejoinSnapshot): string | null {
  const p = s.primary;
  const tl = s.local.timeline;
  const end = s.local.walEnd;
  if (!p || tl === null || end === null) return null;
  if (tl === p.timeline) {
    return end <= p.currentLsn
      ? null
      : `its WAL ends at ${formatLsn(end)} on timeline ${tl}, ahead of the primary's ${formatLsn(p.currentLsn)}`;
  }
  if (tl > p.timeline) return `its timeline ${tl} is newer than the primary's timeline ${p.timeline}`;
  const sp = switchpointOf(p.history, tl);
  if (sp === null) return `its timeline ${tl} is not in the history of the primary's timeline ${p.timeline}`;
  return end <= sp
    ? null
    : `its WAL ends at ${formatLsn(end)}, past ${formatLsn(sp)} where timeline ${tl} ends in the primary's history`;
}

/** What a row decides (the decision without its reason). */
export type RejoinOutcome = Omit<RejoinDecision, 'reason'>;

const rejoinRows: readonly ConstantRow<RejoinSnapshot, RejoinOutcome>[] = [
  {
    id: 'no-primary',
    comment:
      'No new primary answers: nothing to compare with; start as a standby (writes nothing), the election judges its position later.',
    when: (s) => s.primary === null,
    out: { action: 'start-standby', diverged: false },
    reason: () => 'no primary answers at primary_conninfo, so the node starts as a standby and waits',
  },
  {
    id: 'local-end-unknown',
    comment:
      'The local WAL end or timeline is unknown: cannot prove anything; refuse rather than risk a diverged standby.',
    when: (s) => s.local.timeline === null || s.local.walEnd === null,
    out: { action: 'refuse', diverged: true },
    reason: () =>
      'the end of the local WAL could not be determined, so the node refuses to join until an operator checks it',
  },
  {
    id: 'contained',
    comment:
      'Local WAL ends at or before the switch point (or behind the primary on the same timeline): a plain standby start follows the new timeline.',
    when: (s) => divergence(s) === null,
    out: { action: 'start-standby', diverged: false },
    reason: (s) =>
      `the local WAL (timeline ${s.local.timeline}, ends ${formatLsn(s.local.walEnd ?? 0n)}) is contained in the primary's history, so no rewind is needed`,
  },
  {
    id: 'rewind',
    comment: 'Diverged, rewind allowed and possible: run pg_rewind against the primary.',
    when: (s) => s.rewind.allowed && s.rewind.hintsOrChecksums && s.rewind.binaryPresent,
    out: { action: 'rewind', diverged: true },
    reason: (s) => `the node diverged (${divergence(s)}), so it is rewound from ${s.primary?.where} with pg_rewind`,
  },
  {
    id: 'rewind-disabled',
    comment: 'Diverged and rewind disabled by the operator: refuse.',
    when: (s) => !s.rewind.allowed,
    out: { action: 'refuse', diverged: true },
    reason: (s) =>
      `the node diverged (${divergence(s)}) and rewind is disabled, so it refuses to join until it is rebuilt`,
  },
  {
    id: 'rewind-impossible',
    comment: 'Diverged, pg_rewind impossible (no hints/checksums or no binary): refuse.',
    out: { action: 'refuse', diverged: true },
    reason: (s) =>
      `the node diverged (${divergence(s)}) and pg_rewind cannot run (${
        s.rewind.binaryPresent ? 'wal_log_hints is off and data checksums are disabled' : 'pg_rewind is not installed'
      }), so it refuses to join until it is rebuilt`,
  },
];

/** The rejoin decision (src/decisions/table.ts shape; docs/tables.md is generated from it). */
export const REJOIN_TABLE: DecisionTable<RejoinSnapshot, RejoinOutcome> = {
  name: 'PostgreSQL rejoin',
  summary:
    "Decided before a node that was a primary starts as a standby of a new primary (start, demote): the end of its valid WAL against the point where its timeline ends in the new primary's history (read after a CHECKPOINT on the new primary). The outcome column is the action and whether the node is marked diverged.",
  ...constantOutcomes(rejoinRows, (o) => `${o.action}${o.diverged ? ', diverged' : ''}`),
};

export function decideRejoin(s: RejoinSnapshot): RejoinDecision {
  const d = decideBy(REJOIN_TABLE, s);
  return { ...d.outcome, reason: d.reason };
}
