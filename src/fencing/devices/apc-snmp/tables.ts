/**
 * SNMP outlet tables per PDU family, as data. A family says where an outlet's state is read,
 * where it is switched, where its name is, and which integers mean on and off. The driver picks
 * one by the PDU's sysObjectID (or the configured `family`) and never needs family-specific code.
 *
 * Values come from the public MIBs as summarised in docs/pdu.md: APC PowerNet-MIB (sPDU, rPDU,
 * rPDU2), Tripp Lite (TRIPPLITE-PRODUCTS, as used by fence_tripplite_snmp) and Eaton's Managed
 * ePDU MIB (0-based outlet index). OIDs are written without a leading dot (net-snmp's form).
 */

/** One table column; the OID of outlet N is `${base}.${N + offset}${suffix}`. */
export interface OidColumn {
  base: string;
  offset: number;
  suffix: string;
}

export interface SnmpFamily {
  id: FamilyId;
  vendor: string;
  description: string;
  /** sysObjectID values (exact) that select this family. */
  sysObjectIds: readonly string[];
  status: OidColumn;
  control: OidColumn;
  name: OidColumn | null;
  /** Integers the status column returns. */
  read: { on: number; off: number };
  /** Integers written to the control column. */
  write: { on: number; off: number; reboot?: number };
}

export const FAMILY_IDS = ['apc-rpdu', 'apc-rpdu2', 'apc-spdu', 'tripplite', 'eaton-epdu'] as const;
export type FamilyId = (typeof FAMILY_IDS)[number];

const APC = '1.3.6.1.4.1.318';
const col = (base: string, offset = 0, suffix = ''): OidColumn => ({ base, offset, suffix });

export const FAMILIES: Readonly<Record<FamilyId, SnmpFamily>> = {
  // Switched Rack PDU AP79xx: rPDUOutletStatusOutletState / rPDUOutletControlOutletCommand.
  'apc-rpdu': {
    id: 'apc-rpdu',
    vendor: 'APC',
    description: 'APC Switched Rack PDU (PowerNet-MIB rPDU tables, AP79xx)',
    sysObjectIds: [`${APC}.1.3.4.5`],
    status: col(`${APC}.1.1.12.3.5.1.1.4`),
    control: col(`${APC}.1.1.12.3.3.1.1.4`),
    name: col(`${APC}.1.1.12.3.5.1.1.2`),
    read: { on: 1, off: 2 },
    write: { on: 1, off: 2, reboot: 3 },
  },
  // rPDU2 (AP8xxx, AP79xxB): the status column counts the other way round (1 = off, 2 = on)
  // while the command column keeps 1 = immediateOn, 2 = immediateOff.
  'apc-rpdu2': {
    id: 'apc-rpdu2',
    vendor: 'APC',
    description: 'APC Rack PDU 2G (PowerNet-MIB rPDU2 tables, AP8xxx / AP79xxB)',
    sysObjectIds: [`${APC}.1.3.4.6`],
    status: col(`${APC}.1.1.26.9.2.3.1.5`),
    control: col(`${APC}.1.1.26.9.2.4.1.5`),
    name: col(`${APC}.1.1.26.9.2.3.1.3`),
    read: { on: 2, off: 1 },
    write: { on: 1, off: 2, reboot: 3 },
  },
  // Old MasterSwitch sPDUOutletCtl: one read-write column; also the fallback for any other APC id.
  'apc-spdu': {
    id: 'apc-spdu',
    vendor: 'APC',
    description: 'APC MasterSwitch (PowerNet-MIB sPDUOutletCtl, every APC PDU)',
    sysObjectIds: [],
    status: col(`${APC}.1.1.4.4.2.1.3`),
    control: col(`${APC}.1.1.4.4.2.1.3`),
    name: col(`${APC}.1.1.4.4.2.1.4`),
    read: { on: 1, off: 2 },
    write: { on: 1, off: 2, reboot: 3 },
  },
  // Tripp Lite switched PDU (unit 1): 2 = on, 1 = off in both columns.
  tripplite: {
    id: 'tripplite',
    vendor: 'Tripp Lite',
    description: 'Tripp Lite switched PDU (TRIPPLITE-PRODUCTS outlet table, unit 1)',
    sysObjectIds: ['1.3.6.1.4.1.850.1'],
    status: col('1.3.6.1.4.1.850.10.2.3.5.1.2.1'),
    control: col('1.3.6.1.4.1.850.10.2.3.5.1.4.1'),
    name: col('1.3.6.1.4.1.850.10.2.3.5.1.5.1'),
    read: { on: 2, off: 1 },
    write: { on: 2, off: 1 },
  },
  // Eaton Managed ePDU (Powerware MIB): one column, outlets indexed from 0, 1 = on, 0 = off.
  'eaton-epdu': {
    id: 'eaton-epdu',
    vendor: 'Eaton',
    description: 'Eaton Managed ePDU (Powerware MIB outlet table, 0-based index)',
    sysObjectIds: ['1.3.6.1.4.1.534.6.6.6'],
    status: col('1.3.6.1.4.1.534.6.6.6.1.2.2.1.3', -1),
    control: col('1.3.6.1.4.1.534.6.6.6.1.2.2.1.3', -1),
    name: col('1.3.6.1.4.1.534.6.6.6.1.2.2.1.1', -1),
    read: { on: 1, off: 0 },
    write: { on: 1, off: 0 },
  },
};

/** Strips a leading dot so ".1.3.6" and "1.3.6" compare equal. */
export function normOid(oid: string): string {
  return oid.startsWith('.') ? oid.slice(1) : oid;
}

/**
 * Chooses the family for a sysObjectID: an exact match first, then the sPDU table for any other
 * APC device (every APC PDU keeps it). Returns undefined for an unknown device.
 */
export function familyForSysObjectId(sysObjectId: string): SnmpFamily | undefined {
  const id = normOid(sysObjectId);
  for (const f of Object.values(FAMILIES)) if (f.sysObjectIds.includes(id)) return f;
  if (id.startsWith(`${APC}.`)) return FAMILIES['apc-spdu'];
  return undefined;
}

export function outletOid(c: OidColumn, outlet: number): string {
  return `${c.base}.${outlet + c.offset}${c.suffix}`;
}

/** Outlet number of an OID inside a column (walk results), or undefined when it is not one. */
export function outletOfOid(c: OidColumn, oid: string): number | undefined {
  const o = normOid(oid);
  if (!o.startsWith(`${c.base}.`)) return undefined;
  let rest = o.slice(c.base.length + 1);
  if (c.suffix) {
    if (!rest.endsWith(c.suffix)) return undefined;
    rest = rest.slice(0, -c.suffix.length);
  }
  if (!/^\d+$/.test(rest)) return undefined;
  return Number(rest) - c.offset;
}

/** Maps a status integer to a power state; undefined for a value the family does not define. */
export function decodeState(f: SnmpFamily, value: unknown): 'on' | 'off' | undefined {
  if (typeof value !== 'number') return undefined;
  if (value === f.read.on) return 'on';
  if (value === f.read.off) return 'off';
  return undefined;
}
