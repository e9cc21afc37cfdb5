import { z } from 'zod';
import { pathField } from '../config/fields.js';
import type { ConfigRule } from '../config/rules.js';

export const boardConfigSchema = z
  .strictObject({
    file: pathField(
      'Board file (board/<board>.yaml) with the pin map. When absent, the board is detected from model_file among the packaged board files.',
    ).optional(),
    model_file: pathField('Where the board model is read for detection.').default('/proc/device-tree/model'),
    sysfs_root: pathField('Root of sysfs for GPIO lines and LED-class LEDs (tests point it at a fake tree).').default(
      '/sys',
    ),
    gpio_driver: z.enum(['sysfs', 'onoff']).default('sysfs').meta({
      description:
        'How output lines are driven: "sysfs" writes <sysfs_root>/class/gpio itself, "onoff" uses the onoff package (only with sysfs_root /sys).',
    }),
    status_leds: z
      .boolean()
      .default(true)
      .meta({ description: 'Show healthy / degraded / fencing on the board file’s LED-class LEDs.' }),
  })
  .prefault({})
  .meta({ description: 'The board the box runs on: pin map, sysfs location, status LEDs.' });

export type BoardConfig = z.infer<typeof boardConfigSchema>;

export const boardRules: ConfigRule[] = [
  {
    id: 'board.onoff-root',
    path: 'board.gpio_driver',
    describe: 'The onoff driver only works on the real /sys (its path is fixed).',
    check: (c) =>
      c.board && c.board.gpio_driver === 'onoff' && c.board.sysfs_root !== '/sys'
        ? `gpio_driver "onoff" cannot use sysfs_root ${c.board.sysfs_root}; use "sysfs"`
        : undefined,
  },
];
