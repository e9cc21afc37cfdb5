/**
 * Issue 12 item 6: IPMI log lines carried the key `device` twice (the daemon's child logger binds
 * it, and the driver bound it again / put it in log calls). Every line must name it exactly once.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ipmiDeviceSchema } from '../../../src/fencing/devices/ipmi/config.js';
import { createDriver } from '../../../src/fencing/devices/registry.js';
import { startTestBmc } from '../../fixtures/test-bmc.js';

describe('IPMI driver logs', () => {
  it('name the device exactly once per line, as the fencing service builds the logger', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        cb();
      },
    });
    const log = pino({ level: 'debug' }, sink);
    const bmc = await startTestBmc({ power: 'on' });
    const cfg = ipmiDeviceSchema.parse({
      driver: 'ipmi',
      name: 'bmc-a',
      host: bmc.host,
      port: bmc.port,
      username: 'operator',
      password_file: bmc.users.operator.passwordFile,
      cipher: 17,
    });
    const drv = await createDriver(cfg, { log: log.child({ device: 'bmc-a' }) }); // as src/fencing/service.ts
    bmc.busyNext(1); // a "retrying" warning
    await drv.off('chassis', AbortSignal.timeout(10_000));
    await drv.close();
    await bmc.close();
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const l of lines) expect(l.match(/"device":/g), l).toHaveLength(1);
    expect(lines.some((l) => /retrying/.test(l))).toBe(true);
    expect(lines.some((l) => /Chassis Control power down/.test(l))).toBe(true);
  });
});
