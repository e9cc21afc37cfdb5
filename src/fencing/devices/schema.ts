/**
 * The config schema of `fencing.devices`: a discriminated union on `driver` of every family's
 * device schema. Only the light config modules are imported here, so loading a config never
 * loads a driver's transport (net-snmp, serialport, onoff); registry.ts loads those on demand.
 * Adding a family = one import and one entry below, and one row in registry.ts.
 */
import { z } from 'zod';
import { apcSnmpDeviceSchema } from './apc-snmp/config.js';
import { gpioRelayDeviceSchema } from './gpio-relay/config.js';
import { ipmiDeviceSchema } from './ipmi/config.js';
import { pduSerialDeviceSchema } from './pdu-serial/config.js';
import { simDeviceSchema } from './sim/config.js';

export const deviceSchema = z
  .discriminatedUnion('driver', [
    simDeviceSchema,
    ipmiDeviceSchema,
    apcSnmpDeviceSchema,
    pduSerialDeviceSchema,
    gpioRelayDeviceSchema,
    // <fencing:schemas> power device families add their schema above this line
  ])
  .meta({ description: 'A power device; `driver` selects the family and the keys it takes.' });

export type DeviceConfig = z.infer<typeof deviceSchema>;

/** Configured name of a device (every entry of fencing.devices has one; a config rule checks it). */
export function deviceName(cfg: DeviceConfig): string {
  return (cfg as { name?: string }).name ?? '';
}
