/**
 * The fencing service's shared state: what the lifecycle opens (drivers, journal, fencer, API,
 * arbiter) and what the monitor, the fencer's hooks, the control handlers, the snapshot and the
 * entities read. One object, passed to each concern's module.
 */
import type { Health } from '../../daemon/service.js';
import type { FenceApi } from '../api/server.js';
import type { FencingConfig } from '../config.js';
import type { Arbiter } from '../decisions/arbitration.js';
import type { PowerDriver, PowerState } from '../devices/driver.js';
import { SingleFlight } from '../devices/single-flight.js';
import type { FenceJournal } from '../journal.js';
import type { Fencer } from '../operations/fencer.js';

export const NAME = 'fencing';

export interface DeviceState {
  family: string;
  up: boolean | undefined;
  checked?: string;
  error?: string;
}

export interface PowerSeen {
  state: PowerState | 'unknown';
  at: string;
}

export interface FencingState {
  health: Health;
  cfg: FencingConfig | undefined;
  drivers: Map<string, PowerDriver>;
  /** One operation at a time per BMC across this service's drivers. */
  lanes: SingleFlight;
  devices: Map<string, DeviceState>;
  power: Map<string, PowerSeen>;
  /** Targets whose power-on after a reboot failed: one sentence each, until the node is seen on or fenced again. */
  problems: Map<string, string>;
  journal: FenceJournal | undefined;
  fencer: Fencer | undefined;
  api: FenceApi | undefined;
  arbiter: Arbiter | undefined;
  apiPort: number | undefined;
  stopped: boolean;
  apiCounts: { accepted: number; refused: number };
}

export function newFencingState(): FencingState {
  return {
    health: { state: 'starting' },
    cfg: undefined,
    drivers: new Map(),
    lanes: new SingleFlight(),
    devices: new Map(),
    power: new Map(),
    problems: new Map(),
    journal: undefined,
    fencer: undefined,
    api: undefined,
    arbiter: undefined,
    apiPort: undefined,
    stopped: false,
    apiCounts: { accepted: 0, refused: 0 },
  };
}

export function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
