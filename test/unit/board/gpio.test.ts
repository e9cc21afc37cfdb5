import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GpioResolveError, listGpioChips, openGpioOutput, resolveGpioLine } from '../../../src/board/gpio.js';
import { makeExportedLine, makeGpioTree, PI4_CHIPS, PI5_CHIPS, readText } from '../../fixtures/fake-sysfs.js';
import { cleanupDir, tempDir } from '../../fixtures/proc.js';

describe('resolveGpioLine', () => {
  it('resolves GPIO17 on a Pi 4 layout by label to base 512 + 17', () => {
    const root = makeGpioTree(cleanupDir(tempDir('rwwd-gpio-')), PI4_CHIPS);
    const r = resolveGpioLine({ chip_label: 'pinctrl-bcm2711', line: 17 }, { sysfsRoot: root });
    expect(r).toEqual({ label: 'pinctrl-bcm2711', base: 512, offset: 17, global: 529, chip: 'gpiochip512', ngpio: 58 });
  });

  it('resolves GPIO17 on a Pi 5 layout among the SoC chips to base 571 + 17', () => {
    const root = makeGpioTree(cleanupDir(tempDir('rwwd-gpio-')), PI5_CHIPS);
    const r = resolveGpioLine({ chip_label: 'pinctrl-rp1', line: 17 }, { sysfsRoot: root });
    expect(r.global).toBe(588);
    expect(r.chip).toBe('gpiochip571');
  });

  it('follows the base when the kernel moves it (same label, other base)', () => {
    const root = makeGpioTree(cleanupDir(tempDir('rwwd-gpio-')), [
      { chip: 'gpiochip522', label: 'pinctrl-bcm2711', base: 522, ngpio: 58 },
    ]);
    expect(resolveGpioLine({ chip_label: 'pinctrl-bcm2711', line: 4 }, { sysfsRoot: root }).global).toBe(526);
  });

  it('fails naming the label and the chips found when the board file is for another board', () => {
    const root = makeGpioTree(cleanupDir(tempDir('rwwd-gpio-')), PI4_CHIPS);
    expect(() => resolveGpioLine({ chip_label: 'pinctrl-rp1', line: 17 }, { sysfsRoot: root })).toThrowError(
      /no gpiochip labelled "pinctrl-rp1".*pinctrl-bcm2711 \(gpiochip512\)/,
    );
  });

  it('fails naming the line when the offset is beyond the chip', () => {
    const root = makeGpioTree(cleanupDir(tempDir('rwwd-gpio-')), PI4_CHIPS);
    expect(() => resolveGpioLine({ chip_label: 'raspberrypi-exp-gpio', line: 8 }, { sysfsRoot: root })).toThrowError(
      /line 8 does not exist on chip "raspberrypi-exp-gpio".*8 lines/,
    );
  });

  it('fails clearly when there is no GPIO sysfs at all', () => {
    const root = cleanupDir(tempDir('rwwd-gpio-'));
    expect(() => resolveGpioLine({ chip_label: 'pinctrl-rp1', line: 1 }, { sysfsRoot: root })).toThrowError(
      GpioResolveError,
    );
    expect(listGpioChips({ sysfsRoot: root })).toEqual([]);
  });

  it('rejects a negative or fractional offset', () => {
    const root = makeGpioTree(cleanupDir(tempDir('rwwd-gpio-')), PI4_CHIPS);
    expect(() => resolveGpioLine({ chip_label: 'pinctrl-bcm2711', line: -1 }, { sysfsRoot: root })).toThrowError(
      /not a line offset/,
    );
  });
});

describe('sysfs output line', () => {
  it('drives an exported line and sets the safe initial state atomically through direction', async () => {
    const root = makeGpioTree(cleanupDir(tempDir('rwwd-gpio-')), PI5_CHIPS);
    const dir = makeExportedLine(root, 575);
    const line = resolveGpioLine({ chip_label: 'pinctrl-rp1', line: 4 }, { sysfsRoot: root });
    const out = await openGpioOutput(line, { sysfsRoot: root, initial: 0 });
    expect(readText(join(dir, 'direction'))).toBe('low');
    expect(readText(join(dir, 'value'))).toBe('0');
    out.set(1);
    expect(readText(join(dir, 'value'))).toBe('1');
    out.close();
  });

  it('writes the global number to export when the line is not exported and fails naming it when it never appears', async () => {
    const root = makeGpioTree(cleanupDir(tempDir('rwwd-gpio-')), PI4_CHIPS);
    const line = resolveGpioLine({ chip_label: 'pinctrl-bcm2711', line: 27 }, { sysfsRoot: root });
    await expect(openGpioOutput(line, { sysfsRoot: root, initial: 0, exportWaitMs: 50 })).rejects.toThrowError(
      /GPIO line 27 of "pinctrl-bcm2711" \(sysfs gpio539\)/,
    );
    expect(readText(join(root, 'class', 'gpio', 'export'))).toBe('539');
  });

  it('refuses the onoff driver on a non-default sysfs root', async () => {
    const root = makeGpioTree(cleanupDir(tempDir('rwwd-gpio-')), PI4_CHIPS);
    const line = resolveGpioLine({ chip_label: 'pinctrl-bcm2711', line: 27 }, { sysfsRoot: root });
    await expect(openGpioOutput(line, { sysfsRoot: root, initial: 0, driver: 'onoff' })).rejects.toThrowError(
      /onoff driver only works/,
    );
  });
});
