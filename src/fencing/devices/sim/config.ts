/** The config schema of a simulated power device (index.ts holds the driver factory). */
import { z } from 'zod';

export const simFaults = ['none', 'stuck-on', 'unreachable', 'refuse', 'on-fails', 'flaky'] as const;
export type SimFault = (typeof simFaults)[number];

export const simDeviceSchema = z
  .strictObject({
    driver: z.literal('sim').meta({ description: 'Simulated power device (demo and tests only).' }),
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'letters, digits, "_", "." and "-", at most 63 characters')
      .meta({ description: 'Device name used in levels, logs, the fence journal and status.' }),
    plugs: z
      .array(z.string().regex(/^[A-Za-z0-9_.:-]{1,63}$/, 'letters, digits, "_", ".", ":" and "-"'))
      .min(1)
      .max(64)
      .meta({ description: 'Plug names the simulated device has.' }),
    initial: z.enum(['on', 'off']).default('on').meta({ description: 'Power state of every plug at start.' }),
    latency_ms: z
      .number()
      .int()
      .min(0)
      .max(60_000)
      .default(20)
      .meta({ description: 'Time each request takes before the device answers.' }),
    switch_delay_ms: z
      .number()
      .int()
      .min(0)
      .max(600_000)
      .default(300)
      .meta({ description: 'Time between an accepted off/on request and the plug actually changing state.' }),
    fault: z.enum(simFaults).default('none').meta({
      description:
        'Fault mode: none; stuck-on (off accepted, power stays on); unreachable (every request times out); refuse (off/on rejected); on-fails (on rejected); flaky (every second status read times out).',
    }),
  })
  .meta({ description: 'A simulated power device (family "sim").' });

export type SimDeviceConfig = z.infer<typeof simDeviceSchema>;
