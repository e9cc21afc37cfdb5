/**
 * Line I/O for the relay driver behind a tiny interface, with two implementations:
 *   - sysfs: plain file reads/writes below a configurable sysfs root (tests use a fake tree;
 *     also usable on a real board);
 *   - onoff: the onoff package on real hardware (it hard-codes /sys/class/gpio, so it cannot be
 *     pointed at a fake root).
 * Both address a line by the global number resolved from chip label + offset (src/board/gpio.ts).
 *
 * Opening an output that is already exported as an output does NOT touch its level: after a
 * daemon restart a relay that keeps a fenced node off must stay off. Only a fresh line gets the
 * caller's initial value (the level that leaves the node powered, unless configured otherwise).
 * Values are logical: active_low is applied by the kernel (sysfs `active_low`).
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResolvedGpioLine } from '../../../board/gpio.js';

export type Level = 0 | 1;

export interface LineIo {
  read(): Promise<Level>;
  write(v: Level): Promise<void>;
}

export interface LineBackend {
  readonly kind: 'sysfs' | 'onoff';
  output(line: ResolvedGpioLine, o: { activeLow: boolean; initial: Level }): Promise<LineIo>;
  input(line: ResolvedGpioLine, o: { activeLow: boolean }): Promise<LineIo>;
}

function parseLevel(text: string, where: string): Level {
  const t = text.trim();
  if (t === '0' || t === '1') return Number(t) as Level;
  throw new Error(`${where} holds ${JSON.stringify(t.slice(0, 20))}, not 0 or 1`);
}

async function readOpt(file: string): Promise<string | undefined> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/** Exports the line when its directory is missing and waits (bounded) for udev to create it. */
async function ensureExported(cls: string, global: number, waitMs: number): Promise<string> {
  const dir = join(cls, `gpio${global}`);
  if (existsSync(join(dir, 'value'))) return dir;
  await writeFile(join(cls, 'export'), String(global));
  const end = performance.now() + waitMs;
  while (!existsSync(join(dir, 'value'))) {
    if (performance.now() > end) throw new Error(`${dir} did not appear within ${waitMs} ms after export`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return dir;
}

export function sysfsBackend(sysfsRoot: string, exportWaitMs = 2000): LineBackend {
  const cls = join(sysfsRoot, 'class', 'gpio');
  const io = (dir: string): LineIo => {
    const value = join(dir, 'value');
    return {
      read: async () => parseLevel(await readFile(value, 'utf8'), value),
      write: (v) => writeFile(value, String(v)),
    };
  };
  return {
    kind: 'sysfs',
    async output(line, o) {
      const dir = await ensureExported(cls, line.global, exportWaitMs);
      const direction = await readOpt(join(dir, 'direction'));
      // active_low only changes how the level reads; the pin itself does not move
      await writeFile(join(dir, 'active_low'), o.activeLow ? '1' : '0');
      if (direction !== 'out') {
        // "high"/"low" set direction and the (physical) initial level in one write, no glitch
        const physical = (o.initial === 1) !== o.activeLow;
        await writeFile(join(dir, 'direction'), physical ? 'high' : 'low');
        // same level again as a logical value (a no-op on a real kernel; fake trees need it)
        await writeFile(join(dir, 'value'), String(o.initial));
      }
      return io(dir);
    },
    async input(line, o) {
      const dir = await ensureExported(cls, line.global, exportWaitMs);
      await writeFile(join(dir, 'active_low'), o.activeLow ? '1' : '0');
      if ((await readOpt(join(dir, 'direction'))) !== 'in') await writeFile(join(dir, 'direction'), 'in');
      return io(dir);
    },
  };
}

interface OnoffGpio {
  read(): Promise<number>;
  write(v: number): Promise<void>;
}
type OnoffCtor = new (
  n: number,
  direction: 'in' | 'out' | 'high' | 'low',
  edge?: 'none',
  options?: { activeLow?: boolean; reconfigureDirection?: boolean },
) => OnoffGpio;

export function onoffBackend(): LineBackend {
  const load = async (): Promise<OnoffCtor> => {
    const mod = (await import('onoff')) as unknown as { Gpio?: OnoffCtor; default?: { Gpio?: OnoffCtor } };
    const G = mod.Gpio ?? mod.default?.Gpio;
    if (!G) throw new Error('the onoff module exports no Gpio');
    return G;
  };
  const io = (g: OnoffGpio, where: string): LineIo => ({
    read: async () => parseLevel(String(await g.read()), where),
    write: (v) => g.write(v),
  });
  return {
    kind: 'onoff',
    async output(line, o) {
      const Gpio = await load();
      const already = (await readOpt(`/sys/class/gpio/gpio${line.global}/direction`)) === 'out';
      const physical = (o.initial === 1) !== o.activeLow;
      // onoff rewrites the direction when it differs from the requested one: ask for "out" on a
      // line that already is one (keeps its level), "high"/"low" only on a fresh line
      const g = new Gpio(line.global, already ? 'out' : physical ? 'high' : 'low', 'none', {
        activeLow: o.activeLow,
        reconfigureDirection: false,
      });
      return io(g, `gpio${line.global}`);
    },
    async input(line, o) {
      const Gpio = await load();
      return io(
        new Gpio(line.global, 'in', 'none', { activeLow: o.activeLow, reconfigureDirection: false }),
        `gpio${line.global}`,
      );
    },
  };
}
