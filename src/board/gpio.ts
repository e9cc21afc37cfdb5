/**
 * GPIO lines addressed by gpiochip label + line offset, never by a global number or a
 * /dev/gpiochipN name: both move between boards and kernels (Pi 4 header chip base 512, Pi 5
 * 571, other values reported). The resolver scans <sysfs_root>/class/gpio/gpiochip* for the
 * chip whose `label` matches and computes `base + offset`; a missing label or an offset beyond
 * `ngpio` fails with an error naming the label, the line and the chips that were found.
 *
 * Output lines (relays, external watchdog strobe) are driven through the legacy sysfs interface:
 * either our own writes below a configurable root (tests, and boards where onoff is not wanted)
 * or onoff (which hard-codes /sys/class/gpio), both with the resolved global number.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface GpioLineRef {
  /** Label of the gpiochip, e.g. "pinctrl-bcm2711" (Pi 4/CM4) or "pinctrl-rp1" (Pi 5). */
  chip_label: string;
  /** Line offset within that chip (for the Pi header chips: the BCM GPIO number). */
  line: number;
}

export interface ResolvedGpioLine {
  /** The chip label that matched. */
  label: string;
  /** The chip's base in the global sysfs numbering. */
  base: number;
  /** Line offset within the chip. */
  offset: number;
  /** base + offset: the number the legacy sysfs interface (and onoff) expects. */
  global: number;
  /** Directory name of the chip under class/gpio, e.g. "gpiochip571". */
  chip: string;
  /** Number of lines of the chip. */
  ngpio: number;
}

export interface GpioChipInfo {
  chip: string;
  label: string;
  base: number;
  ngpio: number;
}

export interface SysfsOptions {
  /** Root of sysfs; default "/sys". Tests point it at a fake tree. */
  sysfsRoot?: string;
}

export class GpioResolveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpioResolveError';
  }
}

function gpioClassDir(sysfsRoot: string): string {
  return join(sysfsRoot, 'class', 'gpio');
}

function readTrim(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Lists the gpiochips the legacy sysfs interface shows (empty when there is none). */
export function listGpioChips(opts: SysfsOptions = {}): GpioChipInfo[] {
  const dir = gpioClassDir(opts.sysfsRoot ?? '/sys');
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /^gpiochip\d+$/.test(n));
  } catch {
    return [];
  }
  const chips: GpioChipInfo[] = [];
  for (const chip of names) {
    const label = readTrim(join(dir, chip, 'label'));
    const base = Number(readTrim(join(dir, chip, 'base')));
    const ngpio = Number(readTrim(join(dir, chip, 'ngpio')));
    if (label === undefined || !Number.isInteger(base) || !Number.isInteger(ngpio)) continue;
    chips.push({ chip, label, base, ngpio });
  }
  return chips.sort((a, b) => a.base - b.base);
}

/**
 * Resolves a line to its chip and global sysfs number. Throws GpioResolveError naming the label
 * or line when the chip is absent, the label is ambiguous, or the offset is out of range.
 */
export function resolveGpioLine(ref: GpioLineRef, opts: SysfsOptions = {}): ResolvedGpioLine {
  const root = opts.sysfsRoot ?? '/sys';
  if (!Number.isInteger(ref.line) || ref.line < 0) {
    throw new GpioResolveError(
      `GPIO line ${String(ref.line)} of chip "${ref.chip_label}" is not a line offset (a non-negative integer)`,
    );
  }
  const chips = listGpioChips({ sysfsRoot: root });
  if (chips.length === 0) {
    throw new GpioResolveError(
      `no gpiochip found under ${gpioClassDir(root)} (kernel without CONFIG_GPIO_SYSFS, or not a Raspberry Pi?) while looking for chip "${ref.chip_label}"`,
    );
  }
  const matches = chips.filter((c) => c.label === ref.chip_label);
  if (matches.length === 0) {
    const seen = chips.map((c) => `${c.label} (${c.chip})`).join(', ');
    throw new GpioResolveError(
      `no gpiochip labelled "${ref.chip_label}" under ${gpioClassDir(root)}; found: ${seen} — is the board file for this board?`,
    );
  }
  if (matches.length > 1) {
    throw new GpioResolveError(
      `gpiochip label "${ref.chip_label}" is ambiguous: ${matches.map((c) => c.chip).join(', ')}`,
    );
  }
  const c = matches[0] as GpioChipInfo;
  if (ref.line >= c.ngpio) {
    throw new GpioResolveError(
      `GPIO line ${ref.line} does not exist on chip "${ref.chip_label}" (${c.chip} has ${c.ngpio} lines, 0..${c.ngpio - 1})`,
    );
  }
  return { label: c.label, base: c.base, offset: ref.line, global: c.base + ref.line, chip: c.chip, ngpio: c.ngpio };
}

/** An output line: set() drives it (logical value; active_low is applied by the kernel). */
export interface GpioOutput {
  readonly line: ResolvedGpioLine;
  set(value: 0 | 1): void;
  /** Leaves the line as it is and releases our handle (never throws). */
  close(): void;
}

export interface GpioOutputOptions extends SysfsOptions {
  /** Value driven right after the line is configured (the safe state). */
  initial: 0 | 1;
  activeLow?: boolean;
  /** "sysfs": own writes below sysfsRoot; "onoff": the onoff package (/sys/class/gpio only). */
  driver?: 'sysfs' | 'onoff';
  /** Bound on waiting for udev to make a freshly exported line writable. */
  exportWaitMs?: number;
}

/**
 * Opens a line as an output through the legacy sysfs interface below `sysfsRoot`: export (when
 * the gpioN directory does not exist yet), active_low, direction ("low"/"high" sets the
 * direction and the initial value atomically), then value writes. Throws naming the line.
 */
export function openSysfsOutput(line: ResolvedGpioLine, opts: GpioOutputOptions): GpioOutput {
  const root = opts.sysfsRoot ?? '/sys';
  const cls = gpioClassDir(root);
  const dir = join(cls, `gpio${line.global}`);
  const name = `GPIO line ${line.offset} of "${line.label}" (sysfs gpio${line.global})`;
  try {
    if (!existsSync(dir)) {
      writeFileSync(join(cls, 'export'), String(line.global));
      const end = performance.now() + (opts.exportWaitMs ?? 2000);
      while (!existsSync(join(dir, 'value'))) {
        if (performance.now() > end) throw new Error(`${dir} did not appear after export`);
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      }
    }
    writeFileSync(join(dir, 'active_low'), opts.activeLow ? '1' : '0');
    const physInitial = (opts.initial === 1) !== (opts.activeLow === true);
    writeFileSync(join(dir, 'direction'), physInitial ? 'high' : 'low');
    writeFileSync(join(dir, 'value'), String(opts.initial));
  } catch (e) {
    throw new GpioResolveError(`cannot configure ${name} as an output: ${(e as Error).message}`);
  }
  const valueFile = join(dir, 'value');
  return {
    line,
    set(value) {
      try {
        writeFileSync(valueFile, String(value));
      } catch (e) {
        throw new GpioResolveError(`cannot drive ${name}: ${(e as Error).message}`);
      }
    },
    close() {
      // Keep the line exported and at its value: unexporting would float a relay/strobe line.
    },
  };
}

/** Minimal shape of onoff's Gpio we use (the package has no bundled types we rely on). */
interface OnoffGpio {
  writeSync(v: 0 | 1): void;
  unexport(): void;
}
type OnoffCtor = new (
  n: number,
  direction: 'high' | 'low' | 'out',
  edge?: string,
  options?: { activeLow?: boolean },
) => OnoffGpio;

/** Opens a line as an output through onoff (always /sys/class/gpio), addressed by the resolved global number. */
export async function openOnoffOutput(line: ResolvedGpioLine, opts: GpioOutputOptions): Promise<GpioOutput> {
  const name = `GPIO line ${line.offset} of "${line.label}" (sysfs gpio${line.global})`;
  let gpio: OnoffGpio;
  try {
    const mod = (await import('onoff')) as unknown as { Gpio: OnoffCtor; default?: { Gpio: OnoffCtor } };
    const Gpio = mod.Gpio ?? mod.default?.Gpio;
    if (!Gpio) throw new Error('the onoff module exports no Gpio');
    const physInitial = (opts.initial === 1) !== (opts.activeLow === true);
    gpio = new Gpio(line.global, physInitial ? 'high' : 'low', 'none', { activeLow: opts.activeLow === true });
    gpio.writeSync(opts.initial);
  } catch (e) {
    throw new GpioResolveError(`cannot configure ${name} as an output through onoff: ${(e as Error).message}`);
  }
  return {
    line,
    set(value) {
      try {
        gpio.writeSync(value);
      } catch (e) {
        throw new GpioResolveError(`cannot drive ${name}: ${(e as Error).message}`);
      }
    },
    close() {
      // onoff's unexport would float the line; keep it driven.
    },
  };
}

/** Opens an output with the configured driver (default: sysfs writes below sysfsRoot). */
export async function openGpioOutput(line: ResolvedGpioLine, opts: GpioOutputOptions): Promise<GpioOutput> {
  if (opts.driver === 'onoff') {
    if ((opts.sysfsRoot ?? '/sys') !== '/sys') {
      throw new GpioResolveError(
        `the onoff driver only works on /sys/class/gpio, not on sysfs root ${opts.sysfsRoot}; use driver "sysfs"`,
      );
    }
    return openOnoffOutput(line, opts);
  }
  return openSysfsOutput(line, opts);
}
