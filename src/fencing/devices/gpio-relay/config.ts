/** The config schema of a gpio-relay device (index.ts holds the driver factory). */
import { z } from 'zod';
import { pathField } from '../../../config/fields.js';
import { deviceNameField, outletsField } from '../outlets.js';

const chipLabel = z
  .string()
  .min(1)
  .meta({ description: 'gpiochip label, e.g. "pinctrl-bcm2711" (Pi 4/CM4) or "pinctrl-rp1" (Pi 5); see gpiodetect.' });
const lineOffset = z
  .number()
  .int()
  .min(0)
  .max(1023)
  .meta({ description: 'Line offset within the chip (on Pi header chips: the BCM GPIO number).' });

export const relaySchema = z
  .strictObject({
    chip_label: chipLabel.optional(),
    line: lineOffset,
    active_low: z.boolean().default(false).meta({ description: 'The relay is energised when the line is driven low.' }),
    powered_when_deenergised: z.boolean().default(true).meta({
      description:
        'The node is powered while the relay is de-energised (normally-closed wiring, the fail-safe default); false when the node is powered only while the relay is energised.',
    }),
    sense: z
      .strictObject({
        chip_label: chipLabel.optional(),
        line: lineOffset,
        active_low: z.boolean().default(false).meta({ description: 'Invert the sense input.' }),
        powered_value: z
          .union([z.literal(0), z.literal(1)])
          .default(1)
          .meta({ description: 'Logical level the sense input shows while the node is powered.' }),
      })
      .optional()
      .meta({
        description:
          "Optional input that sees the node's real power (e.g. an opto-coupler on its supply); without it status() can only read back the relay drive.",
      }),
  })
  .meta({ description: 'One relay: its output line and, optionally, a power-sense input.' });

export const gpioRelayDeviceSchema = z
  .strictObject({
    driver: z.literal('gpio-relay').meta({ description: "Relays on GPIO lines that cut nodes' power." }),
    name: deviceNameField,
    chip_label: chipLabel.optional(),
    relays: z
      .record(z.string().regex(/^\d+$/, 'relay numbers are written as digits'), relaySchema)
      .refine((r) => Object.keys(r).length > 0, 'at least one relay')
      .meta({ description: 'Relays by number (the plug): output line and wiring of each.' }),
    outlets: outletsField('relay'),
    sysfs_root: pathField('Root of sysfs; tests point it at a fake tree.').default('/sys'),
    backend: z.enum(['auto', 'sysfs', 'onoff']).default('auto').meta({
      description:
        'Line I/O: "onoff" (real /sys only), "sysfs" (file writes below sysfs_root); "auto" = onoff on /sys, sysfs elsewhere.',
    }),
  })
  .superRefine((v, ctx) => {
    for (const [n, r] of Object.entries(v.relays)) {
      if (!r.chip_label && !v.chip_label)
        ctx.addIssue({
          code: 'custom',
          path: ['relays', n, 'chip_label'],
          message: `relay ${n} needs chip_label (or a device-level chip_label)`,
        });
      if (r.sense && !r.sense.chip_label && !r.chip_label && !v.chip_label)
        ctx.addIssue({
          code: 'custom',
          path: ['relays', n, 'sense', 'chip_label'],
          message: `relay ${n} sense needs chip_label`,
        });
    }
    for (const n of Object.keys(v.outlets))
      if (!v.relays[n])
        ctx.addIssue({
          code: 'custom',
          path: ['outlets', n],
          message: `relay ${n} is named but not configured in relays`,
        });
  })
  .meta({ description: 'Relays driven from GPIO lines (label + offset).' });

export type GpioRelayDeviceConfig = z.infer<typeof gpioRelayDeviceSchema>;
export type GpioRelayDeviceInput = z.input<typeof gpioRelayDeviceSchema>;
