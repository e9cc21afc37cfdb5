/**
 * The I/O edge of the fencing core: runs one operation on one target by feeding snapshots to
 * `decide()` and carrying out its steps against the drivers (reads and off/on requests of a
 * level's plugs in parallel, each bounded by the command timeout; waits on an injectable clock).
 *
 * A reboot is answered early: when the table says `answer` (every plug read off), `onAnswer`
 * gets the fence result at once, and the operation goes on with its power-on follow-up (boot
 * delay, on, verify on). The promise then resolves with the follow-up's outcome, the answer in
 * `answer`. The follow-up can be cancelled through `cancel` (waits are cut short).
 */

import {
  type Decision,
  decide,
  type FenceAction,
  type Phase,
  type PlugView,
  type RebootPowerOn,
  type Result,
  type Snapshot,
} from './core.js';
import { DriverError, type DriverErrorKind, type PowerDriver, type PowerState } from './driver.js';

export interface PlugRef {
  device: string;
  plug: string;
}

export interface LevelDef {
  plugs: readonly PlugRef[];
  description?: string;
}

export interface Timing {
  powerTimeoutMs: number;
  pollIntervalMs: number;
  commandTimeoutMs: number;
  bootDelayMs: number;
}

export interface Clock {
  /** Wall-clock ms since the epoch: timestamps only (journal, status, the guard's evidence). */
  now(): number;
  /**
   * Monotonic ms from an arbitrary origin: every deadline and elapsed time (power timeout, boot
   * delay, durations). A wall-clock step (NTP, an operator's `date -s`) must neither cut a power
   * timeout short nor stretch it.
   */
  mono(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  mono: () => performance.now(),
  sleep: (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms))),
};

export interface StepLog {
  /** ms since the operation started */
  t_ms: number;
  row: string;
  reason: string;
}

export interface OperationOutcome {
  result: Result;
  /** Power state the operation ended with, as read (absent when unknown). */
  power?: PowerState;
  /** 1-based level that produced the result (absent when no level was usable). */
  level?: number;
  /** How the result was verified, e.g. "read off: bmc-a/chassis (ipmi)". */
  verified_by?: string;
  note?: string;
  /** The final decision's sentence. */
  reason: string;
  steps: StepLog[];
  duration_ms: number;
  /** Reboot answered early: the answer given (this outcome is then its power-on follow-up's). */
  answer?: OperationOutcome;
}

export interface RunInput {
  action: FenceAction;
  levels: readonly LevelDef[];
  drivers: ReadonlyMap<string, PowerDriver>;
  timing: Timing;
  clock?: Clock;
  /** Called after every decision (events, logs). */
  onDecision?: (d: Decision, level: number) => void;
  /** Reboot: what follows the verified off (default `after-answer`). */
  rebootPowerOn?: RebootPowerOn;
  /** Reboot: the answer (off verified), given before the power-on follow-up. */
  onAnswer?: (answer: OperationOutcome) => void;
  /** Called on entering a phase, with its deadline (ms on the monotonic clock, `mono()`), e.g. the end of the boot delay. */
  onPhase?: (phase: Phase, deadline: number | undefined) => void;
  /** Cancels the power-on follow-up (the table decides what that means in each phase). */
  cancel?: AbortSignal;
}

/** Upper bound of decisions in one operation; a safety net, never reached with sane timings. */
const MAX_DECISIONS = 100_000;

export async function runOperation(input: RunInput): Promise<OperationOutcome> {
  const clock = input.clock ?? realClock;
  const t0 = clock.mono();
  const steps: StepLog[] = [];
  let phase: Phase = 'read';
  let level = 0;
  let plugs: PlugView[] = initPlugs(input.levels[0]);
  let readDone = false;
  let deadline: number | undefined;
  let offVerified = false;
  let answer: OperationOutcome | undefined;
  /** Sleeps, cut short by a cancel (the next decision sees it). */
  const wait = (ms: number): Promise<void> => {
    const sig = input.cancel;
    if (!sig) return clock.sleep(ms);
    if (sig.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        sig.removeEventListener('abort', done);
        resolve();
      };
      sig.addEventListener('abort', done);
      void clock.sleep(ms).then(done);
    });
  };
  const verifiedList = () =>
    plugs.map((p) => `${p.device}/${p.plug} (${input.drivers.get(p.device)?.family ?? '?'})`).join(', ');

  const call = async <T>(ref: PlugRef, what: (d: PowerDriver, s: AbortSignal) => Promise<T>): Promise<T> => {
    const drv = input.drivers.get(ref.device);
    if (!drv) throw new DriverError('config', ref.device, 'device is not available (its driver did not start)');
    const ac = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        ac.abort();
        reject(new DriverError('timeout', ref.device, `no answer within ${input.timing.commandTimeoutMs} ms`));
      }, input.timing.commandTimeoutMs);
    });
    try {
      return await Promise.race([what(drv, ac.signal), limit]);
    } finally {
      clearTimeout(timer);
    }
  };

  const readAll = async () => {
    const levelDef = input.levels[level];
    if (!levelDef) return;
    plugs = await Promise.all(
      plugs.map(async (p, i) => {
        const ref = levelDef.plugs[i] as PlugRef;
        try {
          const state = await call(ref, (d, s) => d.status(ref.plug, s));
          if (state !== 'on' && state !== 'off')
            throw new DriverError('protocol', ref.device, `unexpected state ${String(state)}`);
          return { ...p, state, readError: undefined };
        } catch (e) {
          return { ...p, state: 'unknown' as const, readError: errorKind(e) };
        }
      }),
    );
    readDone = true;
  };

  const sendAll = async (which: number[], verb: 'off' | 'on') => {
    const levelDef = input.levels[level];
    if (!levelDef) return;
    const errors = await Promise.all(
      which.map(async (i) => {
        const ref = levelDef.plugs[i] as PlugRef;
        try {
          await call(ref, (d, s) => (verb === 'off' ? d.off(ref.plug, s) : d.on(ref.plug, s)));
          return [i, undefined] as const;
        } catch (e) {
          return [i, errorKind(e)] as const;
        }
      }),
    );
    for (const [i, kind] of errors) {
      const p = plugs[i];
      if (p) plugs[i] = { ...p, sendError: kind };
    }
  };

  for (let n = 0; n < MAX_DECISIONS; n++) {
    const snap: Snapshot = Object.freeze({
      action: input.action,
      phase,
      level,
      levels: input.levels.length,
      plugs: Object.freeze(plugs.map((p) => Object.freeze({ ...p }))),
      readDone,
      deadlinePassed: deadline !== undefined && clock.mono() >= deadline,
      offVerified,
      cancelled: input.cancel?.aborted ?? false,
      rebootPowerOn: input.rebootPowerOn ?? 'after-answer',
    });
    const d = decide(snap);
    steps.push({ t_ms: clock.mono() - t0, row: d.row, reason: d.reason });
    input.onDecision?.(d, level);
    for (const step of d.steps) {
      switch (step.do) {
        case 'read':
          await readAll();
          break;
        case 'poll':
          await wait(input.timing.pollIntervalMs);
          if (!(offVerified && input.cancel?.aborted)) await readAll();
          break;
        case 'off':
        case 'on':
          await sendAll(step.plugs, step.do);
          break;
        case 'wait-boot':
          await wait(Math.max(0, (deadline ?? 0) - clock.mono()));
          break;
        case 'answer': {
          const a: OperationOutcome = {
            result: step.result,
            power: step.power,
            level: level + 1,
            verified_by: `read off: ${verifiedList()}`,
            reason: d.reason,
            steps: [...steps],
            duration_ms: clock.mono() - t0,
          };
          if (step.note) a.note = step.note;
          answer = a;
          offVerified = true;
          input.onAnswer?.(a);
          break;
        }
        case 'phase':
          phase = step.phase;
          readDone = false;
          plugs = plugs.map((p) => ({ ...p, sendError: undefined }));
          if (phase === 'boot-wait') {
            deadline = clock.mono() + input.timing.bootDelayMs;
          } else if (phase === 'verify-off' || phase === 'verify-on') {
            deadline = clock.mono() + input.timing.powerTimeoutMs;
          } else {
            deadline = undefined;
          }
          input.onPhase?.(phase, deadline);
          break;
        case 'next-level':
          level++;
          phase = 'read';
          readDone = false;
          deadline = undefined;
          plugs = initPlugs(input.levels[level]);
          break;
        case 'finish': {
          const list = verifiedList();
          const verified = !step.verified
            ? undefined
            : answer
              ? `read on again: ${list}`
              : `read ${step.power ?? 'state'}: ${list}`;
          const out: OperationOutcome = {
            result: step.result,
            reason: d.reason,
            steps,
            duration_ms: clock.mono() - t0,
          };
          if (step.power) out.power = step.power;
          if (step.result === 'success' || step.verified) out.level = level + 1;
          if (verified) out.verified_by = verified;
          if (step.note) out.note = step.note;
          if (answer) out.answer = answer;
          return out;
        }
      }
    }
  }
  const bound: OperationOutcome = {
    result: 'failed',
    reason: 'the fencing core did not conclude (decision bound reached)',
    steps,
    duration_ms: clock.mono() - t0,
  };
  if (answer) bound.answer = answer;
  return bound;
}

function initPlugs(def: LevelDef | undefined): PlugView[] {
  return (def?.plugs ?? []).map((p) => ({ device: p.device, plug: p.plug, state: 'unknown' as const }));
}

function errorKind(e: unknown): DriverErrorKind {
  return e instanceof DriverError ? e.kind : 'io';
}
