/**
 * The services of the daemon, in start order (stop runs in reverse). A service whose config
 * section is absent or has enabled: false is not created. Each capability adds one entry.
 */
import { existsSync } from 'node:fs';
import { boardConfigSchema } from '../board/config.js';
import type { Config } from '../config/schema.js';
import type { ServiceFactory } from './service.js';

export interface ServiceEntry {
  name: string;
  /** The service's config section says it should run. */
  enabled(config: Config): boolean;
  /** A failure to start is degraded rather than fatal. */
  optional(config: Config): boolean;
  /**
   * Whether the watchdog's default gate includes this service (default true). False for services
   * whose health reports the rack rather than the box: a failed primary must not reset the box.
   */
  gatesWatchdog?: boolean;
  /** Lazily imports the implementation so a disabled service costs nothing at start. */
  load(): Promise<ServiceFactory>;
}

export const serviceEntries: ServiceEntry[] = [
  {
    name: 'status',
    enabled: (c) => c.status.enabled,
    optional: (c) => c.status.optional,
    load: async () => (await import('../status/service.js')).createStatusService,
  },
  {
    name: 'arbitrator',
    enabled: (c) => c.arbitrator?.enabled ?? false,
    optional: (c) => c.arbitrator?.optional ?? false,
    load: async () => (await import('../arbitrator/service.js')).createArbitratorService,
  },
  {
    name: 'fencing',
    enabled: (c) => c.fencing?.enabled ?? false,
    optional: (c) => c.fencing?.optional ?? false,
    load: async () => (await import('../fencing/service.js')).createFencingService,
  },
  {
    name: 'pgsql',
    enabled: (c) => c.pgsql?.enabled ?? false,
    optional: (c) => c.pgsql?.optional ?? false,
    load: async () => (await import('../pgsql/service.js')).createPgsqlService,
    // Its health is the rack's (a primary down, two primaries): the box itself is fine then.
    gatesWatchdog: false,
  },
  {
    name: 'qdevice',
    enabled: (c) => c.qdevice?.enabled ?? false,
    optional: (c) => c.qdevice?.optional ?? false,
    load: async () => (await import('../qdevice/service.js')).createQdeviceService,
    // Off the default gate (a node without qdevice is the rack's problem, not the box's); list
    // it in watchdog.gate.services to make qnetd part of the box's own health.
    gatesWatchdog: false,
  },
  // <registry:services> capabilities add their entries above this line (status first; watchdog and board last)
  {
    // Below the marker so it stays last: it gates its feed on the health of every service
    // above. An absent section still runs it in mode off (systemd pings stay gated).
    name: 'watchdog',
    enabled: (c) => c.watchdog?.enabled ?? true,
    optional: (c) => c.watchdog?.optional ?? false,
    load: async () => (await import('../watchdog/service.js')).createWatchdogService,
  },
  {
    // After the watchdog: it shows the watchdog's feed ticks on the status LEDs, so it runs only
    // with the watchdog, and only on a board (a board file named, or a model file to detect one).
    // LEDs are indication: never fatal, never on the watchdog's gate.
    name: 'board',
    enabled: (c) => {
      const b = c.board ?? boardConfigSchema.parse({});
      return (c.watchdog?.enabled ?? true) && b.status_leds && (b.file !== undefined || existsSync(b.model_file));
    },
    optional: () => true,
    gatesWatchdog: false,
    load: async () => (await import('../board/service.js')).createBoardService,
  },
];
