/**
 * Notify variables → what kind of transition is under way. Pacemaker passes, for a clone with
 * notify=true, OCF_RESKEY_CRM_meta_notify_{type,operation} and space-separated node lists
 * OCF_RESKEY_CRM_meta_notify_<set>_uname for active, inactive, start, stop, master/promoted,
 * slave/unpromoted, promote, demote.
 */

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

interface Row {
  /** Stable id (tests and docs name rows by it). */
  id: string;
  comment: string;
  when: (n: NotifyEnv, local: string) => boolean;
  decide: (n: NotifyEnv, local: string) => Transition;
}

const has = (l: readonly string[], x: string | undefined | null) => x != null && l.includes(x);

/** First matching row wins. */
export const TRANSITION_TABLE: readonly Row[] = [
  {
    id: 'primary-recover',
    comment:
      'A node that is promoted and is promoted again in the same transition: the primary is recovered in place (demote, stop, start, promote).',
    when: (n) => n.promote.length === 1 && has(n.promoted, n.promote[0]),
    decide: (n) => ({
      kind: 'primary-recover',
      target: n.promote[0] ?? null,
      oldPrimary: n.promote[0] ?? null,
      reason: `the primary ${n.promote[0]} is being recovered in place`,
    }),
  },
  {
    id: 'switchover',
    comment: 'Exactly one primary demoted (not stopped) and one running standby promoted: a controlled switchover.',
    when: (n) =>
      n.promoted.length === 1 &&
      n.demote.length === 1 &&
      n.promote.length === 1 &&
      n.demote[0] === n.promoted[0] &&
      has(n.unpromoted, n.promote[0]) &&
      !has(n.stop, n.demote[0]),
    decide: (n) => ({
      kind: 'switchover',
      target: n.promote[0] ?? null,
      oldPrimary: n.demote[0] ?? null,
      reason: `controlled switchover from ${n.demote[0]} to ${n.promote[0]}`,
    }),
  },
  {
    id: 'failover',
    comment:
      'Any other promotion (primary lost, stopped, or first promotion): a failover; the promoted node runs the election.',
    when: (n) => n.promote.length > 0,
    decide: (n) => ({
      kind: 'failover',
      target: n.promote[0] ?? null,
      oldPrimary: n.demote[0] ?? n.promoted[0] ?? null,
      reason: `failover: ${n.promote[0]} is being promoted without a controlled demote`,
    }),
  },
  {
    id: 'standby-recover',
    comment: 'An unpromoted node that is started again: a standby recovery.',
    when: (n) => n.start.some((s) => n.unpromoted.includes(s)),
    decide: (n) => ({
      kind: 'standby-recover',
      target: null,
      oldPrimary: null,
      reason: `standby ${n.start.find((s) => n.unpromoted.includes(s))} is being recovered`,
    }),
  },
  {
    id: 'none',
    comment: 'Nothing the agent needs to act on.',
    when: () => true,
    decide: () => ({ kind: 'none', target: null, oldPrimary: null, reason: 'no promotion in this transition' }),
  },
];

export function classifyTransition(n: NotifyEnv, local: string): Transition {
  for (const row of TRANSITION_TABLE) if (row.when(n, local)) return row.decide(n, local);
  /* c8 ignore next */
  return { kind: 'none', target: null, oldPrimary: null, reason: 'no row matched' };
}

/** Nodes that take part in the election: (active ∪ start) − stop. */
export function electionNodes(n: NotifyEnv): string[] {
  return [...new Set([...n.active, ...n.start])].filter((x) => !n.stop.includes(x));
}
