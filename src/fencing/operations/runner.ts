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
} from '../decisions/core.js';
import { DriverError, type DriverErrorKind, type PowerDriver, type PowerState } from '../devices/driver.js';

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
  return new Operation(input).run();
}

/** One operation's state, walked by the decision table (decide) until a finish step. */
class Operation {
  private readonly clock: Clock;
  private readonly t0: number;
  private readonly steps: StepLog[] = [];
  private phase: Phase = 'read';
  private level = 0;
  private plugs: PlugView[];
  private readDone = false;
  private deadline: number | undefined;
  private offVerified = false;
  private answer: OperationOutcome | undefined;

  constructor(private readonly input: RunInput) {
    this.clock = input.clock ?? realClock;
    this.t0 = this.clock.mono();
    this.plugs = initPlugs(input.levels[0]);
  }

  async run(): Promise<OperationOutcome> {
    const { input, clock, steps } = this;
    for (let n = 0; n < MAX_DECISIONS; n++) {
      const d = decide(this.snapshot());
      steps.push({ t_ms: clock.mono() - this.t0, row: d.row, reason: d.reason });
      input.onDecision?.(d, this.level);
      for (const step of d.steps) {
        const out = await this.apply(step, d);
        if (out) return out;
      }
    }
    const bound: OperationOutcome = {
      result: 'failed',
      reason: 'the fencing core did not conclude (decision bound reached)',
      steps,
      duration_ms: clock.mono() - this.t0,
    };
    if (this.answer) bound.answer = this.answer;
    return bound;
  }

  private snapshot(): Snapshot {
    const { input } = this;
    return Object.freeze({
      action: input.action,
      phase: this.phase,
      level: this.level,
      levels: input.levels.length,
      plugs: Object.freeze(this.plugs.map((p) => Object.freeze({ ...p }))),
      readDone: this.readDone,
      deadlinePassed: this.deadline !== undefined && this.clock.mono() >= this.deadline,
      offVerified: this.offVerified,
      cancelled: input.cancel?.aborted ?? false,
      rebootPowerOn: input.rebootPowerOn ?? 'after-answer',
    });
  }

  /** Carries out one step of a decision; a finish step gives the outcome. */
  private async apply(step: Decision['steps'][number], d: Decision): Promise<OperationOutcome | undefined> {
    const { input, clock } = this;
    switch (step.do) {
      case 'read':
        await this.readAll();
        break;
      case 'poll':
        await this.wait(input.timing.pollIntervalMs);
        if (!(this.offVerified && input.cancel?.aborted)) await this.readAll();
        break;
      case 'off':
      case 'on':
        await this.sendAll(step.plugs, step.do);
        break;
      case 'wait-boot':
        await this.wait(Math.max(0, (this.deadline ?? 0) - clock.mono()));
        break;
      case 'answer':
        this.giveAnswer(step, d);
        break;
      case 'phase':
        this.enterPhase(step.phase);
        break;
      case 'next-level':
        this.level++;
        this.phase = 'read';
        this.readDone = false;
        this.deadline = undefined;
        this.plugs = initPlugs(input.levels[this.level]);
        break;
      case 'finish':
        return this.finish(step, d);
    }
    return undefined;
  }

  private giveAnswer(step: Extract<Decision['steps'][number], { do: 'answer' }>, d: Decision): void {
    const a: OperationOutcome = {
      result: step.result,
      power: step.power,
      level: this.level + 1,
      verified_by: `read off: ${this.verifiedList()}`,
      reason: d.reason,
      steps: [...this.steps],
      duration_ms: this.clock.mono() - this.t0,
    };
    if (step.note) a.note = step.note;
    this.answer = a;
    this.offVerified = true;
    this.input.onAnswer?.(a);
  }

  private enterPhase(phase: Phase): void {
    const { input, clock } = this;
    this.phase = phase;
    this.readDone = false;
    this.plugs = this.plugs.map((p) => ({ ...p, sendError: undefined }));
    if (phase === 'boot-wait') {
      this.deadline = clock.mono() + input.timing.bootDelayMs;
    } else if (phase === 'verify-off' || phase === 'verify-on') {
      this.deadline = clock.mono() + input.timing.powerTimeoutMs;
    } else {
      this.deadline = undefined;
    }
    input.onPhase?.(phase, this.deadline);
  }

  private finish(step: Extract<Decision['steps'][number], { do: 'finish' }>, d: Decision): OperationOutcome {
    const { answer } = this;
    const list = this.verifiedList();
    const verified = !step.verified
      ? undefined
      : answer
        ? `read on again: ${list}`
        : `read ${step.power ?? 'state'}: ${list}`;
    const out: OperationOutcome = {
      result: step.result,
      reason: d.reason,
      steps: this.steps,
      duration_ms: this.clock.mono() - this.t0,
    };
    if (step.power) out.power = step.power;
    if (step.result === 'success' || step.verified) out.level = this.level + 1;
    if (verified) out.verified_by = verified;
    if (step.note) out.note = step.note;
    if (answer) out.answer = answer;
    return out;
  }

  /** Sleeps, cut short by a cancel (the next decision sees it). */
  private wait(ms: number): Promise<void> {
    const { clock } = this;
    const sig = this.input.cancel;
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
  }

  private verifiedList(): string {
    return this.plugs
      .map((p) => `${p.device}/${p.plug} (${this.input.drivers.get(p.device)?.family ?? '?'})`)
      .join(', ');
  }

  private async call<T>(ref: PlugRef, what: (d: PowerDriver, s: AbortSignal) => Promise<T>): Promise<T> {
    const { input } = this;
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
  }

  private async readAll(): Promise<void> {
    const levelDef = this.input.levels[this.level];
    if (!levelDef) return;
    this.plugs = await Promise.all(
      this.plugs.map(async (p, i) => {
        const ref = levelDef.plugs[i] as PlugRef;
        try {
          const state = await this.call(ref, (d, s) => d.status(ref.plug, s));
          if (state !== 'on' && state !== 'off')
            throw new DriverError('protocol', ref.device, `unexpected state ${String(state)}`);
          return { ...p, state, readError: undefined };
        } catch (e) {
          return { ...p, state: 'unknown' as const, readError: errorKind(e) };
        }
      }),
    );
    this.readDone = true;
  }

  private async sendAll(which: number[], verb: 'off' | 'on'): Promise<void> {
    const levelDef = this.input.levels[this.level];
    if (!levelDef) return;
    const errors = await Promise.all(
      which.map(async (i) => {
        const ref = levelDef.plugs[i] as PlugRef;
        try {
          await this.call(ref, (d, s) => (verb === 'off' ? d.off(ref.plug, s) : d.on(ref.plug, s)));
          return [i, undefined] as const;
        } catch (e) {
          return [i, errorKind(e)] as const;
        }
      }),
    );
    for (const [i, kind] of errors) {
      const p = this.plugs[i];
      if (p) this.plugs[i] = { ...p, sendError: kind };
    }
  }
}

function initPlugs(def: LevelDef | undefined): PlugView[] {
  return (def?.plugs ?? []).map((p) => ({ device: p.device, plug: p.plug, state: 'unknown' as const }));
}

function errorKind(e: unknown): DriverErrorKind {
  return e instanceof DriverError ? e.kind : 'io';
}
