/**
 * Controlled-switchover safety, decided on the designated standby in the pre-promote notify, after
 * the old primary's demote (a fast stop: its last WAL record is the shutdown checkpoint, and its
 * walsenders make the stop wait until the standby flushed everything sent). The standby may be
 * promoted only if it holds that shutdown checkpoint: then it holds every commit the old primary
 * acknowledged, and the old primary can follow the new timeline without a rewind.
 */
import type { Lsn } from './types.js';
import { formatLsn } from './types.js';
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

interface Row {
  /** Stable id (tests and docs name rows by it). */
  id: string;
  comment: string;
  when: (s: SwitchoverSnapshot) => boolean;
  decide: (s: SwitchoverSnapshot) => SwitchoverVerdict;
}

const last = (s: SwitchoverSnapshot) => s.waldump?.records[s.waldump.records.length - 1];

export const SWITCHOVER_TABLE: readonly Row[] = [
  {
    id: 'waldump-failed',
    comment:
      'pg_waldump could not run at all: the check failed, not the standby (PAF code 2: ban this node for the promotion).',
    when: (s) => s.waldump === null,
    decide: (s) => ({
      safe: false,
      code: 2,
      checkpointLsn: null,
      reason: `the switchover check could not read the local WAL (${s.waldumpError ?? 'pg_waldump failed'})`,
    }),
  },
  {
    id: 'no-received-position',
    comment: 'No received position or timeline: the standby was not connected to the old primary.',
    when: (s) => s.receivedLsn === null || s.timeline === null,
    decide: () => ({
      safe: false,
      code: 1,
      checkpointLsn: null,
      reason: 'the standby has no received WAL position: it was not streaming from the old primary',
    }),
  },
  {
    id: 'no-record',
    comment:
      'No WAL record at all between the last restartpoint and the received position: nothing proves the shutdown checkpoint arrived.',
    when: (s) => (s.waldump?.records.length ?? 0) === 0,
    decide: (s) => ({
      safe: false,
      code: 1,
      checkpointLsn: null,
      reason: `the standby holds no WAL record up to ${formatLsn(s.receivedLsn ?? 0n)}, so it cannot prove it received the old primary's shutdown checkpoint`,
    }),
  },
  {
    id: 'shutdown-checkpoint-held',
    comment:
      'The last record the standby holds is a shutdown checkpoint on its timeline, fully received: every acknowledged commit is here. Safe.',
    when: (s) => {
      const r = last(s);
      return !!r?.checkpoint?.shutdown && r.checkpoint.timeline === s.timeline && recordEnd(r) <= (s.receivedLsn ?? 0n);
    },
    decide: (s) => {
      const r = last(s);
      return {
        safe: true,
        code: 0,
        checkpointLsn: r?.lsn ?? null,
        reason: `the standby holds the old primary's shutdown checkpoint at ${formatLsn(r?.lsn ?? 0n)} on timeline ${s.timeline}: no acknowledged commit can be lost`,
      };
    },
  },
  {
    id: 'missed-wal',
    comment:
      'Anything else (last record not a shutdown checkpoint, other timeline, partial record): the standby missed WAL; refuse.',
    when: () => true,
    decide: (s) => {
      const r = last(s);
      return {
        safe: false,
        code: 1,
        checkpointLsn: null,
        reason: `the last WAL record the standby holds (${r?.rmgr ?? '?'} at ${formatLsn(r?.lsn ?? 0n)}: ${(r?.desc ?? '').slice(0, 60)}) is not the old primary's shutdown checkpoint: the standby missed WAL, so the switchover is refused and the old primary must come back`,
      };
    },
  },
];

export function checkSwitchover(s: SwitchoverSnapshot): SwitchoverVerdict {
  for (const row of SWITCHOVER_TABLE) if (row.when(s)) return row.decide(s);
  /* c8 ignore next */
  return { safe: false, code: 2, checkpointLsn: null, reason: 'no row matched' };
}
