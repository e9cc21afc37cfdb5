/**
 * The services of the daemon, in start order (stop runs in reverse). A service whose config
 * section is absent or has enabled: false is not created. Each capability adds one entry.
 */
import type { Config } from '../config/schema.js';
import type { ServiceFactory } from './service.js';

export interface ServiceEntry {
  name: string;
  /** The service's config section says it should run. */
  enabled(config: Config): boolean;
  /** A failure to start is degraded rather than fatal. */
  optional(config: Config): boolean;
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
  // <registry:services> capabilities add their entries above this line (status first, watchdog last)
];
