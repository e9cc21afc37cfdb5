/**
 * Controlled-switchover safety, decided on the designated standby in the pre-promote notify, after
 * the old primary's demote (a fast stop: its last WAL record is the shutdown checkpoint, and its
 * walsenders make the stop wait until the standby flushed everything sent). The standby may be
 * promoted only if it holds that shutdown checkpoint: then it holds every commit the old primary
 * acknowledged, and the old primary can follow the new timeline without a rewind.
 */
import { type DecisionTable, decideBy, type TableRow } from '../../decisions/table.js';
import { formatLsn, type Lsn } from './lsn.js';
import type { WaldumpResult } from './wal.js';
import { recordEnd } from './wal.js';

export interface SwitchoverSnapshot {
  /** The standby's current timeline (received_tli, or the control file after CHECKPOINT). */
  timeline: number | null;
  /** Greatest WAL position the standby received (or replayed). */
  receivedLsn: Lsn | null;
  /** pg_waldump over the received WAL (from the latest restartpoint's REDO to receivedLsn); null if it could not run. */
  waldump: WaldumpResult | null;
  /** Why pg_waldump could not run (when waldump is null). */
  waldumpError?: string;
}

/** safe: promote. code 1: unsafe (standby missed WAL) → refuse, the old primary comes back. code 2: the check itself failed. */
export interface SwitchoverVerdict {
  safe: boolean;
  code: 0 | 1 | 2;
  /** The shutdown checkpoint found, when safe. */
  checkpointLsn: Lsn | null;
  reason: string;
}

/** What a row decides (the verdict without its reason). */
export type SwitchoverOutcome = Omit<SwitchoverVerdict, 'reason'>;

const last = (s: SwitchoverSnapshot) => s.waldump?.records[s.waldump.records.length - 1];

const switchoverRows: readonly TableRow<SwitchoverSnapshot, SwitchoverOutcome>[] = [
  {
    id: 'waldump-failed',
    comment:
      'Refuse, code 2: pg_waldump could not run at all, so the check failed, not the standby (PAF: ban this node for the promotion).',
    when: (s) => s.waldump === null,
    outcome: () => ({ safe: false, code: 2, checkpointLsn: null }),
    reason: (s) => `the switchover check could not read the local WAL (${s.waldumpError ?? 'pg_waldump failed'})`,
  },
  {
    id: 'no-received-position',
    comment: 'Refuse, code 1: no received position or timeline; the standby was not connected to the old primary.',
    when: (s) => s.receivedLsn === null || s.timeline === null,
    outcome: () => ({ safe: false, code: 1, checkpointLsn: null }),
    reason: () => 'the standby has no received WAL position: it was not streaming from the old primary',
  },
  {
    id: 'no-record',
    comment:
      'Refuse, code 1: no WAL record at all between the last restartpoint and the received position; nothing proves the shutdown checkpoint arrived.',
    when: (s) => (s.waldump?.records.length ?? 0) === 0,
    outcome: () => ({ safe: false, code: 1, checkpointLsn: null }),
    reason: (s) =>
      `the standby holds no WAL record up to ${formatLsn(s.receivedLsn ?? 0n)}, so it cannot prove it received the old primary's shutdown checkpoint`,
  },
  {
    id: 'shutdown-checkpoint-held',
    comment:
      'Safe: the last record the standby holds is a shutdown checkpoint on its timeline, fully received; every acknowledged commit is here.',
    when: (s) => {
      const r = last(s);
      return !!r?.checkpoint?.shutdown && r.checkpoint.timeline === s.timeline && recordEnd(r) <= (s.receivedLsn ?? 0n);
    },
    outcome: (s) => ({ safe: true, code: 0, checkpointLsn: last(s)?.lsn ?? null }),
    reason: (s) =>
      `the standby holds the old primary's shutdown checkpoint at ${formatLsn(last(s)?.lsn ?? 0n)} on timeline ${s.timeline}: no acknowledged commit can be lost`,
  },
  {
    id: 'missed-wal',
    comment:
      'Refuse, code 1: anything else (last record not a shutdown checkpoint, other timeline, partial record); the standby missed WAL.',
    outcome: () => ({ safe: false, code: 1, checkpointLsn: null }),
    reason: (s) => {
      const r = last(s);
      return `the last WAL record the standby holds (${r?.rmgr ?? '?'} at ${formatLsn(r?.lsn ?? 0n)}: ${(r?.desc ?? '').slice(0, 60)}) is not the old primary's shutdown checkpoint: the standby missed WAL, so the switchover is refused and the old primary must come back`;
    },
  },
];

/** The switchover check (src/decisions/table.ts shape; docs/tables.md is generated from it). */
export const SWITCHOVER_TABLE: DecisionTable<SwitchoverSnapshot, SwitchoverOutcome> = {
  name: 'PostgreSQL switchover safety',
  summary:
    "Decided on the designated standby in the pre-promote notify of a controlled switchover, after the old primary's fast stop, over what pg_waldump shows of the WAL the standby received. Promotion is safe only when the standby holds the old primary's shutdown checkpoint. A refusal carries PAF's cancel code: 1, unsafe (the old primary comes back); 2, the check itself failed.",
  rows: switchoverRows,
};

export function checkSwitchover(s: SwitchoverSnapshot): SwitchoverVerdict {
  const d = decideBy(SWITCHOVER_TABLE, s);
  return { ...d.outcome, reason: d.reason };
}
