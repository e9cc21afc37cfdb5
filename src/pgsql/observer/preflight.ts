/**
 * Switchover preflight: would a controlled switchover (demote = fast stop of the primary, promote
 * the standby) be lossless NOW, and if not, why. Decided from one RackSnapshot, by a table of
 * checks that all run (the operator gets every reason, not only the first).
 *
 * This is the box-side check BEFORE the switchover. The authoritative check stays on the standby
 * AFTER the demote: the shared core's checkSwitchover (the old primary's shutdown checkpoint must
 * be in the standby's WAL). The preflight predicts whether that check will pass: a standby that
 * streams from the primary on its timeline (both sides agree) receives the shutdown checkpoint,
 * because the primary's fast shutdown waits for its walsenders. The standby's promotion score comes
 * from the core (computeScores: streaming and within maxlag), exactly as the agent publishes it.
 */
import type { NodeView, RackSnapshot } from './types.js';

export interface PreflightOptions {
  /** Standby to switch over to; default: the other node. */
  to?: string | undefined;
  /** Require sync_state sync/quorum. */
  requireSync: boolean;
  /** Bytes; 0 = no limit. */
  maxlagBytes: number;
  /** Seconds; 0 = no limit. */
  maxlagSeconds: number;
}

export interface PreflightCheck {
  id: string;
  ok: boolean;
  /** Blocking checks make the switchover unsafe; others are warnings. */
  blocking: boolean;
  sentence: string;
}

export interface PreflightResult {
  safe: boolean;
  from: string | null;
  to: string | null;
  /** One sentence: the verdict and its main reason. */
  summary: string;
  /** Sentences of the failed blocking checks. */
  reasons: string[];
  /** Sentences of failed non-blocking checks. */
  warnings: string[];
  checks: PreflightCheck[];
  snapshotAt: string;
  source: RackSnapshot['source'];
}

interface Ctx {
  s: RackSnapshot;
  o: PreflightOptions;
  primary: NodeView | null;
  target: NodeView | null;
  /** Why there is no target, when there is none. */
  targetProblem: string | null;
}

interface Row {
  id: string;
  /** Why this check exists. */
  comment: string;
  blocking: boolean;
  /** undefined: not applicable (skipped); otherwise pass/fail and the sentence. */
  check(c: Ctx): { ok: boolean; sentence: string } | undefined;
}

function mib(n: number): string {
  return n < 1024 * 1024 ? `${n} B` : `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** The checks, in the order they are shown. Unit tests walk every row. */
export const PREFLIGHT_TABLE: readonly Row[] = [
  {
    id: 'one-primary',
    comment: 'A switchover moves the primary role: there must be exactly one writable primary to move it from.',
    blocking: true,
    check: ({ s }) =>
      s.writablePrimaries.length === 1
        ? { ok: true, sentence: `${s.writablePrimaries[0]} is the only writable primary` }
        : s.writablePrimaries.length === 0
          ? { ok: false, sentence: 'there is no writable primary to switch over from' }
          : {
              ok: false,
              sentence: `${s.writablePrimaries.join(' and ')} are both writable primaries (split brain): fence one before anything else`,
            },
  },
  {
    id: 'target-standby',
    comment: 'The target must be a running standby (a down or unknown node cannot be promoted).',
    blocking: true,
    check: ({ target, targetProblem }) =>
      target && !targetProblem
        ? { ok: true, sentence: `${target.name} is a running standby` }
        : { ok: false, sentence: targetProblem ?? 'there is no standby to switch over to' },
  },
  {
    id: 'sender-streaming',
    comment:
      "The primary's walsender for the target must be streaming: it is what makes the fast shutdown wait until the standby flushed everything.",
    blocking: true,
    check: ({ primary, target }) =>
      !primary || !target || target.role !== 'standby'
        ? undefined
        : target.senderState === 'streaming'
          ? { ok: true, sentence: `${primary.name} has a streaming walsender for ${target.name}` }
          : {
              ok: false,
              sentence: `${primary.name} has ${target.senderState ? `a walsender in state "${target.senderState}"` : 'no walsender'} for ${target.name}: the standby is not streaming`,
            },
  },
  {
    id: 'receiver-timeline',
    comment:
      "The standby's walreceiver must stream the primary's current timeline (lab finding: a diverged node shows a streaming walsender for a moment while its receiver loops on a timeline error).",
    blocking: true,
    check: ({ primary, target }) => {
      if (!primary || !target || target.role !== 'standby') return undefined;
      if (target.receiverStatus !== 'streaming') {
        return { ok: false, sentence: `${target.name}'s WAL receiver is ${target.receiverStatus ?? 'not running'}` };
      }
      if (target.receivedTli !== primary.timeline) {
        return {
          ok: false,
          sentence: `${target.name} receives timeline ${target.receivedTli ?? '?'} but ${primary.name} is on timeline ${primary.timeline ?? '?'} (timeline mismatch)`,
        };
      }
      return { ok: true, sentence: `${target.name} streams timeline ${primary.timeline} from ${primary.name}` };
    },
  },
  {
    id: 'promotion-score',
    comment:
      'The promotion score the shared core computes from the primary’s view (streaming, within maxlag) must be positive, or Pacemaker would not promote the target.',
    blocking: true,
    check: ({ primary, target }) =>
      !primary || !target || target.role !== 'standby' || target.score === null
        ? undefined
        : target.score > 0
          ? { ok: true, sentence: `${target.name} has promotion score ${target.score} (${target.scoreReason ?? ''})` }
          : {
              ok: false,
              sentence: `${target.name} has promotion score ${target.score}: ${target.scoreReason ?? 'not a candidate'}`,
            },
  },
  {
    id: 'maxlag-seconds',
    comment:
      'Operator bound on replay delay (pgsql.maxlag_s): beyond it, the promoted node would serve stale data for too long.',
    blocking: true,
    check: ({ o, target }) =>
      target?.role !== 'standby' || o.maxlagSeconds <= 0
        ? undefined
        : target.lagSeconds === null
          ? { ok: false, sentence: `${target.name}'s replay delay is unknown (maxlag_s ${o.maxlagSeconds} s is set)` }
          : target.lagSeconds > o.maxlagSeconds
            ? {
                ok: false,
                sentence: `${target.name} replays ${target.lagSeconds.toFixed(1)} s behind, beyond maxlag_s ${o.maxlagSeconds} s`,
              }
            : {
                ok: true,
                sentence: `${target.name} replays ${target.lagSeconds.toFixed(1)} s behind (maxlag_s ${o.maxlagSeconds} s)`,
              },
  },
  {
    id: 'synchronous',
    comment:
      'With require_sync, the target must be a synchronous standby, so that no commit was acknowledged without it.',
    blocking: true,
    check: ({ o, target }) =>
      !o.requireSync || !target || target.role !== 'standby'
        ? undefined
        : target.syncState === 'sync' || target.syncState === 'quorum'
          ? { ok: true, sentence: `${target.name} is a synchronous standby (${target.syncState})` }
          : {
              ok: false,
              sentence: `${target.name} is not synchronous (sync_state ${target.syncState ?? 'unknown'}) and require_sync is set`,
            },
  },
  {
    id: 'slot-for-old-primary',
    comment:
      'After the switchover the old primary streams from the target using its primary_slot_name: that slot must exist on the target, or the old primary cannot rejoin.',
    blocking: true,
    check: ({ primary, target }) => {
      if (!primary || !target || target.role !== 'standby') return undefined;
      const slot = primary.primarySlotName;
      if (!slot) return { ok: true, sentence: `${primary.name} uses no replication slot (primary_slot_name is empty)` };
      return target.slots.some((x) => x.name === slot && x.type === 'physical')
        ? { ok: true, sentence: `${target.name} has the physical slot "${slot}" ${primary.name} will stream from` }
        : {
            ok: false,
            sentence: `${target.name} has no replication slot "${slot}", which ${primary.name} needs to follow it after the switchover (slot missing)`,
          };
    },
  },
  {
    id: 'lag',
    comment: 'WAL not yet received only lengthens the switchover (the shutdown waits for it); shown as information.',
    blocking: false,
    check: ({ primary, target }) =>
      !primary || !target || target.role !== 'standby' || target.lagBytes === null
        ? undefined
        : target.lagBytes === 0
          ? { ok: true, sentence: `${target.name} holds all WAL of ${primary.name}` }
          : {
              ok: false,
              sentence: `${target.name} is ${mib(target.lagBytes)} behind ${primary.name}; the demote will wait until it caught up`,
            },
  },
  {
    id: 'replay-paused',
    comment: 'Paused WAL replay delays the promotion until replay resumes.',
    blocking: false,
    check: ({ target }) =>
      target?.role !== 'standby' || target.replayPaused === null
        ? undefined
        : target.replayPaused
          ? {
              ok: false,
              sentence: `WAL replay is paused on ${target.name} (pg_wal_replay_resume() before the switchover)`,
            }
          : { ok: true, sentence: `WAL replay runs on ${target.name}` },
  },
  {
    id: 'async',
    comment:
      'Asynchronous replication is fine for a controlled switchover (the shutdown waits for the standby) but would lose commits in a failover.',
    blocking: false,
    check: ({ o, target }) =>
      o.requireSync || !target || target.role !== 'standby' || target.syncState === null
        ? undefined
        : target.syncState === 'sync' || target.syncState === 'quorum'
          ? { ok: true, sentence: `${target.name} is synchronous (${target.syncState})` }
          : {
              ok: false,
              sentence: `${target.name} is asynchronous: fine for a switchover, but a failover now could lose acknowledged commits`,
            },
  },
];

function pickTarget(
  s: RackSnapshot,
  primary: NodeView | null,
  to: string | undefined,
): { target: NodeView | null; problem: string | null } {
  if (to !== undefined) {
    const t = s.nodes.find((n) => n.name === to);
    if (!t)
      return {
        target: null,
        problem: `there is no node named "${to}" (nodes: ${s.nodes.map((n) => n.name).join(', ')})`,
      };
    if (primary && t.name === primary.name) return { target: null, problem: `${to} is already the primary` };
    if (t.role !== 'standby') return { target: t, problem: describe(t) };
    return { target: t, problem: null };
  }
  const others = s.nodes.filter((n) => n.name !== primary?.name && !s.writablePrimaries.includes(n.name));
  const standby = others.find((n) => n.role === 'standby');
  if (standby) return { target: standby, problem: null };
  const other = others[0];
  return other
    ? { target: other, problem: describe(other) }
    : { target: null, problem: 'there is no standby to switch over to' };
}

function describe(n: NodeView): string {
  if (n.role === 'down') return `${n.name} is down (${n.reason}): there is nothing to switch over to`;
  if (n.role === 'unknown') return `the box cannot tell what ${n.name} is (${n.reason})`;
  return `${n.name} is a ${n.role}, not a standby`;
}

export function preflight(s: RackSnapshot, o: PreflightOptions): PreflightResult {
  const primary = s.primary ? (s.nodes.find((n) => n.name === s.primary) ?? null) : null;
  const { target, problem } = pickTarget(s, primary, o.to);
  const ctx: Ctx = { s, o, primary, target, targetProblem: problem };
  const checks: PreflightCheck[] = [];
  for (const row of PREFLIGHT_TABLE) {
    const r = row.check(ctx);
    if (r) checks.push({ id: row.id, ok: r.ok, blocking: row.blocking, sentence: r.sentence });
  }
  const reasons = checks.filter((c) => c.blocking && !c.ok).map((c) => c.sentence);
  const warnings = checks.filter((c) => !c.blocking && !c.ok).map((c) => c.sentence);
  const safe = reasons.length === 0;
  const from = primary?.name ?? null;
  const to = target?.name ?? null;
  const sim = s.source === 'simulated' ? ' [SIMULATED rack]' : '';
  const summary = safe
    ? `A switchover from ${from} to ${to} would be lossless now: ${to} streams timeline ${primary?.timeline} from ${from}${target?.lagBytes ? `, ${mib(target.lagBytes)} behind` : ' and holds all its WAL'}.${sim}`
    : `A switchover${from ? ` from ${from}` : ''}${to ? ` to ${to}` : ''} would NOT be safe now: ${reasons[0]}${reasons.length > 1 ? ` (and ${reasons.length - 1} more)` : ''}.${sim}`;
  return { safe, from, to, summary, reasons, warnings, checks, snapshotAt: s.at, source: s.source };
}
