/**
 * The diagnostic CLIs' operation (src/fencing/operations/one-level.ts) is the daemon's fencing core on a
 * one-level target: read first, switch only what is not in the wanted state, verify by reading,
 * reboot = off verified, boot delay, on verified. Driven against the simulated device family.
 */
import { describe, expect, it } from 'vitest';
import { createSimDriver, type SimFault, simDeviceSchema } from '../../../src/fencing/devices/sim/index.js';
import { runOneLevel } from '../../../src/fencing/operations/one-level.js';
import type { Timing } from '../../../src/fencing/operations/runner.js';

const timing = (o: Partial<Timing> = {}): Timing => ({
  powerTimeoutMs: 1000,
  pollIntervalMs: 10,
  commandTimeoutMs: 500,
  bootDelayMs: 0,
  ...o,
});

const sim = (initial: 'on' | 'off', fault: SimFault = 'none') =>
  createSimDriver(
    simDeviceSchema.parse({
      driver: 'sim',
      name: 'pdu',
      plugs: ['1'],
      initial,
      latency_ms: 1,
      switch_delay_ms: 20,
      fault,
    }),
  );

describe('runOneLevel', () => {
  it('reads first: off on an outlet that reads off sends nothing and is verified', async () => {
    const d = sim('off');
    const r = await runOneLevel(d, '1', 'off', timing());
    expect(r).toMatchObject({ ok: true, state: 'off', reads: 1 });
    expect(d.requests()).toEqual(['status 1']);
  });

  it('off: sends off once, then succeeds only on a read of off', async () => {
    const d = sim('on');
    const r = await runOneLevel(d, '1', 'off', timing());
    expect(r).toMatchObject({ ok: true, state: 'off' });
    expect(d.requests().filter((q) => !q.startsWith('status'))).toEqual(['off 1']);
    expect(d.requests().at(-1)).toBe('status 1');
  });

  it('reboot: off verified, then the boot delay, then on verified', async () => {
    const d = sim('on');
    const r = await runOneLevel(d, '1', 'reboot', timing({ bootDelayMs: 150 }));
    expect(r).toMatchObject({ ok: true, state: 'on' });
    expect(r.offMs).toBeDefined();
    const [off, on] = d.transitions();
    expect([off?.state, on?.state]).toEqual(['off', 'on']);
    expect((on?.at ?? 0) - (off?.at ?? 0)).toBeGreaterThanOrEqual(150);
  });

  it('a stuck outlet is never reported off: failure naming the state read', async () => {
    const r = await runOneLevel(sim('on', 'stuck-on'), '1', 'off', timing({ powerTimeoutMs: 200 }));
    expect(r.ok).toBe(false);
    expect(r.reason).toBe('level 1/1 failed: not every plug reached off within the power timeout (pdu/1: on)');
  });

  it('a device that refuses: failure with its kind and its own message', async () => {
    const r = await runOneLevel(sim('on', 'refuse'), '1', 'off', timing());
    expect(r).toMatchObject({ ok: false, kind: 'refused' });
    expect(r.reason).toMatch(/^level 1\/1 failed: .*; pdu: /);
  });

  it('a reboot whose power-on fails says the off was verified', async () => {
    const r = await runOneLevel(sim('on', 'on-fails'), '1', 'reboot', timing());
    expect(r.ok).toBe(false);
    expect(r.offMs).toBeDefined();
    expect(r.reason).toMatch(/^off verified, then the power-on failed: /);
  });
});
