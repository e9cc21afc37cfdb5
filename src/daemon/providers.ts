/**
 * Data one service (or the demo) hands another through the daemon, instead of module globals: a
 * typed map of provider name → value. The daemon owns one registry and puts it on every
 * ServiceContext; a provider is looked up when it is used (the arbitrator starts before the
 * pgsql observer that feeds its vote guard), so a consumer reads it late, never caches it.
 */
import type { LastKnownLsn } from '../arbitrator/guard.js';
import type { SimulatedRack } from '../demo/pg-simulated-rack.js';
import type { RackSnapshot } from '../pgsql/observer/types.js';
import type { FeedTicks } from '../watchdog/feed-ticks.js';

export interface Providers {
  /** The pgsql observer's last WAL position seen per node: the arbitrator's vote guard reads it. */
  'pgsql.lastKnownLsn': LastKnownLsn;
  /** The pgsql observer's latest rack snapshot: fence arbitration prefers the node holding the primary. */
  'pgsql.rack': () => RackSnapshot | undefined;
  /** The demo's in-process simulated rack: the pgsql observer polls it when pgsql.simulated. */
  'pgsql.simulatedRack': SimulatedRack;
  /** The watchdog's feed ticks (what it saw and decided): the board service shows them on the status LEDs. */
  'watchdog.feed': FeedTicks;
}

export class ProviderRegistry {
  private readonly values = new Map<keyof Providers, Providers[keyof Providers]>();

  /** Provides `value` under `key`; the returned function withdraws it (if still the one provided). */
  provide<K extends keyof Providers>(key: K, value: Providers[K]): () => void {
    this.values.set(key, value);
    return () => {
      if (this.values.get(key) === value) this.values.delete(key);
    };
  }

  get<K extends keyof Providers>(key: K): Providers[K] | undefined {
    // set() only ever stores Providers[K] under K
    return this.values.get(key) as Providers[K] | undefined;
  }
}
