/**
 * The fencing decision core: a state machine written as a table, and a pure `decide(snapshot)`
 * that picks the first matching row of the current phase and returns what to do next and why.
 * No I/O here: the runner (runner.ts) reads devices, sends off/on, waits, and feeds what it saw
 * back as the next snapshot.
 *
 * Invariants the table encodes:
 * - "off" succeeds only when EVERY plug of a level was READ as off (already off counts);
 * - a reboot is ANSWERED (success) the moment every plug of the level reads off: the cluster
 *   needs the node off, not booted. The power-on is a follow-up of the same operation: it waits
 *   the boot delay, switches the same level back on and verifies on. Its outcome never changes
 *   the answer already given (a failed power-on leaves the node off: that is safe), and it can be
 *   cancelled (a later off/reboot of the target) until it is verified;
 * - nothing is switched on in a reboot before the answer (offVerified); a snapshot claiming the
 *   follow-up phases without it fails closed;
 * - a level that cannot be read, refuses, or never reaches the state fails; the next level is
 *   tried; when none is left the operation fails. Nothing else ever yields success.
 *
 * The second table (`guardTable`, `admit()`) decides what happens to a new request given what
 * the box knows: the fence-race guard (refusals) and one-operation-per-target (join, wait,
 * cancel a pending power-on, run).
 */
import {
  type ConstantRow,
  constantOutcomes,
  type DecisionTable,
  decideBy,
  type TableRow,
} from '../../decisions/table.js';
import type { DriverErrorKind, PowerState } from '../devices/driver.js';

export const fenceActions = ['off', 'on', 'reboot', 'status'] as const;
export type FenceAction = (typeof fenceActions)[number];

export const phases = ['read', 'verify-off', 'boot-wait', 'verify-on', 'level-failed'] as const;
export type Phase = (typeof phases)[number];

/** What the runner last saw of one plug of the current level. */
export interface PlugView {
  device: string;
  plug: string;
  /** Last read state; "unknown" before the first read or when the last read failed. */
  state: PowerState | 'unknown';
  /** Error of the last read, if it failed. */
  readError?: DriverErrorKind;
  /** Error of the last off/on request sent in this phase, if it failed. */
  sendError?: DriverErrorKind;
}

export interface Snapshot {
  readonly action: FenceAction;
  readonly phase: Phase;
  /** 0-based index of the level being tried. */
  readonly level: number;
  readonly levels: number;
  readonly plugs: readonly PlugView[];
  /** A read of the level's plugs happened in this phase. */
  readonly readDone: boolean;
  /** The phase deadline (power timeout, or boot delay in boot-wait) has passed. */
  readonly deadlinePassed: boolean;
  /** Reboot: off was verified and the answer given; what follows is the power-on follow-up. */
  readonly offVerified: boolean;
  /** A later request cancelled the pending power-on (only the follow-up phases look at it). */
  readonly cancelled: boolean;
  /** Reboot: power the node back on after the answer (`after-answer`), or leave it off (`never`). */
  readonly rebootPowerOn: RebootPowerOn;
}

export const rebootPowerOnModes = ['after-answer', 'never'] as const;
export type RebootPowerOn = (typeof rebootPowerOnModes)[number];

/** `cancelled` ends a power-on follow-up only (never an answer). */
export type Result = 'success' | 'failed' | 'cancelled';

export type Step =
  | { do: 'read' } // read the state of every plug of the level (in parallel)
  | { do: 'off'; plugs: number[] } // ask the devices to cut these plugs (indexes into plugs)
  | { do: 'on'; plugs: number[] }
  | { do: 'poll' } // wait the poll interval, then read
  | { do: 'wait-boot' } // wait until the boot delay has passed
  | { do: 'phase'; phase: Phase } // enter a phase (resets readDone, send errors, deadline)
  // reboot: give the cluster its answer now (off verified); the operation goes on with the follow-up
  | { do: 'answer'; result: 'success'; power: 'off'; verified: true; note?: string }
  | { do: 'next-level' } // move to the next level, phase read
  | { do: 'finish'; result: Result; power?: PowerState; verified: boolean; note?: string };

export interface Decision {
  /** Id of the table row that matched. */
  row: string;
  steps: Step[];
  reason: string;
}

/** Errors a device returns when it definitely did not act (as opposed to timeouts/io, after which it may have). */
const definiteRefusals: ReadonlySet<DriverErrorKind> = new Set([
  'auth',
  'privilege',
  'refused',
  'no-such-plug',
  'config',
]);

const allRead = (s: Snapshot) => s.plugs.every((p) => p.state !== 'unknown');
const allOff = (s: Snapshot) => s.plugs.every((p) => p.state === 'off');
const allOn = (s: Snapshot) => s.plugs.every((p) => p.state === 'on');
const anyRefused = (s: Snapshot) => s.plugs.some((p) => p.sendError !== undefined && definiteRefusals.has(p.sendError));
const idx = (s: Snapshot, want: PowerState | 'not-off' | 'all') =>
  s.plugs.flatMap((p, i) => (want === 'all' || (want === 'not-off' ? p.state !== 'off' : p.state === want) ? [i] : []));
const isOffLike = (s: Snapshot) => s.action === 'off' || s.action === 'reboot';
const staysOff = (s: Snapshot) => s.action === 'reboot' && s.rebootPowerOn === 'never';
const isFollowUp = (s: Snapshot) => s.action === 'reboot' && s.offVerified;
const lvl = (s: Snapshot) => `level ${s.level + 1}/${s.levels}`;
const plugList = (s: Snapshot, which: number[]) =>
  which.map((i) => `${s.plugs[i]?.device}/${s.plugs[i]?.plug}`).join(', ');
const unread = (s: Snapshot) =>
  s.plugs
    .filter((p) => p.state === 'unknown')
    .map((p) => `${p.device}/${p.plug}${p.readError ? ` (${p.readError})` : ''}`)
    .join(', ');

/** A row of the operation table: its outcome is the steps the runner carries out. */
export type Row = TableRow<Snapshot, Step[]> & { readonly phase: Phase };

/** The rows. Within a phase, the first row whose `when` holds wins; the last row of each phase is its catch-all. */
const rows: readonly Row[] = [
  // ── read: learn the level's power state before acting ─────────────────────────────────────
  {
    id: 'read.after-answer',
    phase: 'read',
    comment:
      'Fail closed: a reboot that has answered never starts a level again (no second answer, no other level switched).',
    when: (s) => isFollowUp(s),
    outcome: () => [{ do: 'finish', result: 'failed', verified: false }],
    reason: () => 'internal: a level read after the reboot was answered; nothing is switched',
  },
  {
    id: 'read.first',
    phase: 'read',
    comment:
      'Never act blind: read every plug of the level first (off on an already-off plug is avoided, cycle never used).',
    when: (s) => !s.readDone,
    outcome: () => [{ do: 'read' }],
    reason: (s) => `reading the power state of ${lvl(s)}`,
  },
  {
    id: 'read.unreadable',
    phase: 'read',
    comment: 'A plug whose state cannot be read cannot be verified later either: this level cannot fence.',
    when: (s) => !allRead(s),
    outcome: () => [{ do: 'phase', phase: 'level-failed' }],
    reason: (s) => `${lvl(s)} failed: cannot read ${unread(s)}`,
  },
  {
    id: 'read.status',
    phase: 'read',
    comment: 'Status: the target is on when any plug of the level is on (a dual-PSU server runs on one).',
    when: (s) => s.action === 'status',
    outcome: (s) => [{ do: 'finish', result: 'success', power: allOff(s) ? 'off' : 'on', verified: true }],
    reason: (s) => `${lvl(s)} reads ${allOff(s) ? 'off' : 'on'}`,
  },
  {
    id: 'read.already-off',
    phase: 'read',
    comment: 'Off and every plug already reads off: off is verified without acting (fence_ipmilan "Already OFF").',
    when: (s) => s.action === 'off' && allOff(s),
    outcome: () => [{ do: 'finish', result: 'success', power: 'off', verified: true, note: 'already off' }],
    reason: (s) => `every plug of ${lvl(s)} already reads off: off verified`,
  },
  {
    id: 'read.already-off-stay-off',
    phase: 'read',
    comment:
      'Reboot with reboot_power_on: never, and every plug already reads off: verified, done; the node stays off.',
    when: (s) => staysOff(s) && allOff(s),
    outcome: () => [
      { do: 'finish', result: 'success', power: 'off', verified: true, note: 'already off; reboot_power_on: never' },
    ],
    reason: (s) =>
      `every plug of ${lvl(s)} already reads off: off verified; the node stays off (reboot_power_on: never)`,
  },
  {
    id: 'read.already-off-reboot',
    phase: 'read',
    comment:
      'Reboot and every plug already reads off: off is verified, so answer the cluster now; the power-on follows after the boot delay.',
    when: (s) => s.action === 'reboot' && allOff(s),
    outcome: () => [
      { do: 'answer', result: 'success', power: 'off', verified: true, note: 'already off' },
      { do: 'phase', phase: 'boot-wait' },
    ],
    reason: (s) =>
      `every plug of ${lvl(s)} already reads off: off verified and answered; power-on follows after the boot delay`,
  },
  {
    id: 'read.send-off',
    phase: 'read',
    comment: 'Off/reboot with some plug on: cut the plugs that are not off, then verify all of them.',
    when: (s) => isOffLike(s),
    outcome: (s) => [
      { do: 'phase', phase: 'verify-off' },
      { do: 'off', plugs: idx(s, 'not-off') },
    ],
    reason: (s) => `${lvl(s)}: switching off ${plugList(s, idx(s, 'not-off'))}`,
  },
  {
    id: 'read.already-on',
    phase: 'read',
    comment: 'On and every plug already on: nothing to do.',
    when: (s) => s.action === 'on' && allOn(s),
    outcome: () => [{ do: 'finish', result: 'success', power: 'on', verified: true, note: 'already on' }],
    reason: (s) => `every plug of ${lvl(s)} already reads on`,
  },
  {
    id: 'read.send-on',
    phase: 'read',
    comment: 'On with some plug off: switch on the plugs that are off, then verify.',
    outcome: (s) => [
      { do: 'phase', phase: 'verify-on' },
      { do: 'on', plugs: idx(s, 'off') },
    ],
    reason: (s) => `${lvl(s)}: switching on ${plugList(s, idx(s, 'off'))}`,
  },

  // ── verify-off: poll until every plug reads off, or the power timeout ───────────────────────
  {
    id: 'off.not-allowed',
    phase: 'verify-off',
    comment:
      'Fail closed: only off and an unanswered reboot ever wait for power-off; an on, a status or an answered reboot here is never a success.',
    when: (s) => s.action === 'on' || s.action === 'status' || isFollowUp(s),
    outcome: () => [{ do: 'finish', result: 'failed', verified: false }],
    reason: () => 'internal: waiting for power-off in an on/status operation',
  },
  {
    id: 'off.refused',
    phase: 'verify-off',
    comment:
      'A device definitely refused the off (auth, privilege, error code, no such plug): this level cannot fence.',
    when: (s) => anyRefused(s),
    outcome: () => [{ do: 'phase', phase: 'level-failed' }],
    reason: (s) =>
      `${lvl(s)} failed: ${s.plugs
        .filter((p) => p.sendError)
        .map((p) => `${p.device}/${p.plug} refused off (${p.sendError})`)
        .join(', ')}`,
  },
  {
    id: 'off.verified-off',
    phase: 'verify-off',
    comment: 'Every plug read off after the request: the target is fenced (off).',
    when: (s) => s.readDone && s.action === 'off' && allOff(s),
    outcome: () => [{ do: 'finish', result: 'success', power: 'off', verified: true }],
    reason: (s) => `every plug of ${lvl(s)} reads off: off verified`,
  },
  {
    id: 'off.verified-reboot-stay-off',
    phase: 'verify-off',
    comment: 'Reboot with reboot_power_on: never: every plug read off, so the fence is done and the node stays off.',
    when: (s) => s.readDone && staysOff(s) && allOff(s),
    outcome: () => [{ do: 'finish', result: 'success', power: 'off', verified: true, note: 'reboot_power_on: never' }],
    reason: (s) => `every plug of ${lvl(s)} reads off: off verified; the node stays off (reboot_power_on: never)`,
  },
  {
    id: 'off.verified-reboot',
    phase: 'verify-off',
    comment:
      'Reboot: every plug read off, so the node is fenced: answer the cluster now (it needs the node off, not booted). Only now may the boot delay start.',
    when: (s) => s.readDone && allOff(s),
    outcome: () => [
      { do: 'answer', result: 'success', power: 'off', verified: true },
      { do: 'phase', phase: 'boot-wait' },
    ],
    reason: (s) =>
      `every plug of ${lvl(s)} reads off: off verified and answered; power-on follows after the boot delay`,
  },
  {
    id: 'off.timeout',
    phase: 'verify-off',
    comment:
      'The power timeout passed without every plug reading off (stuck relay, unreachable device): failure, never success.',
    when: (s) => s.deadlinePassed,
    outcome: () => [{ do: 'phase', phase: 'level-failed' }],
    reason: (s) =>
      `${lvl(s)} failed: not every plug reached off within the power timeout (${s.plugs
        .filter((p) => p.state !== 'off')
        .map((p) => `${p.device}/${p.plug}: ${p.state}${p.readError ? ` (${p.readError})` : ''}`)
        .join(', ')})`,
  },
  {
    id: 'off.poll',
    phase: 'verify-off',
    comment:
      'Not all off yet (or a read failed, or the off request timed out and may still act): read again after the poll interval.',
    outcome: () => [{ do: 'poll' }],
    reason: (s) => `${lvl(s)}: waiting for every plug to read off`,
  },

  // ── boot-wait (reboot follow-up): answered; wait until the survivor has seen the node leave ─
  {
    id: 'boot.unverified',
    phase: 'boot-wait',
    comment:
      'Fail closed: the boot delay is only ever entered after a verified, answered off; anything else must not switch power on.',
    when: (s) => !isFollowUp(s),
    outcome: () => [{ do: 'finish', result: 'failed', verified: false }],
    reason: () => 'internal: boot delay without a verified off; nothing is switched on',
  },
  {
    id: 'boot.cancelled',
    phase: 'boot-wait',
    comment:
      'A later off/reboot of the target cancelled the pending power-on before anything was switched on: the node stays off.',
    when: (s) => s.cancelled,
    outcome: () => [{ do: 'finish', result: 'cancelled', power: 'off', verified: false }],
    reason: () => 'pending power-on cancelled before it was sent; the node stays off',
  },
  {
    id: 'boot.wait',
    phase: 'boot-wait',
    comment:
      'Wait the boot delay (> corosync token + consensus) so the node cannot rejoin before its fencing is acknowledged.',
    when: (s) => !s.deadlinePassed,
    outcome: () => [{ do: 'wait-boot' }],
    reason: () => 'off verified and answered; waiting the boot delay before power-on',
  },
  {
    id: 'boot.power-on',
    phase: 'boot-wait',
    comment: 'Boot delay over: switch every plug of the level that verified off back on.',
    outcome: (s) => [
      { do: 'phase', phase: 'verify-on' },
      { do: 'on', plugs: idx(s, 'all') },
    ],
    reason: (s) => `boot delay over: switching on ${plugList(s, idx(s, 'all'))}`,
  },

  // ── verify-on: poll until every plug reads on (action on, or the reboot follow-up) ───────────
  {
    id: 'on.not-allowed',
    phase: 'verify-on',
    comment:
      'Fail closed: only on and an answered reboot ever wait for power-on; an off, a status or an unanswered reboot here is never a success.',
    when: (s) => s.action === 'off' || s.action === 'status' || (s.action === 'reboot' && !s.offVerified),
    outcome: () => [{ do: 'finish', result: 'failed', verified: false }],
    reason: () => 'internal: waiting for power-on without a verified off; not reported as fenced',
  },
  {
    id: 'on.cancelled',
    phase: 'verify-on',
    comment:
      'A later off/reboot cancelled the follow-up after the on was sent: stop here; the new request reads the real state and cuts power again.',
    when: (s) => isFollowUp(s) && s.cancelled,
    outcome: () => [{ do: 'finish', result: 'cancelled', verified: false }],
    reason: () => 'power-on cancelled after it was sent; the next request reads the real state',
  },
  {
    id: 'on.refused-after-off',
    phase: 'verify-on',
    comment:
      'Follow-up whose power-on was refused: the power-on failed (loudly), the node stays off; the fence answer already given stands.',
    when: (s) => isFollowUp(s) && anyRefused(s),
    outcome: () => [
      { do: 'finish', result: 'failed', power: 'off', verified: false, note: 'power-on refused after a verified off' },
    ],
    reason: (s) => `power-on of ${lvl(s)} was refused; the node stays off (its fence answer stands)`,
  },
  {
    id: 'on.refused',
    phase: 'verify-on',
    comment: 'On refused by a device: this level cannot switch the target on.',
    when: (s) => anyRefused(s),
    outcome: () => [{ do: 'phase', phase: 'level-failed' }],
    reason: (s) => `${lvl(s)} failed: a device refused power-on`,
  },
  {
    id: 'on.verified',
    phase: 'verify-on',
    comment: 'Every plug reads on: on (or the power-on follow-up of a reboot) done.',
    when: (s) => s.readDone && allOn(s),
    outcome: (s) => [
      { do: 'finish', result: 'success', power: 'on', verified: true, note: s.offVerified ? 'rebooted' : undefined },
    ],
    reason: (s) =>
      s.offVerified ? `every plug of ${lvl(s)} reads on again after the reboot` : `every plug of ${lvl(s)} reads on`,
  },
  {
    id: 'on.timeout-after-off',
    phase: 'verify-on',
    comment:
      'Follow-up whose power-on never showed within the power timeout: the power-on failed (loudly); the fence answer already given stands.',
    when: (s) => isFollowUp(s) && s.deadlinePassed,
    outcome: () => [
      { do: 'finish', result: 'failed', verified: false, note: 'power-on not verified after a verified off' },
    ],
    reason: (s) => `power-on of ${lvl(s)} was not seen within the power timeout (the fence answer stands)`,
  },
  {
    id: 'on.timeout',
    phase: 'verify-on',
    comment: 'On never showed within the power timeout: this level failed.',
    when: (s) => s.deadlinePassed,
    outcome: () => [{ do: 'phase', phase: 'level-failed' }],
    reason: (s) => `${lvl(s)} failed: not every plug reached on within the power timeout`,
  },
  {
    id: 'on.poll',
    phase: 'verify-on',
    comment: 'Not all on yet: read again after the poll interval.',
    outcome: () => [{ do: 'poll' }],
    reason: (s) => `${lvl(s)}: waiting for every plug to read on`,
  },

  // ── level-failed: next level, or the operation fails ─────────────────────────────────────
  {
    id: 'level.after-answer',
    phase: 'level-failed',
    comment:
      'Fail closed: after the answer, no other level is ever switched (on or off); the follow-up failed, the answer stands.',
    when: (s) => isFollowUp(s),
    outcome: () => [{ do: 'finish', result: 'failed', verified: false }],
    reason: (s) => `power-on follow-up failed at ${lvl(s)}; no other level is switched`,
  },
  {
    id: 'level.next',
    phase: 'level-failed',
    comment: 'Another level is configured (e.g. the PDU outlets after the BMC): try it from its first read.',
    when: (s) => s.level + 1 < s.levels,
    outcome: () => [{ do: 'next-level' }],
    reason: (s) => `${lvl(s)} failed; trying level ${s.level + 2}/${s.levels}`,
  },
  {
    id: 'level.exhausted',
    phase: 'level-failed',
    comment: 'No level left: the operation failed. Never reported as fenced.',
    outcome: () => [{ do: 'finish', result: 'failed', verified: false }],
    reason: (s) => `every level failed (${s.levels} tried)`,
  },
];

/** The operation table (src/decisions/table.ts shape; docs/tables.md is generated from it). */
export const fencingTable: DecisionTable<Snapshot, Step[]> = {
  name: 'Fencing operation',
  summary:
    'One fence operation (off, on, reboot, status) as a state machine over the plugs of one level: the runner (src/fencing/operations/runner.ts) builds a snapshot of what it last read and sent, carries out the steps of the matching row, and asks again. Success only ever comes from plugs read in the state asked for.',
  phases,
  phaseOf: (s) => s.phase,
  rows,
};

/** Picks the first row of the snapshot's phase that matches. Pure. */
export function decide(s: Snapshot): Decision {
  const d = decideBy(fencingTable, s);
  return { row: d.row, steps: d.outcome, reason: d.reason };
}

// ══ The request guard: what happens to a new request, from what the box knows ══════════════════
//
// Pure, like decide(): the fencer passes a snapshot (who asks, for what, what runs, the last
// power the box knows of every node, now) and carries out the verdict. The fence-race guard
// refuses only on POSITIVE knowledge that the requester cannot be alive: it is being fenced
// right now, or its power was verified off and never seen on again (confirmed by a fresh read),
// or the box switched it on too recently for it to have booted. A node whose reboot completed
// and that is sending requests is alive: it is served (the only live node must always be able
// to fence).

/** How the box learned a node's power: its own verified off, its own verified power-on, or a read. */
export type PowerHow = 'verified-off' | 'powered-on' | 'read';

export interface PowerKnowledge {
  state: PowerState;
  /** When the box learned it (ms, the fencer's clock). */
  atMs: number;
  how: PowerHow;
}

/** `fence`: before the answer (or an on/status); `follow-up`: a reboot's power-on after its answer. */
export type RunningStage = 'fence' | 'follow-up';

export interface RunningView {
  action: FenceAction;
  stage: RunningStage;
  sinceMs: number;
}

export interface GuardSnapshot {
  readonly action: FenceAction;
  readonly target: string;
  /** Cluster node the request comes from (by its source address); absent for the CLI or an unknown address. */
  readonly requester?: string;
  readonly nowMs: number;
  /** Operation running per target. */
  readonly running: Readonly<Record<string, RunningView>>;
  /** Last power the box knows per node. */
  readonly power: Readonly<Record<string, PowerKnowledge>>;
  /** The requester's power as read for THIS request (the guard asks for it before refusing on an old "off"). */
  readonly requesterRead?: PowerState | 'unreadable';
  /** A node the box powered on less than this long ago cannot have booted and rejoined yet. */
  readonly requesterBootMs: number;
}

export type Verdict =
  | 'refuse' // journal one sentence, answer "refused", touch nothing
  | 'read-requester' // read the requester's power now, then decide again
  | 'join' // the same action runs on the target: share its answer
  | 'wait-answer' // another action runs on the target: wait for its answer, then decide again
  | 'wait-done' // wait until the target's operation (incl. its follow-up) ends, then decide again
  | 'cancel-follow-up' // cancel the target's pending power-on, wait for it to stop, then decide again
  | 'run' // start the operation
  | 'run-beside'; // a read-only status next to a running power-on follow-up

/** A guard row as written: its outcome is a constant verdict (`out`). */
export type GuardRow = ConstantRow<GuardSnapshot, Verdict>;

export interface GuardDecision {
  row: string;
  verdict: Verdict;
  reason: string;
}

/** The guard looks at requests to off/reboot a target, from a known node other than the target. */
const guarded = (s: GuardSnapshot) =>
  (s.action === 'off' || s.action === 'reboot') && s.requester !== undefined && s.requester !== s.target;
const reqRun = (s: GuardSnapshot) => (s.requester === undefined ? undefined : s.running[s.requester]);
const reqPower = (s: GuardSnapshot) => (s.requester === undefined ? undefined : s.power[s.requester]);
const tgtRun = (s: GuardSnapshot) => s.running[s.target];
const ago = (s: GuardSnapshot, at: number | undefined) =>
  at === undefined ? '?' : `${Math.max(0, (s.nowMs - at) / 1000).toFixed(1)} s`;

/** The guard rows. The first row whose `when` holds wins; the last row is the catch-all. */
const guardRows: readonly GuardRow[] = [
  // ── fence race: refuse only what the box positively knows cannot come from a live node ──────
  {
    id: 'guard.requester-being-fenced',
    comment:
      'True fence race: the requester is itself being fenced right now by an earlier request. The first request wins.',
    when: (s) => guarded(s) && reqRun(s)?.stage === 'fence' && ['off', 'reboot'].includes(reqRun(s)?.action ?? ''),
    out: 'refuse',
    reason: (s) =>
      `refused: the request comes from ${s.requester}, which the box has been fencing for ${ago(s, reqRun(s)?.sinceMs)} (fence race: the first request won)`,
  },
  {
    id: 'guard.requester-power-on-pending',
    comment:
      'The requester was just fenced and its power-on follow-up has not completed: it is off (or only just powered), so it cannot be asking.',
    when: (s) => guarded(s) && reqRun(s)?.stage === 'follow-up',
    out: 'refuse',
    reason: (s) =>
      `refused: the request comes from ${s.requester}, which the box fenced ${ago(s, reqPower(s)?.atMs)} ago and has not powered back on yet (power-on pending): a request cannot come from it`,
  },
  {
    id: 'guard.requester-reads-off',
    comment:
      'The box verified the requester off, never saw it on again, and a fresh read says off: the request is spoofed, stale, or its address is misconfigured.',
    when: (s) => guarded(s) && s.requesterRead === 'off',
    out: 'refuse',
    reason: (s) =>
      `refused: the request comes from ${s.requester}'s address, but ${s.requester} reads off right now (last known ${reqPower(s)?.state ?? 'off'} since ${ago(s, reqPower(s)?.atMs)} ago): it cannot come from that node (spoofed, stale, or wrong addresses for ${s.requester})`,
  },
  {
    id: 'guard.requester-off-unconfirmed',
    comment:
      'The box last knew the requester off. A node that sends requests is alive (powered on by hand, or a missed read), so read its power before deciding; never refuse on an old reading.',
    when: (s) => guarded(s) && reqPower(s)?.state === 'off' && s.requesterRead === undefined,
    out: 'read-requester',
    reason: (s) =>
      `${s.requester} was last known off (${ago(s, reqPower(s)?.atMs)} ago); reading its power before deciding`,
  },
  {
    id: 'guard.requester-just-powered-on',
    comment:
      'The box itself switched the requester on less than requester_boot_s ago: it cannot have booted and rejoined the cluster yet.',
    when: (s) =>
      guarded(s) &&
      s.requesterRead !== 'unreadable' &&
      reqPower(s)?.how === 'powered-on' &&
      s.nowMs - (reqPower(s)?.atMs ?? 0) < s.requesterBootMs,
    out: 'refuse',
    reason: (s) =>
      `refused: the request comes from ${s.requester}, which the box powered on ${ago(s, reqPower(s)?.atMs)} ago; no node boots and rejoins that fast (requester_boot_s ${s.requesterBootMs / 1000} s)`,
  },

  // ── one operation per target ─────────────────────────────────────────────────────────────
  {
    id: 'busy.idle',
    comment: 'Nothing runs on the target: run the operation.',
    when: (s) => tgtRun(s) === undefined,
    out: 'run',
    reason: (s) => `nothing runs on ${s.target}: starting ${s.action}`,
  },
  {
    id: 'busy.join',
    comment: 'The same action runs on the target and has not answered yet: share its answer (one set of requests).',
    when: (s) => tgtRun(s)?.stage === 'fence' && tgtRun(s)?.action === s.action,
    out: 'join',
    reason: (s) => `${s.action} of ${s.target} is already running: joining it`,
  },
  {
    id: 'busy.wait',
    comment: 'Another action runs on the target: wait for its answer, then decide again. Nothing interleaves.',
    when: (s) => tgtRun(s)?.stage === 'fence',
    out: 'wait-answer',
    reason: (s) => `${tgtRun(s)?.action} of ${s.target} is running: ${s.action} waits for it`,
  },
  {
    id: 'busy.follow-up-status',
    comment:
      'Status while a power-on follow-up runs: read the real state now (read-only) instead of waiting out the boot delay.',
    when: (s) => s.action === 'status',
    out: 'run-beside',
    reason: (s) => `a power-on of ${s.target} is pending: reading its state now`,
  },
  {
    id: 'busy.follow-up-cancel',
    comment:
      'Off or reboot while a power-on follow-up runs: cancel the pending power-on, then run it afresh (it reads the real state; a reboot restarts the boot delay).',
    when: (s) => s.action === 'off' || s.action === 'reboot',
    out: 'cancel-follow-up',
    reason: (s) => `${s.action} of ${s.target} cancels its pending power-on`,
  },
  {
    id: 'busy.follow-up-on',
    comment:
      'On while a power-on follow-up runs: wait for it (the boot delay must hold), then run; it then reads on, or switches on if the follow-up failed.',
    out: 'wait-done',
    reason: (s) => `a power-on of ${s.target} is pending: on waits for it`,
  },
];

/** The request guard table (src/decisions/table.ts shape; docs/tables.md is generated from it). */
export const guardTable: DecisionTable<GuardSnapshot, Verdict> = {
  name: 'Fence request guard',
  summary:
    "What happens to a new fence request, from what the box knows (src/fencing/operations/fencer.ts builds the snapshot: who asks, what runs, the last power known of every node, the requester's fresh read, the time). The fence-race rows refuse only on positive knowledge that the requester cannot be alive; the busy rows keep one operation per target.",
  ...constantOutcomes(guardRows, (verdict) => verdict),
};

/** Picks the first matching guard row. Pure: `now` is in the snapshot. */
export function admit(s: GuardSnapshot): GuardDecision {
  const d = decideBy(guardTable, s);
  return { row: d.row, verdict: d.outcome, reason: d.reason };
}
