/**
 * GPIO relay driver against fake sysfs trees (no GPIO exists on CI machines): Pi 4 layout with
 * the header chip at base 0, Pi 5 layout with pinctrl-rp1 at base 571. The kernel's part (creating
 * gpioN after export) is played by pre-creating the line directory.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { DriverError } from '../../../src/fencing/devices/driver.js';
import {
  createGpioRelayDriver,
  type GpioRelayDeviceInput,
  gpioRelayDeviceSchema,
  onoffBackend,
  sysfsBackend,
} from '../../../src/fencing/devices/gpio-relay/index.js';
import { type FakeChip, makeExportedLine, makeGpioTree, PI5_CHIPS } from '../../fixtures/fake-sysfs.js';
import { cleanupDir, tempDir } from '../../fixtures/proc.js';

const PI4_BASE0: FakeChip[] = [
  { chip: 'gpiochip0', label: 'pinctrl-bcm2711', base: 0, ngpio: 58 },
  { chip: 'gpiochip504', label: 'raspberrypi-exp-gpio', base: 504, ngpio: 8 },
];

const sig = () => AbortSignal.timeout(5000);
const file = (root: string, n: number, f: string) =>
  readFileSync(join(root, 'class', 'gpio', `gpio${n}`, f), 'utf8').trim();
const put = (root: string, n: number, f: string, v: string) =>
  writeFileSync(join(root, 'class', 'gpio', `gpio${n}`, f), v);

function tree(chips: FakeChip[], lines: number[]): string {
  const root = makeGpioTree(cleanupDir(tempDir('rwpdu-gpio-')), chips);
  for (const l of lines) makeExportedLine(root, l);
  return root;
}

function relay(root: string, over: Partial<GpioRelayDeviceInput> = {}) {
  return createGpioRelayDriver(
    gpioRelayDeviceSchema.parse({
      driver: 'gpio-relay',
      name: 'relays',
      chip_label: 'pinctrl-bcm2711',
      relays: { '1': { line: 17 } },
      outlets: { '1': 'node-b' },
      sysfs_root: root,
      ...over,
    } as GpioRelayDeviceInput),
  );
}

async function failure(p: Promise<unknown>): Promise<DriverError> {
  const r = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(r).toBeInstanceOf(DriverError);
  return r as DriverError;
}

describe('gpio-relay driver on a fake sysfs', () => {
  it('Pi 4 (base 0): a fresh line starts de-energised (node powered); off energises it, read back', async () => {
    const root = tree(PI4_BASE0, [17]);
    const d = relay(root);
    expect(await d.status('1', sig())).toBe('on');
    expect(file(root, 17, 'direction')).toBe('low'); // output, de-energised, set atomically
    await d.off('node-b', sig());
    expect(file(root, 17, 'value')).toBe('1');
    expect(await d.status('1', sig())).toBe('off');
    await d.on('1', sig());
    expect(file(root, 17, 'value')).toBe('0');
    expect(await d.list?.(sig())).toEqual([{ plug: '1', name: 'node-b', state: 'on' }]);
  });

  it('Pi 5 (pinctrl-rp1 at 571): line 17 is gpio588; active_low is applied by the kernel attribute', async () => {
    const root = tree(PI5_CHIPS, [588]);
    const d = relay(root, { chip_label: 'pinctrl-rp1', relays: { '1': { line: 17, active_low: true } } });
    await d.off('1', sig());
    expect(file(root, 588, 'active_low')).toBe('1');
    expect(file(root, 588, 'direction')).toBe('high'); // physical high = de-energised for an active-low relay
    expect(file(root, 588, 'value')).toBe('1'); // logical: energised
    expect(await d.status('1', sig())).toBe('off');
  });

  it('an already-driven output keeps its level when the driver starts (a fenced node stays off)', async () => {
    const root = tree(PI4_BASE0, [17]);
    put(root, 17, 'direction', 'out');
    put(root, 17, 'value', '1'); // energised by a previous run: node off
    const d = relay(root);
    expect(await d.status('node-b', sig())).toBe('off');
    expect(file(root, 17, 'direction')).toBe('out');
    expect(file(root, 17, 'value')).toBe('1');
  });

  it('powered_when_deenergised=false inverts the drive', async () => {
    const root = tree(PI4_BASE0, [22]);
    const d = relay(root, { relays: { '1': { line: 22, powered_when_deenergised: false } } });
    expect(file(root, 22, 'value')).toBe('0'); // untouched until first use
    expect(await d.status('1', sig())).toBe('on');
    expect(file(root, 22, 'direction')).toBe('high'); // fresh line energised: node stays powered
    await d.off('1', sig());
    expect(file(root, 22, 'value')).toBe('0');
    expect(await d.status('1', sig())).toBe('off');
  });

  it('with a sense input, status reports the node power, not the relay drive (stuck contacts seen)', async () => {
    const root = tree(PI4_BASE0, [17, 27]);
    put(root, 27, 'value', '1'); // node powered
    const d = relay(root, { relays: { '1': { line: 17, sense: { line: 27 } } } });
    await d.off('1', sig());
    expect(file(root, 17, 'value')).toBe('1');
    expect(file(root, 27, 'direction')).toBe('in');
    expect(await d.status('1', sig())).toBe('on'); // contacts welded: still powered, said so
    put(root, 27, 'value', '0');
    expect(await d.status('1', sig())).toBe('off');
  });

  it('a wrong chip label or line is a config error naming the label and what exists', async () => {
    const root = tree(PI4_BASE0, []);
    const e = await failure(relay(root, { chip_label: 'pinctrl-rp1' }).status('1', sig()));
    expect(e.kind).toBe('config');
    expect(e.message).toMatch(/pinctrl-rp1.*pinctrl-bcm2711/);
    const e2 = await failure(relay(root, { relays: { '1': { line: 60 } } }).off('1', sig()));
    expect(e2.kind).toBe('config');
    expect(e2.message).toMatch(/line 60/);
  });

  it('garbage in the value file is a protocol error; unknown plugs are no-such-plug', async () => {
    const root = tree(PI4_BASE0, [17]);
    const d = relay(root);
    await d.on('1', sig());
    put(root, 17, 'value', 'zz');
    expect((await failure(d.status('1', sig()))).kind).toBe('protocol');
    expect((await failure(d.off('2', sig()))).kind).toBe('no-such-plug');
    expect((await failure(d.off('node-z', sig()))).kind).toBe('no-such-plug');
  });

  it('a line that never appears after export is an io error', async () => {
    const root = tree(PI4_BASE0, []);
    const b = sysfsBackend(root, 50);
    await expect(
      b.output(
        { label: 'pinctrl-bcm2711', base: 0, offset: 5, global: 5, chip: 'gpiochip0', ngpio: 58 },
        { activeLow: false, initial: 0 },
      ),
    ).rejects.toThrow(/did not appear/);
    expect(readFileSync(join(root, 'class', 'gpio', 'export'), 'utf8')).toBe('5');
  });

  it('config: chip_label is required somewhere, named outlets must be relays, onoff needs /sys', () => {
    const r = gpioRelayDeviceSchema.safeParse({
      driver: 'gpio-relay',
      name: 'r',
      relays: { '1': { line: 3 } },
      outlets: { '2': 'x' },
    });
    expect(r.success).toBe(false);
    const paths = r.error?.issues.map((i) => i.path.join('.'));
    expect(paths).toContain('relays.1.chip_label');
    expect(paths).toContain('outlets.2');
    expect(() => relay('/tmp', { backend: 'onoff' })).toThrow(/onoff only works on \/sys/);
  });
});

describe('onoff backend', () => {
  it('is given the resolved global number and a glitch-free initial direction', async () => {
    const calls: unknown[][] = [];
    vi.doMock('onoff', () => ({
      Gpio: class {
        constructor(...args: unknown[]) {
          calls.push(args);
        }
        read = async () => 1;
        write = async () => undefined;
      },
    }));
    const b = onoffBackend();
    const io = await b.output(
      { label: 'pinctrl-rp1', base: 571, offset: 17, global: 588, chip: 'gpiochip571', ngpio: 54 },
      { activeLow: true, initial: 0 },
    );
    expect(calls[0]).toEqual([588, 'high', 'none', { activeLow: true, reconfigureDirection: false }]);
    expect(await io.read()).toBe(1);
    vi.doUnmock('onoff');
  });
});
