/** The onoff path: the resolved global number (base + offset) is what reaches onoff. */
import { describe, expect, it, vi } from 'vitest';

const calls: unknown[][] = [];
vi.mock('onoff', () => ({
  Gpio: class {
    constructor(...args: unknown[]) {
      calls.push(['new', ...args]);
    }
    writeSync(v: number) {
      calls.push(['write', v]);
    }
    unexport() {
      calls.push(['unexport']);
    }
  },
}));

const { openGpioOutput } = await import('../../../src/board/gpio.js');

describe('onoff output driver', () => {
  it('opens the line by its global number with the safe level, then drives it', async () => {
    const line = { label: 'pinctrl-rp1', base: 571, offset: 17, global: 588, chip: 'gpiochip571', ngpio: 54 };
    const out = await openGpioOutput(line, { initial: 0, driver: 'onoff' });
    out.set(1);
    out.close();
    expect(calls).toEqual([
      ['new', 588, 'low', 'none', { activeLow: false }],
      ['write', 0],
      ['write', 1],
    ]);
  });

  it('with active_low, a logical 0 (safe) is a physical high', async () => {
    calls.length = 0;
    const line = { label: 'pinctrl-bcm2711', base: 512, offset: 27, global: 539, chip: 'gpiochip512', ngpio: 58 };
    await openGpioOutput(line, { initial: 0, activeLow: true, driver: 'onoff' });
    expect(calls[0]).toEqual(['new', 539, 'high', 'none', { activeLow: true }]);
  });
});
