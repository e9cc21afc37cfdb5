/**
 * The SNMP PDU driver against a REAL snmpd (our pass_persist outlet emulator behind it), with the
 * REAL fence_apc_snmp / fence_tripplite_snmp / fence_eaton_snmp reading and switching the same
 * outlets to prove the emulation and the driver agree.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApcSnmpDeviceInput,
  apcSnmpDeviceSchema,
  createApcSnmpDriver,
} from '../../../src/fencing/devices/apc-snmp/index.js';
import { DriverError, type PowerDriver } from '../../../src/fencing/devices/driver.js';
import { runPduCli } from '../../fixtures/pdu-cli-run.js';
import { type FakeSnmpPdu, startFakeSnmpPdu, V3 } from '../../fixtures/pdu-snmpd.js';
import { cleanupDir, freePort, tempDir } from '../../fixtures/proc.js';

const run = promisify(execFile);
const secrets: Record<string, string> = {
  'c-private': 'private',
  'c-public': 'public',
  'c-wrong': 'not-the-community',
  'rw-auth': V3.rw.auth,
  'rw-priv': V3.rw.priv,
  'ro-auth': V3.ro.auth,
  'ro-priv': V3.ro.priv,
  'bad-auth': 'wrong-auth-pass',
};
const readSecret = async (f: string) => {
  const v = secrets[f];
  if (v === undefined) throw new Error(`no such file ${f}`);
  return v;
};
const sig = () => AbortSignal.timeout(10_000);

/** Runs a real fence agent; resolves with its exit code and output. */
async function agent(bin: string, port: number, action: string, plug: string): Promise<{ rc: number; out: string }> {
  try {
    const r = await run(`/usr/sbin/${bin}`, [
      '--ip',
      '127.0.0.1',
      '--ipport',
      String(port),
      '--community',
      'private',
      '--plug',
      plug,
      '--action',
      action,
    ]);
    return { rc: 0, out: r.stdout };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { rc: err.code ?? -1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

async function failure(p: Promise<unknown>): Promise<DriverError> {
  const r = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(r, 'expected the operation to fail').toBeInstanceOf(DriverError);
  return r as DriverError;
}

describe('apc-snmp driver against snmpd (APC rPDU sysObjectID)', () => {
  let pdu: FakeSnmpPdu;
  const drivers: PowerDriver[] = [];
  const mk = (over: Partial<ApcSnmpDeviceInput> = {}) => {
    const d = createApcSnmpDriver(
      apcSnmpDeviceSchema.parse({
        driver: 'apc-snmp',
        name: 'pdu-a',
        host: '127.0.0.1',
        port: pdu.port,
        community_file: 'c-private',
        outlets: { '4': 'node-b' },
        timeout_s: 0.5,
        retries: 1,
        ...over,
      } as ApcSnmpDeviceInput),
      { readSecret },
    );
    drivers.push(d);
    return d;
  };

  beforeAll(async () => {
    pdu = await startFakeSnmpPdu({ names: { '3': 'node-a' } });
  });
  afterAll(async () => {
    for (const d of drivers) await d.close();
  });

  it('switches an outlet off and on (v1), and the real fence_apc_snmp sees the same states', async () => {
    const d = mk();
    expect(await d.status('3', sig())).toBe('on');
    await d.off('3', sig());
    expect(await d.status('3', sig())).toBe('off');
    expect(pdu.read().outlets['3']?.state).toBe('off');
    const st = await agent('fence_apc_snmp', pdu.port, 'status', '3');
    expect(st.rc, st.out).toBe(2); // fence-agents: 2 = reachable, OFF
    const on = await agent('fence_apc_snmp', pdu.port, 'on', '3');
    expect(on.rc, on.out).toBe(0);
    expect(await d.status('3', sig())).toBe('on');
    const off = await agent('fence_apc_snmp', pdu.port, 'off', 'node-a');
    expect(off.rc, off.out).toBe(0);
    expect(await d.status('node-a', sig())).toBe('off');
    await d.on('node-a', sig());
    expect((await agent('fence_apc_snmp', pdu.port, 'status', '3')).rc).toBe(0);
  });

  it('addresses outlets by configured node name and by the PDU outlet name; list() names them', async () => {
    const d = mk({ version: '2c' });
    await d.off('node-b', sig()); // configured: outlet 4
    expect(pdu.read().outlets['4']?.state).toBe('off');
    const list = await d.list?.(sig());
    expect(list?.length).toBe(8);
    expect(list?.find((p) => p.plug === '3')).toEqual({ plug: '3', name: 'node-a', state: 'on' });
    expect(list?.find((p) => p.plug === '4')).toEqual({ plug: '4', name: 'node-b', state: 'off' });
    await d.on('4', sig());
    const err = await failure(d.status('node-z', sig()));
    expect(err.kind).toBe('no-such-plug');
    expect(err.message).toContain('node-a');
  });

  it('SNMPv3 authPriv switches; wrong pass phrase or user is an auth error; a read-only user is a privilege error', async () => {
    const v3 = (user: string, auth: string, priv: string) =>
      mk({
        version: '3',
        community_file: undefined,
        v3: {
          user,
          security_level: 'authPriv',
          auth_protocol: 'sha',
          auth_password_file: auth,
          priv_protocol: 'aes',
          priv_password_file: priv,
        },
      });
    const d = v3(V3.rw.user, 'rw-auth', 'rw-priv');
    await d.off('7', sig());
    expect(await d.status('7', sig())).toBe('off');
    // the real agent over SNMPv3 authPriv sees the same state
    const peer = await run('/usr/sbin/fence_apc_snmp', [
      ...['--ip', '127.0.0.1', '--ipport', String(pdu.port), '--snmp-version', '3', '--username', V3.rw.user],
      ...['--password', V3.rw.auth, '--snmp-auth-prot', 'SHA', '--snmp-sec-level', 'authPriv'],
      ...['--snmp-priv-prot', 'AES', '--snmp-priv-passwd', V3.rw.priv, '--plug', '7', '--action', 'status'],
    ]).then(
      (r) => ({ rc: 0, out: r.stdout }),
      (e: { code?: number; stdout?: string }) => ({ rc: e.code ?? -1, out: e.stdout ?? '' }),
    );
    expect(peer.rc, peer.out).toBe(2);
    await d.on('7', sig());
    expect(pdu.read().outlets['7']?.state).toBe('on');

    const bad = await failure(v3(V3.rw.user, 'bad-auth', 'rw-priv').status('7', sig()));
    expect(bad.kind).toBe('auth');
    const unknown = await failure(v3('nobody', 'rw-auth', 'rw-priv').status('7', sig()));
    expect(unknown.kind).toBe('auth');
    const ro = v3(V3.ro.user, 'ro-auth', 'ro-priv');
    expect(await ro.status('7', sig())).toBe('on');
    const denied = await failure(ro.off('7', sig()));
    expect(denied.kind).toBe('privilege');
    expect(pdu.read().outlets['7']?.state).toBe('on');
  });

  it('wrong community times out (agent drops it), read-only community cannot switch', async () => {
    const wrong = await failure(mk({ community_file: 'c-wrong', timeout_s: 0.2, retries: 0 }).status('1', sig()));
    expect(wrong.kind).toBe('timeout');
    expect(wrong.message).toMatch(/wrong community/);
    for (const version of ['1', '2c'] as const) {
      const ro = mk({ community_file: 'c-public', version });
      expect(await ro.status('1', sig())).toBe('on');
      const e = await failure(ro.off('1', sig()));
      expect(e.kind).toBe('privilege');
    }
    expect(pdu.read().outlets['1']?.state).toBe('on');
  });

  it('outlet out of range is no-such-plug for status and switching, in v1 and v2c', async () => {
    for (const version of ['1', '2c'] as const) {
      const d = mk({ version });
      expect((await failure(d.status('9', sig()))).kind).toBe('no-such-plug');
      expect((await failure(d.off('9', sig()))).kind).toBe('no-such-plug');
    }
  });

  it('a garbage state value is a protocol error, a stuck outlet stays on and is reported on', async () => {
    pdu.edit((s) => {
      s.garbage = ['5'];
      s.stuck = ['6'];
    });
    const d = mk();
    const g = await failure(d.status('5', sig()));
    expect(g.kind).toBe('protocol');
    expect(g.message).toMatch(/state 7/);
    expect((await failure(d.list?.(sig()) ?? Promise.resolve())).kind).toBe('protocol');
    await d.off('6', sig()); // accepted by the device...
    expect(await d.status('6', sig())).toBe('on'); // ...but the outlet is honestly still on
    const peer = await agent('fence_apc_snmp', pdu.port, 'status', '6');
    expect(peer.rc).toBe(0);
    pdu.edit((s) => {
      s.garbage = [];
      s.stuck = [];
    });
  });

  it('CLI: outlet off/status/on/reboot/list with v1 community file and v3 pass phrase files', async () => {
    const dir = cleanupDir(tempDir('rwpdu-cli-'));
    const f = (name: string, v: string) => {
      const p = join(dir, name);
      writeFileSync(p, `${v}\n`, { mode: 0o600 });
      return p;
    };
    const v1 = ['pdu', '--driver', 'apc-snmp', '--host', '127.0.0.1', '--port', String(pdu.port)];
    const cf = ['--community-file', f('community', 'private')];
    let r = await runPduCli([...v1, ...cf, 'outlet', '2', 'off']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^outlet 2: off \(verified in \d+ ms\)/);
    expect(pdu.read().outlets['2']?.state).toBe('off');
    r = await runPduCli([...v1, '--community', 'private', '--json', 'outlet', '2', 'status']);
    expect(JSON.parse(r.out)).toMatchObject({ ok: true, outlet: '2', state: 'off' });
    const v3 = [
      ...v1,
      '--v3-user',
      V3.rw.user,
      '--auth-protocol',
      'sha',
      '--auth-password-file',
      f('auth', V3.rw.auth),
      '--priv-protocol',
      'aes',
      '--priv-password-file',
      f('priv', V3.rw.priv),
      '--security-level',
      'authPriv',
    ];
    // the daemon's reboot: off verified, the boot delay, on verified
    r = await runPduCli([...v3, '--json', '--boot-delay', '1', 'outlet', '2', 'reboot']);
    expect(r.code, r.err).toBe(0);
    const reboot = JSON.parse(r.out);
    expect(reboot).toMatchObject({ ok: true, state: 'on', verified: true });
    expect(reboot.ms - reboot.off_ms).toBeGreaterThanOrEqual(1000);
    r = await runPduCli([...v3, 'list']);
    expect(r.out).toMatch(/^\s+3\s+on\s+node-a$/m);
    // failures: exit 1 with the kind on stderr; usage errors exit 2
    r = await runPduCli([...v1, '--community', 'public', 'outlet', '2', 'off']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/privilege/);
    r = await runPduCli([...v1, ...cf, 'outlet', '9', 'status']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no-such-plug/);
    r = await runPduCli(['pdu', '--driver', 'apc-snmp', ...cf, 'outlet', '2', 'off']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--host/);
    pdu.edit((s) => {
      s.stuck = ['6'];
    });
    r = await runPduCli([...v1, ...cf, '--verify-timeout', '0.5', 'outlet', '6', 'off']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/not every plug reached off within the power timeout \(pdu\/6: on\); not verified/);
    pdu.edit((s) => {
      s.stuck = [];
    });
  });

  it('an unreachable PDU and an aborted operation fail with timeout, never success', async () => {
    const dead = mk({ port: await freePort(), timeout_s: 0.2, retries: 1 });
    expect((await failure(dead.off('1', sig()))).kind).toBe('timeout');
    const slow = mk({ port: await freePort(), timeout_s: 5, retries: 0 });
    const e = await failure(slow.status('1', AbortSignal.timeout(150)));
    expect(e.kind).toBe('timeout');
  });
});

describe('other outlet tables chosen by sysObjectID, cross-checked with the real agents', () => {
  const cases = [
    // rPDU2 reports 1 = off, 2 = on; fence_apc_snmp reads the sPDU column for this id
    { sysObjectId: '.1.3.6.1.4.1.318.1.3.4.6', table: 'apc-rpdu2', peer: 'fence_apc_snmp' },
    { sysObjectId: '.1.3.6.1.4.1.318.1.3.4.2', table: 'apc-spdu', peer: 'fence_apc_snmp' },
    { sysObjectId: '.1.3.6.1.4.1.850.1', table: 'tripplite', peer: 'fence_tripplite_snmp' },
    { sysObjectId: '.1.3.6.1.4.1.534.6.6.6', table: 'eaton-epdu', peer: 'fence_eaton_snmp' },
  ];
  for (const c of cases) {
    it(`${c.table}: off/on agree with ${c.peer}`, async () => {
      const pdu = await startFakeSnmpPdu({ sysObjectId: c.sysObjectId, outlets: 4 });
      const d = createApcSnmpDriver(
        apcSnmpDeviceSchema.parse({
          driver: 'apc-snmp',
          name: 'pdu-x',
          host: '127.0.0.1',
          port: pdu.port,
          community_file: 'c-private',
        }),
        { readSecret },
      );
      try {
        await d.off('2', sig());
        expect(pdu.read().outlets['2']?.state).toBe('off');
        expect(pdu.read().outlets['1']?.state).toBe('on');
        expect(await d.status('2', sig())).toBe('off');
        expect((await agent(c.peer, pdu.port, 'status', '2')).rc).toBe(2);
        expect((await agent(c.peer, pdu.port, 'on', '2')).rc).toBe(0);
        expect(await d.status('2', sig())).toBe('on');
        const names = (await d.list?.(sig()))?.map((p) => `${p.plug}=${p.name}:${p.state}`);
        expect(names).toEqual(['1=Outlet 1:on', '2=Outlet 2:on', '3=Outlet 3:on', '4=Outlet 4:on']);
      } finally {
        await d.close();
        await pdu.stop();
      }
    });
  }

  it('an unknown sysObjectID is a config error that names the family key', async () => {
    const pdu = await startFakeSnmpPdu({ sysObjectId: '.1.3.6.1.4.1.99999.1', outlets: 2 });
    const d = createApcSnmpDriver(
      apcSnmpDeviceSchema.parse({
        driver: 'apc-snmp',
        name: 'pdu-y',
        host: '127.0.0.1',
        port: pdu.port,
        community_file: 'c-private',
      }),
      { readSecret },
    );
    try {
      const e = await failure(d.status('1', sig()));
      expect(e.kind).toBe('config');
      expect(e.message).toMatch(/99999.*family/);
    } finally {
      await d.close();
      await pdu.stop();
    }
  });
});
