/**
 * The I/O edge of the fencing core: runs one operation on one target by feeding snapshots to
 * `decide()` and carrying out its steps against the drivers (reads and off/on requests of a
 * level's plugs in parallel, each bounded by the command timeout; waits on an injectable clock).
 */

import {
  type Decision,
  decide,
  type FenceAction,
  type Phase,
  type PlugView,
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
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
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
}

export interface RunInput {
  action: FenceAction;
  levels: readonly LevelDef[];
  drivers: ReadonlyMap<string, PowerDriver>;
  timing: Timing;
  clock?: Clock;
  /** Called after every decision (events, logs). */
  onDecision?: (d: Decision, level: number) => void;
}

/** Upper bound of decisions in one operation; a safety net, never reached with sane timings. */
const MAX_DECISIONS = 100_000;

export async function runOperation(input: RunInput): Promise<OperationOutcome> {
  const clock = input.clock ?? realClock;
  const t0 = clock.now();
  const steps: StepLog[] = [];
  let phase: Phase = 'read';
  let level = 0;
  let plugs: PlugView[] = initPlugs(input.levels[0]);
  let readDone = false;
  let deadline: number | undefined;
  let offVerified = false;

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
      deadlinePassed: deadline !== undefined && clock.now() >= deadline,
      offVerified,
    });
    const d = decide(snap);
    steps.push({ t_ms: clock.now() - t0, row: d.row, reason: d.reason });
    input.onDecision?.(d, level);
    for (const step of d.steps) {
      switch (step.do) {
        case 'read':
          await readAll();
          break;
        case 'poll':
          await clock.sleep(input.timing.pollIntervalMs);
          await readAll();
          break;
        case 'off':
        case 'on':
          await sendAll(step.plugs, step.do);
          break;
        case 'wait-boot':
          await clock.sleep(Math.max(0, (deadline ?? 0) - clock.now()));
          break;
        case 'phase':
          phase = step.phase;
          readDone = false;
          plugs = plugs.map((p) => ({ ...p, sendError: undefined }));
          if (phase === 'boot-wait') {
            offVerified = true;
            deadline = clock.now() + input.timing.bootDelayMs;
          } else if (phase === 'verify-off' || phase === 'verify-on') {
            deadline = clock.now() + input.timing.powerTimeoutMs;
          } else {
            deadline = undefined;
          }
          break;
        case 'next-level':
          level++;
          phase = 'read';
          readDone = false;
          deadline = undefined;
          plugs = initPlugs(input.levels[level]);
          break;
        case 'finish': {
          const list = plugs
            .map((p) => `${p.device}/${p.plug} (${input.drivers.get(p.device)?.family ?? '?'})`)
            .join(', ');
          const verified = !step.verified
            ? undefined
            : input.action === 'reboot' && offVerified
              ? `read off${step.power === 'on' ? ', then on' : ''}: ${list}`
              : `read ${step.power ?? 'state'}: ${list}`;
          const out: OperationOutcome = {
            result: step.result,
            reason: d.reason,
            steps,
            duration_ms: clock.now() - t0,
          };
          if (step.power) out.power = step.power;
          if (step.result === 'success' || step.verified) out.level = level + 1;
          if (verified) out.verified_by = verified;
          if (step.note) out.note = step.note;
          return out;
        }
      }
    }
  }
  return {
    result: 'failed',
    reason: 'the fencing core did not conclude (decision bound reached)',
    steps,
    duration_ms: clock.now() - t0,
  };
}

function initPlugs(def: LevelDef | undefined): PlugView[] {
  return (def?.plugs ?? []).map((p) => ({ device: p.device, plug: p.plug, state: 'unknown' as const }));
}

function errorKind(e: unknown): DriverErrorKind {
  return e instanceof DriverError ? e.kind : 'io';
}
