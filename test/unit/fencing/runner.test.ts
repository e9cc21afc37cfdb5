import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PowerDriver } from '../../../src/fencing/devices/driver.js';
import { createSimDriver, type SimDriver, simDeviceSchema } from '../../../src/fencing/devices/sim/index.js';
import { runOperation, type Timing } from '../../../src/fencing/operations/runner.js';

const timing: Timing = { powerTimeoutMs: 300, pollIntervalMs: 10, commandTimeoutMs: 100, bootDelayMs: 30 };

function sim(name: string, over: Record<string, unknown> = {}): SimDriver {
  return createSimDriver(
    simDeviceSchema.parse({
      driver: 'sim',
      name,
      plugs: ['chassis', '3', '4'],
      latency_ms: 0,
      switch_delay_ms: 20,
      ...over,
    }),
  );
}

function drivers(...d: PowerDriver[]): Map<string, PowerDriver> {
  return new Map(d.map((x) => [x.device, x]));
}

describe('fence operation runner (sim devices)', () => {
  it('off: switches off and succeeds only after reading off', async () => {
    const bmc = sim('bmc');
    const out = await runOperation({
      action: 'off',
      levels: [{ plugs: [{ device: 'bmc', plug: 'chassis' }] }],
      drivers: drivers(bmc),
      timing,
    });
    expect(out.result).toBe('success');
    expect(out.power).toBe('off');
    expect(out.level).toBe(1);
    expect(out.verified_by).toMatch(/^read off: bmc\/chassis \(sim\)/);
    expect(bmc.peek('chassis')).toBe('off');
    expect(bmc.requests()[0]).toBe('status chassis');
  });

  it('off on an already-off plug succeeds without sending off', async () => {
    const bmc = sim('bmc', { initial: 'off' });
    const out = await runOperation({
      action: 'off',
      levels: [{ plugs: [{ device: 'bmc', plug: 'chassis' }] }],
      drivers: drivers(bmc),
      timing,
    });
    expect(out).toMatchObject({ result: 'success', power: 'off', note: 'already off' });
    expect(bmc.requests()).toEqual(['status chassis']);
  });

  it('a stuck relay that never reaches off is a failure, never a success', async () => {
    const bmc = sim('bmc', { fault: 'stuck-on' });
    const out = await runOperation({
      action: 'off',
      levels: [{ plugs: [{ device: 'bmc', plug: 'chassis' }] }],
      drivers: drivers(bmc),
      timing,
    });
    expect(out.result).toBe('failed');
    expect(out.verified_by).toBeUndefined();
    expect(out.steps.map((s) => s.row)).toContain('off.timeout');
    expect(bmc.peek('chassis')).toBe('on');
  });

  it('a failing level falls through to the next (IPMI unreachable → both PDU outlets)', async () => {
    const bmc = sim('bmc', { fault: 'unreachable' });
    const pdu1 = sim('pdu1');
    const pdu2 = sim('pdu2');
    const out = await runOperation({
      action: 'off',
      levels: [
        { plugs: [{ device: 'bmc', plug: 'chassis' }] },
        {
          plugs: [
            { device: 'pdu1', plug: '3' },
            { device: 'pdu2', plug: '3' },
          ],
        },
      ],
      drivers: drivers(bmc, pdu1, pdu2),
      timing,
    });
    expect(out).toMatchObject({ result: 'success', level: 2, power: 'off' });
    expect(out.steps.map((s) => s.row)).toEqual(
      expect.arrayContaining(['read.unreadable', 'level.next', 'off.verified-off']),
    );
    expect([pdu1.peek('3'), pdu2.peek('3')]).toEqual(['off', 'off']);
  });

  it('reboot of a dual-PSU server: both outlets read off before either is switched on', async () => {
    const pdu1 = sim('pdu1', { switch_delay_ms: 5 });
    const pdu2 = sim('pdu2', { switch_delay_ms: 60 });
    const out = await runOperation({
      action: 'reboot',
      levels: [
        {
          plugs: [
            { device: 'pdu1', plug: '4' },
            { device: 'pdu2', plug: '4' },
          ],
        },
      ],
      drivers: drivers(pdu1, pdu2),
      timing,
    });
    expect(out).toMatchObject({ result: 'success', power: 'on', note: 'rebooted' });
    const t = [...pdu1.transitions(), ...pdu2.transitions()];
    const lastOff = Math.max(...t.filter((x) => x.state === 'off').map((x) => x.at));
    const firstOn = Math.min(...t.filter((x) => x.state === 'on').map((x) => x.at));
    expect(t.filter((x) => x.state === 'off')).toHaveLength(2);
    expect(firstOn).toBeGreaterThanOrEqual(lastOff);
    expect(pdu1.requests().findIndex((r) => r.startsWith('on'))).toBeGreaterThan(
      pdu1.requests().findIndex((r) => r.startsWith('off')),
    );
  });

  it('reboot is answered at the verified off; a failed power-on fails only the follow-up', async () => {
    const bmc = sim('bmc', { fault: 'on-fails' });
    const answers: unknown[] = [];
    const out = await runOperation({
      action: 'reboot',
      levels: [{ plugs: [{ device: 'bmc', plug: 'chassis' }] }],
      drivers: drivers(bmc),
      timing,
      onAnswer: (a) =>
        answers.push({ ...a, railAtAnswer: bmc.peek('chassis'), onSent: bmc.requests().includes('on chassis') }),
    });
    expect(answers).toEqual([
      expect.objectContaining({
        result: 'success',
        power: 'off',
        level: 1,
        verified_by: 'read off: bmc/chassis (sim)',
        railAtAnswer: 'off',
        onSent: false,
      }),
    ]);
    expect(out).toMatchObject({ result: 'failed', power: 'off', note: 'power-on refused after a verified off' });
    expect(out.answer).toMatchObject({ result: 'success', power: 'off' });
    expect(bmc.peek('chassis')).toBe('off');
  });

  it('reboot answers before the boot delay; the follow-up powers on and can be cancelled before the on', async () => {
    const bmc = sim('bmc');
    let answeredAt = -1;
    const t0 = Date.now();
    const out = await runOperation({
      action: 'reboot',
      levels: [{ plugs: [{ device: 'bmc', plug: 'chassis' }] }],
      drivers: drivers(bmc),
      timing: { ...timing, bootDelayMs: 200 },
      onAnswer: () => {
        answeredAt = Date.now() - t0;
      },
    });
    expect(out).toMatchObject({
      result: 'success',
      power: 'on',
      note: 'rebooted',
      verified_by: 'read on again: bmc/chassis (sim)',
    });
    expect(bmc.transitions().map((t) => t.state)).toEqual(['off', 'on']);
    // the answer came before the boot delay was over: the on transition is later
    expect(answeredAt).toBeGreaterThanOrEqual(0);
    expect((bmc.transitions()[1]?.at ?? 0) - t0).toBeGreaterThan(answeredAt);

    const bmc2 = sim('bmc');
    const ac = new AbortController();
    const out2 = await runOperation({
      action: 'reboot',
      levels: [{ plugs: [{ device: 'bmc', plug: 'chassis' }] }],
      drivers: drivers(bmc2),
      timing: { ...timing, bootDelayMs: 60_000 },
      cancel: ac.signal,
      // cancel while the boot-delay wait runs (it must be cut short: the delay is a minute)
      onDecision: (d) => {
        if (d.row === 'boot.wait') queueMicrotask(() => ac.abort());
      },
    });
    expect(out2).toMatchObject({ result: 'cancelled', power: 'off' });
    expect(out2.steps.map((s) => s.row)).toContain('boot.cancelled');
    expect(bmc2.requests()).not.toContain('on chassis');
    expect(bmc2.peek('chassis')).toBe('off');
  });

  it('reboot_power_on: never: off verified, done, nothing switched on', async () => {
    const bmc = sim('bmc');
    const out = await runOperation({
      action: 'reboot',
      levels: [{ plugs: [{ device: 'bmc', plug: 'chassis' }] }],
      drivers: drivers(bmc),
      timing,
      rebootPowerOn: 'never',
    });
    expect(out).toMatchObject({ result: 'success', power: 'off', note: 'reboot_power_on: never' });
    expect(out.answer).toBeUndefined();
    expect(bmc.requests()).not.toContain('on chassis');
  });

  it('flaky reads do not break verification, a refused off fails the level', async () => {
    const flaky = sim('bmc', { fault: 'flaky' });
    const ok = await runOperation({
      action: 'off',
      levels: [{ plugs: [{ device: 'bmc', plug: 'chassis' }] }],
      drivers: drivers(flaky),
      timing,
    });
    expect(ok.result).toBe('success');
    const refusing = sim('bmc', { fault: 'refuse' });
    const bad = await runOperation({
      action: 'off',
      levels: [{ plugs: [{ device: 'bmc', plug: 'chassis' }] }],
      drivers: drivers(refusing),
      timing,
    });
    expect(bad).toMatchObject({ result: 'failed' });
    expect(bad.steps.map((s) => s.row)).toContain('off.refused');
  });

  it('status reads without acting; a device missing from the driver map fails cleanly', async () => {
    const bmc = sim('bmc', { initial: 'off' });
    const st = await runOperation({
      action: 'status',
      levels: [{ plugs: [{ device: 'bmc', plug: 'chassis' }] }],
      drivers: drivers(bmc),
      timing,
    });
    expect(st).toMatchObject({ result: 'success', power: 'off' });
    expect(bmc.requests()).toEqual(['status chassis']);
    const none = await runOperation({
      action: 'off',
      levels: [{ plugs: [{ device: 'gone', plug: '1' }] }],
      drivers: drivers(),
      timing,
    });
    expect(none.result).toBe('failed');
  });
});

describe('deadlines run on the monotonic clock, not wall time', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  const HOUR = 3_600_000;
  const powerTimeoutMs = 400;

  // A stuck relay: the off is accepted, the plug keeps reading on, so the operation ends exactly
  // at the power timeout. Mid verify-off (at the second read after the off) the wall clock steps by
  // `jumpMs`, as NTP or an operator's `date -s` would. The timeout must still be what it was.
  async function offWithWallJump(jumpMs: number) {
    const bmc = sim('bmc', { fault: 'stuck-on' });
    const realNow = Date.now.bind(Date);
    let offset = 0;
    let offSent = false;
    let readsAfterOff = 0;
    const jumping: PowerDriver = Object.create(bmc, {
      off: {
        value: (plug: string, s: AbortSignal) => {
          offSent = true;
          return bmc.off(plug, s);
        },
      },
      status: {
        value: (plug: string, s: AbortSignal) => {
          if (offSent && ++readsAfterOff === 2) offset = jumpMs;
          return bmc.status(plug, s);
        },
      },
    });
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + offset);
    const t0 = performance.now();
    const out = await runOperation({
      action: 'off',
      levels: [{ plugs: [{ device: 'bmc', plug: 'chassis' }] }],
      drivers: drivers(jumping),
      timing: { ...timing, powerTimeoutMs, pollIntervalMs: 20 },
    });
    const elapsed = performance.now() - t0;
    expect(offset, 'the wall clock never jumped (the test did not exercise anything)').toBe(jumpMs);
    return { out, elapsed };
  }

  for (const [what, jumpMs] of [
    ['forward', HOUR],
    ['back', -HOUR],
  ] as const) {
    it(`a wall-clock jump ${what} by an hour neither shortens nor extends the power timeout`, async () => {
      const { out, elapsed } = await offWithWallJump(jumpMs);
      expect(out.result).toBe('failed');
      expect(out.steps.map((s) => s.row)).toContain('off.timeout');
      // a jump forward on wall time would end verify-off at once (~40 ms); back, after an hour
      expect(elapsed).toBeGreaterThanOrEqual(powerTimeoutMs);
      expect(elapsed).toBeLessThan(powerTimeoutMs + 2000);
      // durations are monotonic too: no ±1 h in what is reported
      expect(out.duration_ms).toBeGreaterThanOrEqual(powerTimeoutMs);
      expect(out.duration_ms).toBeLessThan(powerTimeoutMs + 2000);
      for (const s of out.steps) expect(s.t_ms).toBeGreaterThanOrEqual(0);
    }, 10_000);
  }
});
