/**
 * The fencing decision core: a state machine written as a table, and a pure `decide(snapshot)`
 * that picks the first matching row of the current phase and returns what to do next and why.
 * No I/O here: the runner (runner.ts) reads devices, sends off/on, waits, and feeds what it saw
 * back as the next snapshot.
 *
 * Invariants the table encodes:
 * - "off" succeeds only when EVERY plug of a level was READ as off (already off counts);
 * - a reboot turns nothing back on until every plug of the level was read off, then waits the
 *   boot delay; it succeeds once off was verified, even if power-on then fails;
 * - a level that cannot be read, refuses, or never reaches the state fails; the next level is
 *   tried; when none is left the operation fails. Nothing else ever yields success.
 */
import type { DriverErrorKind, PowerState } from './driver.js';

export const fenceActions = ['off', 'on', 'reboot', 'status'] as const;
export type FenceAction = (typeof fenceActions)[number];

export type Phase = 'read' | 'verify-off' | 'boot-wait' | 'verify-on' | 'level-failed';

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
  /** Off was verified earlier in this operation (reboot). */
  readonly offVerified: boolean;
}

export type Result = 'success' | 'failed';

export type Step =
  | { do: 'read' } // read the state of every plug of the level (in parallel)
  | { do: 'off'; plugs: number[] } // ask the devices to cut these plugs (indexes into plugs)
  | { do: 'on'; plugs: number[] }
  | { do: 'poll' } // wait the poll interval, then read
  | { do: 'wait-boot' } // wait until the boot delay has passed
  | { do: 'phase'; phase: Phase } // enter a phase (resets readDone, send errors, deadline)
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
const lvl = (s: Snapshot) => `level ${s.level + 1}/${s.levels}`;
const plugList = (s: Snapshot, which: number[]) =>
  which.map((i) => `${s.plugs[i]?.device}/${s.plugs[i]?.plug}`).join(', ');
const unread = (s: Snapshot) =>
  s.plugs
    .filter((p) => p.state === 'unknown')
    .map((p) => `${p.device}/${p.plug}${p.readError ? ` (${p.readError})` : ''}`)
    .join(', ');

export interface Row {
  id: string;
  phase: Phase;
  /** Comment: why this row exists. */
  comment: string;
  when: (s: Snapshot) => boolean;
  steps: (s: Snapshot) => Step[];
  reason: (s: Snapshot) => string;
}

/** The table. Within a phase, the first row whose `when` holds wins; the last row of each phase is its catch-all. */
export const table: readonly Row[] = [
  // ── read: learn the level's power state before acting ─────────────────────────────────────
  {
    id: 'read.first',
    phase: 'read',
    comment:
      'Never act blind: read every plug of the level first (off on an already-off plug is avoided, cycle never used).',
    when: (s) => !s.readDone,
    steps: () => [{ do: 'read' }],
    reason: (s) => `reading the power state of ${lvl(s)}`,
  },
  {
    id: 'read.unreadable',
    phase: 'read',
    comment: 'A plug whose state cannot be read cannot be verified later either: this level cannot fence.',
    when: (s) => !allRead(s),
    steps: () => [{ do: 'phase', phase: 'level-failed' }],
    reason: (s) => `${lvl(s)} failed: cannot read ${unread(s)}`,
  },
  {
    id: 'read.status',
    phase: 'read',
    comment: 'Status: the target is on when any plug of the level is on (a dual-PSU server runs on one).',
    when: (s) => s.action === 'status',
    steps: (s) => [{ do: 'finish', result: 'success', power: allOff(s) ? 'off' : 'on', verified: true }],
    reason: (s) => `${lvl(s)} reads ${allOff(s) ? 'off' : 'on'}`,
  },
  {
    id: 'read.already-off',
    phase: 'read',
    comment:
      'Off/reboot and every plug already reads off: off is verified without acting (fence_ipmilan "Already OFF").',
    when: (s) => isOffLike(s) && allOff(s),
    steps: (s) =>
      s.action === 'off'
        ? [{ do: 'finish', result: 'success', power: 'off', verified: true, note: 'already off' }]
        : [{ do: 'phase', phase: 'boot-wait' }],
    reason: (s) =>
      s.action === 'off'
        ? `every plug of ${lvl(s)} already reads off: off verified`
        : `every plug of ${lvl(s)} already reads off: off verified, waiting the boot delay before power-on`,
  },
  {
    id: 'read.send-off',
    phase: 'read',
    comment: 'Off/reboot with some plug on: cut the plugs that are not off, then verify all of them.',
    when: (s) => isOffLike(s),
    steps: (s) => [
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
    steps: () => [{ do: 'finish', result: 'success', power: 'on', verified: true, note: 'already on' }],
    reason: (s) => `every plug of ${lvl(s)} already reads on`,
  },
  {
    id: 'read.send-on',
    phase: 'read',
    comment: 'On with some plug off: switch on the plugs that are off, then verify.',
    when: () => true,
    steps: (s) => [
      { do: 'phase', phase: 'verify-on' },
      { do: 'on', plugs: idx(s, 'off') },
    ],
    reason: (s) => `${lvl(s)}: switching on ${plugList(s, idx(s, 'off'))}`,
  },

  // ── verify-off: poll until every plug reads off, or the power timeout ───────────────────────
  {
    id: 'off.refused',
    phase: 'verify-off',
    comment:
      'A device definitely refused the off (auth, privilege, error code, no such plug): this level cannot fence.',
    when: (s) => anyRefused(s),
    steps: () => [{ do: 'phase', phase: 'level-failed' }],
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
    steps: () => [{ do: 'finish', result: 'success', power: 'off', verified: true }],
    reason: (s) => `every plug of ${lvl(s)} reads off: off verified`,
  },
  {
    id: 'off.verified-reboot',
    phase: 'verify-off',
    comment:
      'Reboot: every plug read off, only now may the boot delay start (no plug goes back on before all are off).',
    when: (s) => s.readDone && allOff(s),
    steps: () => [{ do: 'phase', phase: 'boot-wait' }],
    reason: (s) => `every plug of ${lvl(s)} reads off: off verified, waiting the boot delay before power-on`,
  },
  {
    id: 'off.timeout',
    phase: 'verify-off',
    comment:
      'The power timeout passed without every plug reading off (stuck relay, unreachable device): failure, never success.',
    when: (s) => s.deadlinePassed,
    steps: () => [{ do: 'phase', phase: 'level-failed' }],
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
    when: () => true,
    steps: () => [{ do: 'poll' }],
    reason: (s) => `${lvl(s)}: waiting for every plug to read off`,
  },

  // ── boot-wait (reboot): off is verified; wait until the survivor has seen the node leave ───
  {
    id: 'boot.wait',
    phase: 'boot-wait',
    comment:
      'Wait the boot delay (> corosync token + consensus) so the node cannot rejoin before its fencing is acknowledged.',
    when: (s) => !s.deadlinePassed,
    steps: () => [{ do: 'wait-boot' }],
    reason: () => 'off verified; waiting the boot delay before power-on',
  },
  {
    id: 'boot.power-on',
    phase: 'boot-wait',
    comment: 'Boot delay over: switch every plug of the level back on.',
    when: () => true,
    steps: (s) => [
      { do: 'phase', phase: 'verify-on' },
      { do: 'on', plugs: idx(s, 'all') },
    ],
    reason: (s) => `boot delay over: switching on ${plugList(s, idx(s, 'all'))}`,
  },

  // ── verify-on: poll until every plug reads on ─────────────────────────────────────────────
  {
    id: 'on.refused-after-off',
    phase: 'verify-on',
    comment: 'Reboot whose power-on was refused: off was verified, so the fence succeeded; the failed on is reported.',
    when: (s) => s.offVerified && anyRefused(s),
    steps: () => [
      { do: 'finish', result: 'success', power: 'off', verified: true, note: 'power-on refused after a verified off' },
    ],
    reason: (s) => `off verified; power-on of ${lvl(s)} was refused, the node stays off`,
  },
  {
    id: 'on.refused',
    phase: 'verify-on',
    comment: 'On refused by a device: this level cannot switch the target on.',
    when: (s) => anyRefused(s),
    steps: () => [{ do: 'phase', phase: 'level-failed' }],
    reason: (s) => `${lvl(s)} failed: a device refused power-on`,
  },
  {
    id: 'on.verified',
    phase: 'verify-on',
    comment: 'Every plug reads on: on (or the on half of a reboot) done.',
    when: (s) => s.readDone && allOn(s),
    steps: (s) => [
      { do: 'finish', result: 'success', power: 'on', verified: true, note: s.offVerified ? 'rebooted' : undefined },
    ],
    reason: (s) =>
      s.offVerified ? `off verified, then every plug of ${lvl(s)} reads on again` : `every plug of ${lvl(s)} reads on`,
  },
  {
    id: 'on.timeout-after-off',
    phase: 'verify-on',
    comment:
      'Reboot whose power-on never showed: off was verified, so the fence succeeded (fence-agents rule); reported.',
    when: (s) => s.offVerified && s.deadlinePassed,
    steps: () => [
      {
        do: 'finish',
        result: 'success',
        power: 'off',
        verified: true,
        note: 'power-on not verified after a verified off',
      },
    ],
    reason: () => 'off verified; power-on was not seen within the power timeout',
  },
  {
    id: 'on.timeout',
    phase: 'verify-on',
    comment: 'On never showed within the power timeout: this level failed.',
    when: (s) => s.deadlinePassed,
    steps: () => [{ do: 'phase', phase: 'level-failed' }],
    reason: (s) => `${lvl(s)} failed: not every plug reached on within the power timeout`,
  },
  {
    id: 'on.poll',
    phase: 'verify-on',
    comment: 'Not all on yet: read again after the poll interval.',
    when: () => true,
    steps: () => [{ do: 'poll' }],
    reason: (s) => `${lvl(s)}: waiting for every plug to read on`,
  },

  // ── level-failed: next level, or the operation fails ─────────────────────────────────────
  {
    id: 'level.next',
    phase: 'level-failed',
    comment: 'Another level is configured (e.g. the PDU outlets after the BMC): try it from its first read.',
    when: (s) => s.level + 1 < s.levels,
    steps: () => [{ do: 'next-level' }],
    reason: (s) => `${lvl(s)} failed; trying level ${s.level + 2}/${s.levels}`,
  },
  {
    id: 'level.exhausted',
    phase: 'level-failed',
    comment: 'No level left: the operation failed. Never reported as fenced.',
    when: () => true,
    steps: (s) => [{ do: 'finish', result: 'failed', verified: false, power: s.offVerified ? 'off' : undefined }],
    reason: (s) => `every level failed (${s.levels} tried)`,
  },
];

/** Picks the first row of the snapshot's phase that matches. Pure. */
export function decide(s: Snapshot): Decision {
  for (const row of table) {
    if (row.phase === s.phase && row.when(s)) return { row: row.id, steps: row.steps(s), reason: row.reason(s) };
  }
  // unreachable: every phase ends with a catch-all row (checked by the tests)
  throw new Error(`fencing table has no row for phase ${s.phase}`);
}
