/**
 * Notify variables → what kind of transition is under way. Pacemaker passes, for a clone with
 * notify=true, OCF_RESKEY_CRM_meta_notify_{type,operation} and space-separated node lists
 * OCF_RESKEY_CRM_meta_notify_<set>_uname for active, inactive, start, stop, master/promoted,
 * slave/unpromoted, promote, demote.
 */
import { type DecisionTable, decideBy, type TableRow } from '../../decisions/table.js';

export interface NotifyEnv {
  type: string;
  operation: string;
  active: string[];
  inactive: string[];
  start: string[];
  stop: string[];
  /** Promoted (master) nodes at the time of the transition. */
  promoted: string[];
  /** Unpromoted (slave) nodes. */
  unpromoted: string[];
  promote: string[];
  demote: string[];
}

const list = (env: Readonly<Record<string, string | undefined>>, ...keys: string[]): string[] => {
  const out = new Set<string>();
  for (const k of keys) {
    for (const n of (env[`OCF_RESKEY_CRM_meta_notify_${k}_uname`] ?? '').split(/\s+/)) if (n) out.add(n);
  }
  return [...out];
};

export function parseNotifyEnv(env: Readonly<Record<string, string | undefined>>): NotifyEnv {
  const promoted = list(env, 'master', 'promoted');
  const unpromoted = list(env, 'slave', 'unpromoted');
  let active = list(env, 'active');
  if (active.length === 0) active = [...new Set([...promoted, ...unpromoted])];
  return {
    type: env.OCF_RESKEY_CRM_meta_notify_type ?? '',
    operation: env.OCF_RESKEY_CRM_meta_notify_operation ?? '',
    active,
    inactive: list(env, 'inactive'),
    start: list(env, 'start'),
    stop: list(env, 'stop'),
    promoted,
    unpromoted,
    promote: list(env, 'promote'),
    demote: list(env, 'demote'),
  };
}

export type TransitionKind = 'primary-recover' | 'standby-recover' | 'switchover' | 'failover' | 'none';

export interface Transition {
  kind: TransitionKind;
  /** The node being promoted (primary-recover, switchover, failover), if any. */
  target: string | null;
  /** The primary being demoted in a switchover. */
  oldPrimary: string | null;
  reason: string;
}

/** What a row decides (the transition without its reason). */
export type TransitionOutcome = Omit<Transition, 'reason'>;

const has = (l: readonly string[], x: string | undefined | null) => x != null && l.includes(x);

/** First matching row wins. */
const transitionRows: readonly TableRow<NotifyEnv, TransitionOutcome>[] = [
  {
    id: 'primary-recover',
    comment:
      'Primary recover: a node that is promoted and is promoted again in the same transition; the primary is recovered in place (demote, stop, start, promote) and the election is skipped.',
    when: (n) => n.promote.length === 1 && has(n.promoted, n.promote[0]),
    outcome: (n) => ({ kind: 'primary-recover', target: n.promote[0] ?? null, oldPrimary: n.promote[0] ?? null }),
    reason: (n) => `the primary ${n.promote[0]} is being recovered in place`,
  },
  {
    id: 'switchover',
    comment:
      "Switchover: exactly one primary demoted (not stopped) and one running standby promoted; the designated standby checks it holds the old primary's shutdown checkpoint.",
    when: (n) =>
      n.promoted.length === 1 &&
      n.demote.length === 1 &&
      n.promote.length === 1 &&
      n.demote[0] === n.promoted[0] &&
      has(n.unpromoted, n.promote[0]) &&
      !has(n.stop, n.demote[0]),
    outcome: (n) => ({ kind: 'switchover', target: n.promote[0] ?? null, oldPrimary: n.demote[0] ?? null }),
    reason: (n) => `controlled switchover from ${n.demote[0]} to ${n.promote[0]}`,
  },
  {
    id: 'failover',
    comment:
      'Failover: any other promotion (primary lost, stopped, or first promotion); the promoted node runs the election.',
    when: (n) => n.promote.length > 0,
    outcome: (n) => ({
      kind: 'failover',
      target: n.promote[0] ?? null,
      oldPrimary: n.demote[0] ?? n.promoted[0] ?? null,
    }),
    reason: (n) => `failover: ${n.promote[0]} is being promoted without a controlled demote`,
  },
  {
    id: 'standby-recover',
    comment: 'Standby recover: an unpromoted node that is started again.',
    when: (n) => n.start.some((s) => n.unpromoted.includes(s)),
    outcome: () => ({ kind: 'standby-recover', target: null, oldPrimary: null }),
    reason: (n) => `standby ${n.start.find((s) => n.unpromoted.includes(s))} is being recovered`,
  },
  {
    id: 'none',
    comment: 'Nothing the agent needs to act on.',
    outcome: () => ({ kind: 'none', target: null, oldPrimary: null }),
    reason: () => 'no promotion in this transition',
  },
];

/** The transition kinds (src/decisions/table.ts shape; docs/tables.md is generated from it). */
export const TRANSITION_TABLE: DecisionTable<NotifyEnv, TransitionOutcome> = {
  name: 'PostgreSQL transition kind',
  summary:
    'What kind of transition a notify belongs to, from the notify variables Pacemaker passes to a clone with notify=true (both the master/slave and the promoted/unpromoted names are read). The pre-promote notify acts on it: the election data, the switchover check, the in-place recovery of a primary.',
  rows: transitionRows,
};

/** The transition a notify belongs to (the same for every node: `_local` does not change it). */
export function classifyTransition(n: NotifyEnv, _local: string): Transition {
  const d = decideBy(TRANSITION_TABLE, n);
  return { ...d.outcome, reason: d.reason };
}

/** Nodes that take part in the election: (active ∪ start) − stop. */
export function electionNodes(n: NotifyEnv): string[] {
  return [...new Set([...n.active, ...n.start])].filter((x) => !n.stop.includes(x));
}
