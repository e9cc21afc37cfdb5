/**
 * Decision-loop heartbeats. A loop whose health matters for the watchdog (the arbitrator's
 * election loop, the fencing queue) calls `heartbeat(name)` at the end of every iteration; the
 * watchdog config lists the names it gates on with a maximum age. A loop that is stuck on an
 * await that never settles stops beating while timers keep firing, and the feed stops.
 */
import { performance } from 'node:perf_hooks';

const beats = new Map<string, number>();

/** Records that the named loop completed an iteration now. */
export function heartbeat(name: string): void {
  beats.set(name, performance.now());
}

/** Monotonic time (performance.now() ms) of the last beat, undefined when it never beat. */
export function lastHeartbeat(name: string): number | undefined {
  return beats.get(name);
}

/** For tests: forget every beat. */
export function resetHeartbeats(): void {
  beats.clear();
}
