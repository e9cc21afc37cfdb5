/**
 * The board file (board/<board>.yaml): pure data describing one board model — where its
 * watchdog is, which UART a serial PDU uses, and a pin map keyed by function (relays, external
 * watchdog strobe, buttons, status LEDs), each line addressed by gpiochip label + line offset.
 * Loading validates it with a strict schema and reports every problem with its key.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { packageRoot } from '../package-root.js';

const chipLabel = z
  .string()
  .min(1)
  .meta({ description: 'gpiochip label, e.g. pinctrl-bcm2711 (Pi 4/CM4) or pinctrl-rp1 (Pi 5).' });
const lineOffset = z.number().int().min(0).max(1023).meta({ description: 'Line offset within the chip.' });

export const gpioLineSchema = z.strictObject({
  chip_label: chipLabel,
  line: lineOffset,
  name: z
    .string()
    .min(1)
    .optional()
    .meta({ description: 'Line name from the device tree (GPIO17), for humans and gpioinfo.' }),
  header_pin: z.number().int().min(1).max(40).optional().meta({ description: 'Physical pin of the 40-pin header.' }),
});

export const relayLineSchema = gpioLineSchema.extend({
  active_low: z.boolean().default(false).meta({ description: 'The relay energises on a low level.' }),
  safe: z
    .union([z.literal(0), z.literal(1)])
    .default(0)
    .meta({
      description: 'Logical value at power-on and when released: the de-energised state (also set in config.txt).',
    }),
});

export const buttonLineSchema = gpioLineSchema.extend({
  keycode: z
    .string()
    .regex(/^0x[0-9a-fA-F]+$/)
    .optional()
    .meta({ description: 'Input keycode given to the gpio-key overlay (hex).' }),
});

export const ledSchema = z.strictObject({
  label: z
    .string()
    .regex(/^[A-Za-z0-9:_.-]+$/)
    .meta({ description: 'LED class label (/sys/class/leds/<label>), as set by the gpio-led overlay.' }),
  chip_label: chipLabel.optional(),
  line: lineOffset.optional(),
  name: z.string().min(1).optional(),
});

export const boardFileSchema = z.strictObject({
  board: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]*$/)
    .meta({ description: 'Board id (file name without .yaml).' }),
  description: z.string().min(1).meta({ description: 'Human name of the board.' }),
  model_prefixes: z
    .array(z.string().min(1))
    .min(1)
    .meta({ description: 'Prefixes of /proc/device-tree/model that identify this board.' }),
  config_txt: z
    .string()
    .min(1)
    .meta({ description: 'config.txt fragment shipped with this board (relative to board/).' }),
  watchdog: z.strictObject({
    device: z.string().startsWith('/dev/').meta({ description: 'SoC watchdog device.' }),
    driver: z.string().min(1).meta({ description: 'Kernel driver name.' }),
    max_timeout_s: z.number().int().min(1).max(600).meta({ description: 'Largest timeout the hardware can count.' }),
  }),
  serial: z
    .strictObject({
      pdu_uart: z
        .string()
        .startsWith('/dev/')
        .meta({ description: 'Header UART for a serial PDU (3.3 V, needs a level shifter).' }),
    })
    .optional(),
  rtc: z
    .enum(['onboard', 'i2c', 'none'])
    .meta({ description: 'Real-time clock: on the board, an I2C module, or none.' }),
  gpio: z
    .strictObject({
      watchdog_strobe: gpioLineSchema.optional(),
      relays: z.record(z.string().regex(/^[a-z0-9_]+$/), relayLineSchema).default({}),
      buttons: z.record(z.string().regex(/^[a-z0-9_]+$/), buttonLineSchema).default({}),
    })
    .prefault({}),
  leds: z
    .strictObject({
      healthy: ledSchema.optional(),
      degraded: ledSchema.optional(),
      fencing: ledSchema.optional(),
    })
    .prefault({}),
});

export type BoardFile = z.infer<typeof boardFileSchema>;
export type GpioLineSpec = z.infer<typeof gpioLineSchema>;
export type RelayLineSpec = z.infer<typeof relayLineSchema>;

export class BoardFileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: { key: string; message: string }[],
  ) {
    super(`board file ${file}: ${problems.map((p) => `${p.key}: ${p.message}`).join('; ')}`);
    this.name = 'BoardFileError';
  }
}

/** Parses board-file text; throws BoardFileError listing every problem with its key. */
export function parseBoardFile(text: string, source: string): BoardFile {
  let raw: unknown;
  try {
    raw = parseYaml(text, { uniqueKeys: true });
  } catch (e) {
    throw new BoardFileError(source, [
      { key: '(yaml)', message: (e as Error).message.split('\n')[0] ?? 'invalid YAML' },
    ]);
  }
  const r = boardFileSchema.safeParse(raw ?? {});
  if (!r.success) {
    const problems: { key: string; message: string }[] = [];
    for (const issue of r.error.issues) {
      const base = issue.path.map(String).join('.');
      if (issue.code === 'unrecognized_keys') {
        for (const k of issue.keys) problems.push({ key: base ? `${base}.${k}` : k, message: 'unknown key' });
      } else problems.push({ key: base || '(root)', message: issue.message });
    }
    throw new BoardFileError(source, problems);
  }
  const b = r.data;
  // Two functions on one line would drive a relay with the watchdog strobe: refuse.
  const used = new Map<string, string>();
  const claim = (key: string, l: { chip_label: string; line: number } | undefined) => {
    if (!l) return;
    const id = `${l.chip_label}:${l.line}`;
    const prev = used.get(id);
    if (prev)
      throw new BoardFileError(source, [
        { key, message: `line ${l.line} of ${l.chip_label} is already used by ${prev}` },
      ]);
    used.set(id, key);
  };
  claim('gpio.watchdog_strobe', b.gpio.watchdog_strobe);
  for (const [k, v] of Object.entries(b.gpio.relays)) claim(`gpio.relays.${k}`, v);
  for (const [k, v] of Object.entries(b.gpio.buttons)) claim(`gpio.buttons.${k}`, v);
  for (const [k, v] of Object.entries(b.leds)) {
    if (v?.chip_label !== undefined && v.line !== undefined)
      claim(`leds.${k}`, { chip_label: v.chip_label, line: v.line });
  }
  return b;
}

export function loadBoardFile(file: string): BoardFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new BoardFileError(file, [
      { key: '(file)', message: `cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})` },
    ]);
  }
  return parseBoardFile(text, file);
}

/** The board/ directory shipped with the package (<package root>/board/). */
export function packagedBoardDir(): string {
  return `${packageRoot()}/board/`;
}

/** Picks the board file whose model prefix matches /proc/device-tree/model (NUL-terminated). */
export function detectBoard(
  model: string,
  boardDir = packagedBoardDir(),
): { file: string; board: BoardFile } | undefined {
  const m = model.replace(/\0/g, '').trim();
  let names: string[];
  try {
    names = readdirSync(boardDir).filter((n) => n.endsWith('.yaml'));
  } catch {
    return undefined;
  }
  for (const n of names.sort()) {
    const file = join(boardDir, n);
    const board = loadBoardFile(file);
    if (board.model_prefixes.some((p) => m.startsWith(p))) return { file, board };
  }
  return undefined;
}

/**
 * The board the config names (board.file) or, without one, the packaged board file matching the
 * model read from model_file; `problem` says why there is none. Throws when a file cannot be read
 * or a board file is invalid.
 */
export function boardFor(b: { file?: string | undefined; model_file: string }): {
  board?: BoardFile;
  problem?: string;
} {
  if (b.file) return { board: loadBoardFile(b.file) };
  const model = readFileSync(b.model_file, 'utf8');
  const found = detectBoard(model);
  if (found) return { board: found.board };
  return { problem: `no board file matches the model "${model.replace(/\0/g, '').trim()}"; set board.file` };
}
