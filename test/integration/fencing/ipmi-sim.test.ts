/**
 * The IPMI driver and CLI against the real OpenIPMI ipmi_sim (cipher suite 3 and IPMI 1.5 MD5),
 * reading every effect back with the real `ipmitool` and the simulated power rail.
 */
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { IpmiClient } from '../../../src/fencing/devices/ipmi/client.js';
import { createIpmiDriver, ipmiDeviceSchema, ipmiDriverOf } from '../../../src/fencing/devices/ipmi/index.js';
import { runOneLevel } from '../../../src/fencing/operations/one-level.js';
import { type IpmiSim, run, startIpmiSim } from '../../fixtures/ipmi-sim.js';
import { until } from '../../fixtures/proc.js';

const never = new AbortController().signal;
const CLI = 'dist/cli/main.js';

describe('IPMI driver against ipmi_sim', () => {
  let sim: IpmiSim;
  beforeAll(async () => {
    sim = await startIpmiSim({ power: 'on' });
  });

  const client = (o: Partial<ConstructorParameters<typeof IpmiClient>[0]> = {}) =>
    new IpmiClient({
      host: sim.host,
      port: sim.port,
      username: sim.users.operator.name,
      password: Buffer.from(sim.users.operator.password),
      requestTimeoutMs: 200,
      retries: 3,
      ...o,
    });

  it('PowerDriver status/off/on with cipher 3; ipmitool -I lanplus and the rail confirm each step', async () => {
    const drv = createIpmiDriver(
      ipmiDeviceSchema.parse({
        driver: 'ipmi',
        name: 'bmc-sim',
        host: sim.host,
        port: sim.port,
        username: 'operator',
        password_file: sim.users.operator.passwordFile,
      }),
    );
    expect(await drv.status('chassis', never)).toBe('on');
    await drv.off('chassis', never);
    expect(sim.powerState()).toBe('off');
    expect((await sim.ipmitool(['chassis', 'power', 'status'])).stdout).toContain('Chassis Power is off');
    expect(await drv.status('chassis', never)).toBe('off');
    await drv.on('chassis', never);
    expect(sim.powerState()).toBe('on');
    expect((await sim.ipmitool(['chassis', 'power', 'status'])).stdout).toContain('Chassis Power is on');
    expect(sim.chassisLog().slice(-2)).toEqual(['set power 0', 'set power 1']);
  });

  it('verified off, reset, soft off and cycle reach the chassis as the right transitions', async () => {
    const c = client({ privilege: 'operator' });
    // the fencing core's verified off, as the CLI runs it: read, off, read off back
    const r = await runOneLevel(ipmiDriverOf(c), 'chassis', 'off', {
      powerTimeoutMs: 5000,
      pollIntervalMs: 50,
      commandTimeoutMs: 10_000,
      bootDelayMs: 0,
    });
    expect([r.ok, r.state]).toEqual([true, 'off']);
    expect(sim.powerState()).toBe('off');
    await c.control('on');
    await c.control('reset');
    expect(sim.chassisLog().at(-1)).toBe('reset');
    await c.control('soft');
    expect(sim.chassisLog().at(-1)).toBe('soft shutdown');
    expect(sim.powerState()).toBe('off');
    await c.control('on');
    const before = sim.chassisLog().length;
    await c.control('cycle'); // ipmi_sim: off now, on after its own 1 s timer
    await until(() => sim.chassisLog().length >= before + 2, 5000);
    expect(sim.chassisLog().slice(before)).toEqual(['set power 0', 'set power 1']);
    expect(sim.powerState()).toBe('on');
  });

  it('IPMI 1.5 MD5 session switches power; ipmitool -I lan -A MD5 reads it back', async () => {
    const c = client({ forceProtocol: 'ipmi15-md5', privilege: 'operator' });
    await c.control('off');
    expect((await sim.ipmitool(['chassis', 'power', 'status'], { iface: 'lan' })).stdout).toContain(
      'Chassis Power is off',
    );
    expect((await c.status()).powerOn).toBe(false);
    await c.control('on');
    expect(sim.powerState()).toBe('on');
  });

  it('a stuck chassis is never reported off: verified off times out', async () => {
    sim.setStuck(true);
    try {
      const c = client();
      const r = await runOneLevel(ipmiDriverOf(c), 'chassis', 'off', {
        powerTimeoutMs: 400,
        pollIntervalMs: 50,
        commandTimeoutMs: 10_000,
        bootDelayMs: 0,
      });
      expect(r.ok).toBe(false);
      expect(r.reason).toMatch(/not every plug reached off within the power timeout \(.*chassis: on\)/);
      expect(sim.chassisLog().at(-1)).toBe('set power 0 ignored (stuck)');
      expect(sim.powerState()).toBe('on');
    } finally {
      sim.setStuck(false);
    }
  });

  it('every session above was closed (the BMC reports no active session)', async () => {
    expect(await sim.activeSessions()).toBe(0);
  });

  it('the CLI talks to the BMC directly: status, off --verify (JSON), usage and auth errors', async () => {
    expect(existsSync(CLI)).toBe(true);
    const base = [
      '--host',
      sim.host,
      '--port',
      String(sim.port),
      '--user',
      'admin',
      '--password-file',
      sim.passwordFile,
    ];
    const st = await run('node', [CLI, 'ipmi', ...base, 'power', 'status']);
    expect(st).toMatchObject({ code: 0, stdout: 'Chassis Power is on\n' });
    const off = await run('node', [CLI, 'ipmi', ...base, '--json', 'power', 'off', '--verify']);
    expect(off.code).toBe(0);
    expect(JSON.parse(off.stdout)).toMatchObject({ ok: true, action: 'off', power: 'off', verified: true });
    expect((await sim.ipmitool(['chassis', 'power', 'status'])).stdout).toContain('Chassis Power is off');
    // the daemon's operation reads first: off on a chassis that reads off sends nothing
    const sent = sim.chassisLog().length;
    const again = await run('node', [CLI, 'ipmi', ...base, 'power', 'off']);
    expect([again.code, again.stdout]).toEqual([0, 'Chassis Power is off (verified after 1 status read(s))\n']);
    expect(sim.chassisLog()).toHaveLength(sent);
    const on = await run('node', [CLI, 'ipmi', ...base, 'power', 'on']);
    expect(on.code).toBe(0);
    expect(sim.powerState()).toBe('on');
    expect((await run('node', [CLI, 'ipmi', ...base, 'power', 'explode'])).code).toBe(2);
    expect((await run('node', [CLI, 'ipmi', ...base, 'power', 'cycle', '--verify'])).code).toBe(2);
    const bad = [
      '--host',
      sim.host,
      '--port',
      String(sim.port),
      '--user',
      'admin',
      '--password-file',
      sim.users.viewer.passwordFile,
    ];
    const auth = await run('node', [CLI, 'ipmi', ...bad, 'power', 'off']);
    expect(auth.code).toBe(1);
    expect(auth.stderr).toMatch(/wrong password for user "admin".*\[auth\]/);
    expect(sim.powerState()).toBe('on');
  });

  it('authentication faults: wrong password and unknown user are auth errors and change nothing', async () => {
    const wrong = await client({ password: Buffer.from('opsecreT') })
      .control('off')
      .catch((e) => e);
    expect(wrong).toMatchObject({ kind: 'auth' });
    expect(wrong.message).toMatch(/wrong password for user "operator"/);
    const unknown = await client({ username: 'mallory' })
      .status()
      .catch((e) => e);
    expect(unknown).toMatchObject({ kind: 'auth' });
    expect(unknown.message).toMatch(/unknown user "mallory"/);
    const v15 = await client({ forceProtocol: 'ipmi15-md5', password: Buffer.from('nope'), retries: 1 })
      .status()
      .catch((e) => e);
    expect(v15).toMatchObject({ kind: 'auth' });
    expect(sim.powerState()).toBe('on');
  });

  it('cipher suite 0 is refused unless allowed; allowed, ipmi_sim accepts ANY password (why it is refused)', async () => {
    expect(() =>
      ipmiDeviceSchema.parse({ driver: 'ipmi', host: 'h', username: 'u', password_file: '/x', cipher: 0 }),
    ).toThrow(/cipher suite 0/);
    const refused = await client({ cipher: 0 })
      .status()
      .catch((e) => e);
    expect(refused).toMatchObject({ kind: 'config' });
    const hole = await client({ cipher: 0, allowCipherZero: true, password: Buffer.from('not-the-password') }).status();
    expect(hole.powerOn).toBe(true);
  });
});
