/**
 * The watchdog's feed ticks as something other services can follow: every tick publishes what
 * the watchdog saw (the health of every service) and decided (feed or not). The watchdog owns
 * one and provides it as "watchdog.feed" (src/daemon/providers.ts); the board service shows it on
 * the status LEDs. The watchdog never knows who listens.
 */
import type { Health } from '../daemon/service.js';

export interface FeedTick {
  /** The watchdog's monotonic clock (ms) at the tick. */
  now: number;
  /** The gate's decision (a failed keepalive write does not change it). */
  feeding: boolean;
  /** The health of every service, as the gate read it for this tick. */
  health: Record<string, Health>;
}

export type FeedTickListener = (t: FeedTick) => void;

/** Read side: what a follower sees. */
export interface FeedTicks {
  /** The last tick, undefined before the first. */
  last(): FeedTick | undefined;
  /** Calls `l` after every tick from now on; returns the unsubscribe function. */
  onTick(l: FeedTickListener): () => void;
}

export class FeedTickHub implements FeedTicks {
  private latest: FeedTick | undefined;
  private readonly listeners = new Set<FeedTickListener>();

  publish(t: FeedTick): void {
    this.latest = t;
    for (const l of this.listeners) {
      try {
        l(t);
      } catch {
        // a follower must not break the feed tick
      }
    }
  }

  last(): FeedTick | undefined {
    return this.latest;
  }

  onTick(l: FeedTickListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}
