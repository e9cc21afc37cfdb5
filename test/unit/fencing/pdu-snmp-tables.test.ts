/** The SNMP outlet tables as data: selection by sysObjectID, OID building, value decoding. */
import { describe, expect, it } from 'vitest';
import { apcSnmpDeviceSchema } from '../../../src/fencing/devices/apc-snmp/index.js';
import {
  decodeState,
  FAMILIES,
  FAMILY_IDS,
  familyForSysObjectId,
  outletOfOid,
  outletOid,
} from '../../../src/fencing/devices/apc-snmp/tables.js';
import { resolvePlug } from '../../../src/fencing/devices/outlets.js';

describe('SNMP family tables', () => {
  it('chooses the table by sysObjectID, falls back to sPDU for other APC devices, refuses unknown vendors', () => {
    expect(familyForSysObjectId('.1.3.6.1.4.1.318.1.3.4.5')?.id).toBe('apc-rpdu');
    expect(familyForSysObjectId('1.3.6.1.4.1.318.1.3.4.6')?.id).toBe('apc-rpdu2');
    expect(familyForSysObjectId('1.3.6.1.4.1.318.1.3.4.2')?.id).toBe('apc-spdu');
    expect(familyForSysObjectId('1.3.6.1.4.1.850.1')?.id).toBe('tripplite');
    expect(familyForSysObjectId('1.3.6.1.4.1.534.6.6.6')?.id).toBe('eaton-epdu');
    expect(familyForSysObjectId('1.3.6.1.4.1.9.1.1')).toBeUndefined();
  });

  it('rPDU2 reads on/off the other way round from rPDU, and writes the same commands', () => {
    const r = FAMILIES['apc-rpdu'];
    const r2 = FAMILIES['apc-rpdu2'];
    expect(decodeState(r, 1)).toBe('on');
    expect(decodeState(r2, 1)).toBe('off');
    expect(decodeState(r2, 2)).toBe('on');
    expect(r2.write).toEqual(r.write);
    expect(decodeState(r, 7)).toBeUndefined();
    expect(decodeState(r, '1')).toBeUndefined();
  });

  it('builds and parses outlet OIDs, including the 0-based Eaton index', () => {
    expect(outletOid(FAMILIES['apc-rpdu'].control, 3)).toBe('1.3.6.1.4.1.318.1.1.12.3.3.1.1.4.3');
    const e = FAMILIES['eaton-epdu'];
    expect(outletOid(e.status, 1)).toBe('1.3.6.1.4.1.534.6.6.6.1.2.2.1.3.0');
    expect(outletOfOid(e.status, '1.3.6.1.4.1.534.6.6.6.1.2.2.1.3.0')).toBe(1);
    expect(outletOfOid(FAMILIES.tripplite.name as never, '1.3.6.1.4.1.850.10.2.3.5.1.5.1.4')).toBe(4);
    expect(outletOfOid(FAMILIES['apc-rpdu'].status, '1.3.6.1.4.1.318.1.1.12.3.5.1.1.5.4')).toBeUndefined();
  });

  it('every family has distinct on/off values in both directions', () => {
    for (const id of FAMILY_IDS) {
      const f = FAMILIES[id];
      expect(f.read.on).not.toBe(f.read.off);
      expect(f.write.on).not.toBe(f.write.off);
    }
  });

  it('config: v1/v2c need community_file, v3 needs its block and pass phrase files', () => {
    const base = { driver: 'apc-snmp', name: 'pdu-a', host: '10.0.0.5' };
    const paths = (v: unknown) => apcSnmpDeviceSchema.safeParse(v).error?.issues.map((i) => i.path.join('.'));
    expect(paths(base)).toEqual(['community_file']);
    expect(paths({ ...base, version: '3' })).toEqual(['v3']);
    expect(paths({ ...base, version: '3', v3: { user: 'u' } })).toEqual([
      'v3.auth_password_file',
      'v3.priv_password_file',
    ]);
    expect(paths({ ...base, community_file: '/etc/c', extra: 1 })?.length).toBe(1);
    const ok = apcSnmpDeviceSchema.parse({ ...base, community_file: '/etc/rackwitness/pdu-a.community' });
    expect(ok).toMatchObject({ port: 161, version: '1', family: 'auto', outlets: {}, timeout_s: 1, retries: 1 });
  });
});

describe('plug resolution', () => {
  it('numbers, configured node names, device names; a name on two outlets is refused, not half-switched', () => {
    const outlets = { '3': 'node-a', '4': 'node-b', '7': 'db-2', '8': 'db-2' };
    expect(resolvePlug('p', '5', outlets)).toEqual({ outlet: 5 });
    expect(resolvePlug('p', 'node-b', outlets)).toEqual({ outlet: 4 });
    expect(resolvePlug('p', 'Outlet 6', outlets)).toEqual({ name: 'Outlet 6' });
    expect(() => resolvePlug('p', 'db-2', outlets)).toThrow(/outlets 7 and 8.*own plug/);
    expect(() => resolvePlug('p', '0', outlets)).toThrow(/out of range/);
  });
});
