/**
 * The daemon's verified operation on a one-level target (one device, one plug), for the
 * diagnostic CLIs (`rackwitness ipmi ... power`, `rackwitness pdu ... outlet`): the same fencing
 * core and runner as a fence, so "verified" means one thing everywhere. It reads first, switches
 * only what is not yet in the wanted state, verifies by reading the new state back, and a reboot
 * is off verified, the boot delay, then on verified.
 */
import type { FenceAction } from '../decisions/core.js';
import { DriverError, type DriverErrorKind, type PowerDriver, type PowerState } from '../devices/driver.js';
import { type OperationOutcome, runOperation, type Timing } from './runner.js';

export type OneLevelAction = Exclude<FenceAction, 'status'>;

export interface OneLevelResult {
  ok: boolean;
  /** The power state the operation ended with, as read. */
  state?: PowerState;
  /** The sentence that explains the result (on failure: the level's failure, then what the device said). */
  reason: string;
  /** Reboot: ms until off was verified (the answer a fence gives). */
  offMs?: number;
  ms: number;
  /** Device reads and switch requests made. */
  reads: number;
  /** The kind of the last device error (auth, privilege, no-such-plug, timeout...), if any. */
  kind?: DriverErrorKind;
  outcome: OperationOutcome;
}

/**
 * Runs `action` on `plug` of `driver` through the fencing core. Never reports success without a
 * read of the wanted state; a reboot succeeds only when on was verified after the boot delay.
 */
export async function runOneLevel(
  driver: PowerDriver,
  plug: string,
  action: OneLevelAction,
  timing: Timing,
): Promise<OneLevelResult> {
  let lastError: DriverError | undefined;
  let reads = 0;
  const watch = async <T>(op: () => Promise<T>): Promise<T> => {
    try {
      return await op();
    } catch (e) {
      if (e instanceof DriverError) lastError = e;
      throw e;
    }
  };
  // the same driver, with what it said kept for the message (the core only keeps error kinds)
  const watched: PowerDriver = {
    family: driver.family,
    device: driver.device,
    status: (p, s) => {
      reads++;
      return watch(() => driver.status(p, s));
    },
    off: (p, s) => watch(() => driver.off(p, s)),
    on: (p, s) => watch(() => driver.on(p, s)),
    close: () => driver.close(),
  };
  const outcome = await runOperation({
    action,
    levels: [{ plugs: [{ device: driver.device, plug }] }],
    drivers: new Map([[driver.device, watched]]),
    timing,
  });
  const ok = outcome.result === 'success';
  // "every level failed (1 tried)" says less than the level's own failure sentence
  const levelFailure = [...outcome.steps]
    .reverse()
    .find((s) => / failed/.test(s.reason) && !/^every level/.test(s.reason));
  let reason = ok ? outcome.reason : (levelFailure?.reason ?? outcome.reason);
  if (!ok && lastError) reason += `; ${lastError.device}: ${lastError.message}`;
  // a reboot whose power-on failed did verify the off (a fence would have answered success)
  if (!ok && outcome.answer) reason = `off verified, then the power-on failed: ${reason}`;
  const r: OneLevelResult = { ok, reason, ms: Math.round(outcome.duration_ms), reads, outcome };
  if (outcome.power) r.state = outcome.power;
  if (outcome.answer) r.offMs = Math.round(outcome.answer.duration_ms);
  if (!ok && lastError) r.kind = lastError.kind;
  return r;
}
