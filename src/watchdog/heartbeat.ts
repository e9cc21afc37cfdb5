/**
 * Decision-loop heartbeats. A loop whose health matters for the watchdog calls
 * `ctx.heartbeats.beat(name)` at the end of every iteration; the watchdog config lists the names it gates
 * on with a maximum age. A loop that is stuck on an await that never settles stops beating while
 * timers keep firing, and the feed stops. The loops that beat are listed in HEARTBEATS; the
 * config refuses any other name (a name nothing beats would stop the feed for good).
 */
import { performance } from 'node:perf_hooks';

/** Every heartbeat a loop in src/ sends: name → the service that runs the loop, and which loop. */
export const HEARTBEATS = {
  arbitrator: { service: 'arbitrator', loop: 'the booth arbitrator’s ticket timer loop (every 10–100 ms)' },
  'fencing.monitor': {
    service: 'fencing',
    loop: 'the fencing device monitor (every fencing.monitor_interval_s, after every device was read)',
  },
} as const satisfies Record<string, { service: string; loop: string }>;

export type HeartbeatName = keyof typeof HEARTBEATS;

/**
 * The heartbeats of one daemon: the daemon owns one and hands it to every service on its context
 * (a loop beats, the watchdog reads), so no module state couples the services.
 */
export class Heartbeats {
  private readonly beats = new Map<string, number>();

  /** Records that the named loop completed an iteration now. */
  beat(name: HeartbeatName): void {
    this.beats.set(name, performance.now());
  }

  /** Monotonic time (performance.now() ms) of the last beat, undefined when it never beat. */
  last(name: string): number | undefined {
    return this.beats.get(name);
  }
}
