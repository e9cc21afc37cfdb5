/**
 * IPMI driver pieces that need no BMC: the config schema, the RMCP+ status classification,
 * the per-BMC single-flight queue, and config errors raised before any packet is sent.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DriverError } from '../../../src/fencing/devices/driver.js';
import { createIpmiDriver, ipmiDeviceSchema } from '../../../src/fencing/devices/ipmi/index.js';
import { classifyRmcppStatus, exchangeOptions } from '../../../src/fencing/devices/ipmi/session.js';
import { SingleFlight } from '../../../src/fencing/devices/single-flight.js';

const base = { driver: 'ipmi', host: '10.0.0.5', username: 'fence', password_file: '/etc/rw/bmc.pw' } as const;

describe('ipmiDeviceSchema', () => {
  it('fills the documented defaults', () => {
    expect(ipmiDeviceSchema.parse(base)).toMatchObject({
      port: 623,
      cipher: 3,
      privilege: 'operator',
      allow_cipher_zero: false,
      ipmi15: false,
      request_timeout_ms: 250,
      retries: 4,
    });
  });
  it('refuses cipher 0 unless allowed, naming the key', () => {
    const r = ipmiDeviceSchema.safeParse({ ...base, cipher: 0 });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['cipher']);
    expect(ipmiDeviceSchema.safeParse({ ...base, cipher: 0, allow_cipher_zero: true }).success).toBe(true);
  });
  it('rejects unknown keys, other suites, long user names and bad privileges', () => {
    expect(ipmiDeviceSchema.safeParse({ ...base, password: 'inline' }).success).toBe(false);
    expect(ipmiDeviceSchema.safeParse({ ...base, cipher: 1 }).success).toBe(false);
    expect(ipmiDeviceSchema.safeParse({ ...base, username: 'x'.repeat(17) }).success).toBe(false);
    expect(ipmiDeviceSchema.safeParse({ ...base, privilege: 'user' }).success).toBe(false);
  });
  it('describes every key (the config docs are generated from it)', () => {
    const js = z.toJSONSchema(ipmiDeviceSchema, { io: 'input' }) as {
      properties: Record<string, { description?: string }>;
    };
    expect(Object.keys(js.properties).length).toBeGreaterThan(10);
    for (const [key, prop] of Object.entries(js.properties)) expect(prop.description, key).toBeTruthy();
  });
});

describe('RMCP+ status classification', () => {
  const table: Array<[number, string]> = [
    [0x0d, 'auth'], // unknown user
    [0x0f, 'auth'], // RAKP 3 rejected: wrong password or K_G
    [0x0a, 'privilege'],
    [0x09, 'privilege'],
    [0x11, 'config'], // no cipher suite match
    [0x04, 'config'],
    [0x01, 'refused'], // out of sessions
    [0x0b, 'refused'],
    [0x02, 'refused'],
  ];
  for (const [status, kind] of table) {
    it(`0x${status.toString(16)} -> ${kind}`, () => expect(classifyRmcppStatus(status)).toBe(kind));
  }
});

describe('SingleFlight', () => {
  it('runs operations on one key strictly one after another, in order', async () => {
    const lanes = new SingleFlight();
    const log: string[] = [];
    let running = 0;
    let maxRunning = 0;
    const op = (name: string, ms: number) =>
      lanes.run('bmc:623', async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        log.push(`start ${name}`);
        // the work takes time (kept: different lengths would finish out of order if ops overlapped)
        await new Promise((r) => setTimeout(r, ms));
        log.push(`end ${name}`);
        running--;
        if (name === 'b') throw new Error('b failed');
        return name;
      });
    const results = await Promise.allSettled([op('a', 20), op('b', 5), op('c', 1)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(maxRunning).toBe(1);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });
  it('an abort while waiting gives up the turn without running', async () => {
    const lanes = new SingleFlight();
    let ran = false;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const first = lanes.run('bmc2:623', () => gate); // holds the key until released

    const ac = new AbortController();
    const second = lanes.run(
      'bmc2:623',
      async () => {
        ran = true;
      },
      ac.signal,
      () => new DriverError('timeout', 'bmc2', 'aborted while waiting'),
    );
    ac.abort();
    await expect(second).rejects.toMatchObject({ kind: 'timeout' });
    release();
    await first;
    expect(ran).toBe(false);
    // The queue still works afterwards.
    expect(await lanes.run('bmc2:623', async () => 'next')).toBe('next');
  });
});

describe('createIpmiDriver', () => {
  it('refuses cipher 0 at creation when not allowed', () => {
    expect(() =>
      createIpmiDriver({
        ...ipmiDeviceSchema.parse({ ...base, cipher: 0, allow_cipher_zero: true }),
        allow_cipher_zero: false,
      }),
    ).toThrow(DriverError);
  });
  it('reports an unreadable password file as a config error naming the key, before any packet', async () => {
    const drv = createIpmiDriver(ipmiDeviceSchema.parse({ ...base, host: '127.0.0.1', port: 9 }), {
      device: 'bmc-a',
      readSecret: async (f) => {
        throw new Error(`ENOENT: ${f}`);
      },
    });
    const e = await drv.status('chassis', new AbortController().signal).catch((x) => x);
    expect(e).toBeInstanceOf(DriverError);
    expect(e).toMatchObject({ kind: 'config', device: 'bmc-a' });
    expect(e.message).toMatch(/password_file/);
  });
  it('has one plug, "chassis"', async () => {
    const drv = createIpmiDriver(ipmiDeviceSchema.parse(base));
    await expect(drv.on('2', new AbortController().signal)).rejects.toMatchObject({ kind: 'no-such-plug' });
  });
});

describe('request timing', () => {
  it('resendable requests get retries+1 tries; cycle/reset/soft one try as long as all of them', () => {
    const p = { retries: 4, requestTimeoutMs: 250 };
    expect(exchangeOptions(p, { retransmit: true })).toMatchObject({ tries: 5, timeoutMs: 250 });
    // 250 + 500 + 1000 + 2000 + 2000 (each try doubles, capped at 8x)
    expect(exchangeOptions(p, { retransmit: false })).toMatchObject({ tries: 1, timeoutMs: 5750 });
    expect(exchangeOptions(p, { tries: 2 })).toMatchObject({ tries: 2 });
  });
});
