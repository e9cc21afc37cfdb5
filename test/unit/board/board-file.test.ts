import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type BoardFile,
  BoardFileError,
  detectBoard,
  loadBoardFile,
  parseBoardFile,
} from '../../../src/board/board-file.js';
import { resolveGpioLine } from '../../../src/board/gpio.js';
import { makeGpioTree, PI4_CHIPS, PI5_CHIPS } from '../../fixtures/fake-sysfs.js';
import { cleanupDir, tempDir } from '../../fixtures/proc.js';

const BOARD = resolve('board');
const boards = ['rpi4', 'rpi5', 'cm4'] as const;
const layouts = { rpi4: PI4_CHIPS, cm4: PI4_CHIPS, rpi5: PI5_CHIPS };

function allLines(b: BoardFile): { key: string; chip_label: string; line: number }[] {
  const out: { key: string; chip_label: string; line: number }[] = [];
  if (b.gpio.watchdog_strobe) out.push({ key: 'gpio.watchdog_strobe', ...b.gpio.watchdog_strobe });
  for (const [k, v] of Object.entries(b.gpio.relays)) out.push({ key: `gpio.relays.${k}`, ...v });
  for (const [k, v] of Object.entries(b.gpio.buttons)) out.push({ key: `gpio.buttons.${k}`, ...v });
  for (const [k, v] of Object.entries(b.leds))
    if (v?.chip_label !== undefined && v.line !== undefined)
      out.push({ key: `leds.${k}`, chip_label: v.chip_label, line: v.line });
  return out;
}

describe('shipped board files', () => {
  for (const name of boards) {
    it(`${name}: valid, and every line resolves on a ${name} sysfs layout`, () => {
      const b = loadBoardFile(join(BOARD, `${name}.yaml`));
      expect(b.board).toBe(name);
      expect(b.watchdog).toMatchObject({ device: '/dev/watchdog0', max_timeout_s: 15 });
      const root = makeGpioTree(cleanupDir(tempDir('rwwd-board-')), layouts[name]);
      const lines = allLines(b);
      expect(lines.length).toBeGreaterThanOrEqual(6);
      for (const l of lines) {
        const r = resolveGpioLine(l, { sysfsRoot: root });
        expect(r.global, l.key).toBe((name === 'rpi5' ? 571 : 512) + l.line);
      }
    });

    it(`${name}: its config.txt fragment enables the watchdog and matches the pin map`, () => {
      const b = loadBoardFile(join(BOARD, `${name}.yaml`));
      const txt = readFileSync(join(BOARD, b.config_txt), 'utf8');
      expect(txt).toMatch(/^dtparam=watchdog=on$/m);
      // Bluetooth sits on the PL011 on Pi 4 / CM4 only
      if (name === 'rpi5') expect(txt).not.toMatch(/^dtoverlay=disable-bt$/m);
      else expect(txt).toMatch(/^dtoverlay=disable-bt$/m);
      for (const [fn, led] of Object.entries(b.leds)) {
        expect(txt, `leds.${fn}`).toMatch(
          new RegExp(`^dtoverlay=gpio-led,gpio=${led?.line},label=${led?.label},`, 'm'),
        );
      }
      for (const [k, r] of Object.entries(b.gpio.relays)) {
        const m = txt.match(/^gpio=([\d,]+)=op,dl$/m);
        expect(m?.[1]?.split(','), `gpio.relays.${k} must be driven low at power-on`).toContain(String(r.line));
      }
    });
  }

  it('a board file for another board fails at resolution, naming the label', () => {
    const b = loadBoardFile(join(BOARD, 'rpi5.yaml'));
    const root = makeGpioTree(cleanupDir(tempDir('rwwd-board-')), PI4_CHIPS);
    expect(() =>
      resolveGpioLine(b.gpio.relays.relay1 as { chip_label: string; line: number }, { sysfsRoot: root }),
    ).toThrowError(/no gpiochip labelled "pinctrl-rp1"/);
  });

  it('detects the board from /proc/device-tree/model', () => {
    expect(detectBoard('Raspberry Pi 4 Model B Rev 1.5\0', BOARD)?.board.board).toBe('rpi4');
    expect(detectBoard('Raspberry Pi 5 Model B Rev 1.0\0', BOARD)?.board.board).toBe('rpi5');
    expect(detectBoard('Raspberry Pi Compute Module 4 Rev 1.1\0', BOARD)?.board.board).toBe('cm4');
    expect(detectBoard('Raspberry Pi 3 Model B Plus Rev 1.3', BOARD)).toBeUndefined();
  });
});

describe('board file validation', () => {
  const base = readFileSync(join(BOARD, 'rpi4.yaml'), 'utf8');

  it('names the key of every problem', () => {
    const bad = base
      .replace('line: 17', 'line: seventeen')
      .replace('max_timeout_s: 15', 'max_timeout_s: 15\n  colour: red');
    try {
      parseBoardFile(bad, 'x.yaml');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(BoardFileError);
      const keys = (e as BoardFileError).problems.map((p) => p.key);
      expect(keys).toEqual(expect.arrayContaining(['gpio.relays.relay1.line', 'watchdog.colour']));
      expect((e as Error).message).toMatch(/^board file x\.yaml: /);
    }
  });

  it('refuses two functions on one line', () => {
    const bad = base.replace('line: 27, name: GPIO27', 'line: 4, name: GPIO4');
    expect(() => parseBoardFile(bad, 'x.yaml')).toThrowError(
      /gpio\.relays\.relay2: line 4 of pinctrl-bcm2711 is already used by gpio\.watchdog_strobe/,
    );
  });

  it('reports an unreadable file and invalid YAML', () => {
    expect(() => loadBoardFile('/nonexistent/rpi9.yaml')).toThrowError(
      /board file \/nonexistent\/rpi9.yaml: \(file\): cannot read \(ENOENT\)/,
    );
    expect(() => parseBoardFile('board: [', 'y.yaml')).toThrowError(/y\.yaml: \(yaml\)/);
  });
});
