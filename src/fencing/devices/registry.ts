/**
 * The registry of power device families: family name → config schema + driver factory. The
 * config's `fencing.devices` entries are a discriminated union on `driver`, so a device's keys
 * are checked against its own family's schema and an unknown family is a clear config error.
 * Adding a family = one import and one row below.
 */
import type { Logger } from 'pino';
import { DriverError, type PowerDriver } from './driver.js';
import { type DeviceConfig, deviceName } from './schema.js';
import type { SingleFlight } from './single-flight.js';

export { type DeviceConfig, deviceName, deviceSchema } from './schema.js';

/** What every driver factory receives besides its own config section. */
export interface DriverDeps {
  /** Configured device name (used in errors, logs, journal). */
  device: string;
  log?: Logger;
  /** Per-address single-flight lanes shared by the drivers of one owner (IPMI: one operation per BMC). */
  lanes?: SingleFlight;
}

// biome-ignore lint/suspicious/noExplicitAny: each family's factory takes its own config type
type AnyFactory = (cfg: any, deps: DriverDeps) => PowerDriver;

interface Family {
  /** Loads the family's driver module on demand (its transport stays unloaded until used). */
  load: () => Promise<AnyFactory>;
  /** True for simulated devices: refused outside the demo unless allowed explicitly. */
  simulated?: boolean;
}

export const families: Record<string, Family> = {
  sim: { load: async () => (await import('./sim/index.js')).createSimDriver as AnyFactory, simulated: true },
  ipmi: { load: async () => (await import('./ipmi/index.js')).createIpmiDriver as AnyFactory },
  'apc-snmp': { load: async () => (await import('./apc-snmp/index.js')).createApcSnmpDriver as AnyFactory },
  'pdu-serial': { load: async () => (await import('./pdu-serial/index.js')).createPduSerialDriver as AnyFactory },
  'gpio-relay': { load: async () => (await import('./gpio-relay/index.js')).createGpioRelayDriver as AnyFactory },
  // <fencing:families> power device families add their row above this line
};

/** Creates the driver of one configured device; throws an Error naming the device when it cannot. */
export async function createDriver(cfg: DeviceConfig, deps: Omit<DriverDeps, 'device'> = {}): Promise<PowerDriver> {
  const name = deviceName(cfg);
  const fam = families[cfg.driver];
  if (!fam) throw new DriverError('config', name, `unknown power device family "${cfg.driver}"`);
  try {
    const create = await fam.load();
    return create(cfg, { ...deps, device: name });
  } catch (e) {
    if (e instanceof DriverError) throw e;
    throw new DriverError('config', name, `cannot create the ${cfg.driver} driver: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

export function isSimulated(cfg: DeviceConfig): boolean {
  return families[cfg.driver]?.simulated === true;
}
