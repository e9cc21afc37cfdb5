/**
 * The IPMI driver against the in-process test BMC (cipher suite 17, privilege limits, faults).
 * The test BMC itself is first proven against the real `ipmitool -I lanplus -C 17` and `-C 3`,
 * and the driver's effects are read back with the real ipmitool.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DriverError, type DriverErrorKind } from '../../../src/fencing/devices/driver.js';
import { IpmiClient, type IpmiClientOptions } from '../../../src/fencing/devices/ipmi/client.js';
import { createIpmiDriver, ipmiDeviceSchema, ipmiDriverOf } from '../../../src/fencing/devices/ipmi/index.js';
import { SingleFlight } from '../../../src/fencing/devices/single-flight.js';
import { runOneLevel } from '../../../src/fencing/operations/one-level.js';
import { run } from '../../fixtures/ipmi-sim.js';
import { freePort, onCleanup, tempDir } from '../../fixtures/proc.js';
import { type BmcFault, type BmcUser, startTestBmc, type TestBmc } from '../../fixtures/test-bmc.js';

function ipmitool(bmc: TestBmc, cipher: number, args: string[], user: BmcUser = bmc.users.admin) {
  return run('ipmitool', [
    '-I',
    'lanplus',
    '-H',
    bmc.host,
    '-p',
    String(bmc.port),
    '-U',
    user.name,
    '-f',
    user.passwordFile,
    '-C',
    String(cipher),
    '-N',
    '1',
    '-R',
    '1',
    ...args,
  ]);
}

const never = new AbortController().signal;

async function kindOf(p: Promise<unknown>): Promise<{ kind: DriverErrorKind; message: string }> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(DriverError);
    return { kind: (e as DriverError).kind, message: (e as DriverError).message };
  }
  throw new Error('expected a DriverError, got a success');
}

describe('test BMC vs the real ipmitool', () => {
  for (const cipher of [17, 3]) {
    it(`ipmitool -C ${cipher} switches and reads the test BMC, and closes its sessions`, async () => {
      const bmc = await startTestBmc({ power: 'on' });
      const off = await ipmitool(bmc, cipher, ['chassis', 'power', 'off']);
      expect(off.stdout).toContain('Chassis Power Control: Down/Off');
      expect(bmc.power).toBe('off');
      expect((await ipmitool(bmc, cipher, ['chassis', 'power', 'status'])).stdout).toContain('Chassis Power is off');
      await ipmitool(bmc, cipher, ['chassis', 'power', 'on']);
      expect(bmc.power).toBe('on');
      expect(bmc.stats.activated).toBe(3);
      expect(bmc.activeSessions()).toBe(0);
      // ipmitool with a wrong password fails on the test BMC's RAKP 2, like on a real BMC.
      const wrong = await ipmitool(bmc, cipher, ['chassis', 'power', 'status'], {
        ...bmc.users.admin,
        passwordFile: bmc.users.viewer.passwordFile,
      });
      expect(wrong.code).not.toBe(0);
      await bmc.close();
    });
  }
});

describe('IPMI driver, cipher suite 17, against the test BMC', () => {
  it('status, off and on through the PowerDriver; ipmitool -C 17 reads each effect back', async () => {
    const bmc = await startTestBmc({ power: 'on' });
    const cfg = ipmiDeviceSchema.parse({
      driver: 'ipmi',
      host: bmc.host,
      port: bmc.port,
      username: 'operator',
      password_file: bmc.users.operator.passwordFile,
      cipher: 17,
    });
    const drv = createIpmiDriver(cfg, { device: 'bmc-a' });
    expect(drv.device).toBe('bmc-a');
    expect(await drv.status('chassis', never)).toBe('on');
    await drv.off('chassis', never);
    expect((await ipmitool(bmc, 17, ['chassis', 'power', 'status'])).stdout).toContain('Chassis Power is off');
    expect(await drv.status('chassis', never)).toBe('off');
    await drv.on('chassis', never);
    expect((await ipmitool(bmc, 17, ['chassis', 'power', 'status'])).stdout).toContain('Chassis Power is on');
    expect(await drv.list?.(never)).toEqual([{ plug: 'chassis', state: 'on' }]);
    expect((await kindOf(drv.off('outlet-1', never))).kind).toBe('no-such-plug');
    expect(bmc.controls).toEqual(['off', 'on']);
    expect(bmc.activeSessions()).toBe(0);
    expect(bmc.stats.closed).toBe(bmc.stats.activated);
    await drv.close();
    await bmc.close();
  });

  it('a BMC with a K_G: works with kg_file, and without it fails as config (not as a wrong password)', async () => {
    const kg = Buffer.from('kgkgkgkgkgkgkgkgkgkg');
    const bmc = await startTestBmc({ power: 'on', kg });
    const dir = tempDir('rwipmi-kg-');
    onCleanup(() => rmSync(dir, { recursive: true, force: true }));
    const kgFile = join(dir, 'kg');
    writeFileSync(kgFile, `${kg.toString()}\n`, { mode: 0o600 });
    const base = { driver: 'ipmi', host: bmc.host, port: bmc.port, username: 'admin', cipher: 17 };
    const withKg = createIpmiDriver(
      ipmiDeviceSchema.parse({ ...base, password_file: bmc.users.admin.passwordFile, kg_file: kgFile }),
    );
    await withKg.off('chassis', never);
    expect(bmc.power).toBe('off');
    const withoutKg = createIpmiDriver(
      ipmiDeviceSchema.parse({ ...base, password_file: bmc.users.admin.passwordFile }),
    );
    const e = await kindOf(withoutKg.status('chassis', never));
    expect(e).toMatchObject({ kind: 'config' });
    expect(e.message).toMatch(/K_G/);
    expect(bmc.activeSessions()).toBe(0);
    await bmc.close();
  });

  it('a BMC out of session slots is retried after a pause; still busy after that is refused', async () => {
    const bmc = await startTestBmc({ power: 'on' });
    const c = new IpmiClient({
      host: bmc.host,
      port: bmc.port,
      username: 'admin',
      password: Buffer.from('password'),
      cipher: 17,
    });
    bmc.busyNext(2);
    expect((await c.status()).powerOn).toBe(true);
    bmc.busyNext(3);
    const e = await kindOf(c.status());
    expect(e.kind).toBe('refused');
    expect(e.message).toMatch(/session slots/);
    expect(bmc.activeSessions()).toBe(0);
    await bmc.close();
  });

  it('serializes operations per BMC: one session at a time, all succeed', async () => {
    const bmc = await startTestBmc();
    // two clients of one owner (the fencing service hands its drivers one SingleFlight)
    const lanes = new SingleFlight();
    const mk = () =>
      new IpmiClient({
        host: bmc.host,
        port: bmc.port,
        username: 'admin',
        password: Buffer.from('password'),
        cipher: 17,
        lanes,
      });
    const a = mk();
    const b = mk();
    const results = await Promise.all([a.status(), b.status(), a.control('off'), b.status(), a.status()]);
    expect(results).toHaveLength(5);
    expect(bmc.stats.maxActive).toBe(1);
    expect(bmc.stats.activated).toBe(5);
    expect(bmc.activeSessions()).toBe(0);
    await bmc.close();
  });

  it('retransmits off (same request, new session sequence) but never a power cycle', async () => {
    const bmc = await startTestBmc({ power: 'on' });
    const c = new IpmiClient({
      host: bmc.host,
      port: bmc.port,
      username: 'admin',
      password: Buffer.from('password'),
      cipher: 17,
      requestTimeoutMs: 150,
      retries: 3,
    });
    bmc.dropChassis(1);
    await c.control('off');
    // The first off was lost; the retransmission (a slow machine may add more) switched it.
    expect(bmc.controls.length).toBeGreaterThanOrEqual(2);
    expect(new Set(bmc.controls)).toEqual(new Set(['off']));
    expect(bmc.power).toBe('off');
    await c.control('on');
    bmc.controls.length = 0;
    bmc.dropChassis(1);
    const e = await kindOf(c.control('cycle'));
    expect(e.kind).toBe('timeout');
    expect(bmc.controls).toEqual(['cycle']);
    expect(bmc.activeSessions()).toBe(0);
    await bmc.close();
  });
});

describe('faults: each is the right DriverError, never a success, and sessions are closed', () => {
  const quick: Partial<IpmiClientOptions> = { requestTimeoutMs: 60, retries: 1, cipher: 17 };

  const cases: Array<{
    name: string;
    fault?: BmcFault;
    user?: string;
    password?: string;
    op: 'status' | 'off' | 'verify-off';
    kind: DriverErrorKind;
    message: RegExp;
    extra?: Partial<IpmiClientOptions>;
  }> = [
    { name: 'silent BMC', fault: 'silent', op: 'status', kind: 'timeout', message: /no reply from BMC/ },
    { name: 'garbage replies', fault: 'garbage', op: 'off', kind: 'protocol', message: /no valid reply.*rejected/ },
    { name: 'truncated replies', fault: 'truncated', op: 'status', kind: 'protocol', message: /truncated/ },
    {
      name: 'wrong password',
      password: 'opsecreT',
      user: 'operator',
      op: 'off',
      kind: 'auth',
      message: /wrong password for user "operator"/,
    },
    { name: 'unknown user', user: 'mallory', op: 'status', kind: 'auth', message: /unknown user "mallory"/ },
    {
      name: 'account below operator',
      user: 'viewer',
      password: 'viewonly',
      op: 'off',
      kind: 'privilege',
      message: /unauthorized role/,
    },
    {
      name: 'chassis control denied (cc D4)',
      fault: 'deny-chassis',
      op: 'off',
      kind: 'privilege',
      message: /insufficient privilege/,
    },
    {
      name: 'chassis commands unanswered',
      fault: 'silent-chassis',
      op: 'status',
      kind: 'timeout',
      message: /Get Chassis Status: no reply/,
    },
    {
      name: 'never reaches off',
      fault: 'never-off',
      op: 'verify-off',
      kind: 'timeout',
      message: /not every plug reached off within the power timeout/,
    },
    { name: 'no RMCP+ and ipmi15 off', fault: 'no-rmcpp', op: 'status', kind: 'config', message: /ipmi15/ },
    {
      name: 'cipher suite 0 not allowed',
      op: 'status',
      kind: 'config',
      message: /cipher suite 0/,
      extra: { cipher: 0 },
    },
  ];

  for (const c of cases) {
    it(`${c.name} -> ${c.kind}`, async () => {
      const bmc = await startTestBmc({ power: 'on' });
      if (c.fault) bmc.fault = c.fault;
      const client = new IpmiClient({
        host: bmc.host,
        port: bmc.port,
        username: c.user ?? 'admin',
        password: Buffer.from(c.password ?? (c.user === 'operator' ? 'opsecret' : 'password')),
        ...quick,
        ...c.extra,
      });
      const op =
        c.op === 'status'
          ? client.status()
          : c.op === 'off'
            ? client.control('off')
            : runOneLevel(ipmiDriverOf(client), 'chassis', 'off', {
                powerTimeoutMs: 300,
                pollIntervalMs: 50,
                commandTimeoutMs: 10_000,
                bootDelayMs: 0,
              }).then((r) => {
                if (!r.ok) throw new DriverError(r.kind ?? 'timeout', client.device, r.reason);
              });
      const e = await kindOf(op);
      expect(e.kind).toBe(c.kind);
      expect(e.message).toMatch(c.message);
      if (c.fault !== 'never-off') expect(bmc.power).toBe('on');
      expect(bmc.activeSessions()).toBe(0);
      expect(client.stats.closed).toBe(client.stats.opened);
      await bmc.close();
    });
  }

  it('nothing listening on the port -> io, fast', async () => {
    const port = await freePort();
    const client = new IpmiClient({ host: '127.0.0.1', port, username: 'admin', password: Buffer.from('x'), ...quick });
    const e = await kindOf(client.status());
    expect(e.kind).toBe('io');
    expect(e.message).toMatch(/ECONNREFUSED|nothing listens/);
  });

  it('an aborted operation fails as timeout and still closes the session', async () => {
    const bmc = await startTestBmc();
    bmc.fault = 'silent-chassis';
    const client = new IpmiClient({
      host: bmc.host,
      port: bmc.port,
      username: 'admin',
      password: Buffer.from('password'),
      cipher: 17,
    });
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('fence deadline')), 150); // kept: the input, a deadline mid-request
    const e = await kindOf(client.status(ac.signal));
    expect(e).toMatchObject({ kind: 'timeout' });
    expect(e.message).toMatch(/aborted \(fence deadline\)/);
    expect(bmc.activeSessions()).toBe(0);
    await bmc.close();
  });
});
