/**
 * The one config schema. Each capability owns its section (schema + cross-field rules) in its
 * own folder; this file composes them. The same schema drives validation, env overrides
 * (RACKWITNESS_<PATH>), the exported JSON Schema and docs/config.md.
 */
import { z } from 'zod';
import { arbitratorConfigSchema, arbitratorRules } from '../arbitrator/config.js';
import { boardConfigSchema, boardRules } from '../board/config.js';
import { fencingConfigSchema, fencingRules } from '../fencing/config.js';
import { pgsqlConfigSchema, pgsqlRules } from '../pgsql/config.js';
import { qdeviceConfigSchema, qdeviceRules } from '../qdevice/config.js';
import { statusConfigSchema, statusRules } from '../status/config.js';
import { watchdogConfigSchema, watchdogRules } from '../watchdog/config.js';
import { pathField, seconds } from './fields.js';
import type { ConfigRule } from './rules.js';

export const boxSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lower-case letters, digits, "-" and "_", at most 63 characters')
      .default('witness')
      .meta({ description: 'Name of this box; part of the MQTT base topic and shown everywhere.' }),
    state_dir: pathField('Directory for persistent state (events log, fence journal).').default('/var/lib/rackwitness'),
  })
  .prefault({});

export const logSchema = z
  .strictObject({
    level: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info').meta({ description: 'Log level.' }),
    format: z
      .enum(['auto', 'json', 'pretty'])
      .default('auto')
      .meta({ description: 'auto: human lines on a TTY, JSON otherwise.' }),
  })
  .prefault({});

export const controlSchema = z
  .strictObject({
    socket: pathField('Unix socket of the local control API used by the CLI.').default('/run/rackwitness/control.sock'),
    group: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'Group that owns the socket (mode 0660); default: the daemon user’s group.' }),
  })
  .prefault({});

export const eventsSchema = z
  .strictObject({
    max_entries: z.number().int().min(100).max(1_000_000).default(10_000).meta({
      description:
        'Events kept in memory and on disk (oldest dropped first). Refusals of unauthenticated traffic take at most a quarter of them and only ever push out older refusals.',
    }),
    refusal_interval_s: seconds(
      'Refusals (e.g. unsigned fence API requests) are recorded once per source and reason per interval; the rest are counted into one summary event when it ends.',
      1,
      3600,
    ).default(60),
  })
  .prefault({});

export const daemonSchema = z
  .strictObject({
    shutdown_timeout_s: seconds('Bound on the orderly stop of all services after SIGTERM.', 1, 120).default(10),
  })
  .prefault({});

export const configSchema = z
  .strictObject({
    box: boxSchema,
    log: logSchema,
    control: controlSchema,
    events: eventsSchema,
    daemon: daemonSchema,
    status: statusConfigSchema,
    arbitrator: arbitratorConfigSchema.optional(),
    pgsql: pgsqlConfigSchema.optional(),
    watchdog: watchdogConfigSchema.optional(),
    board: boardConfigSchema.optional(),
    fencing: fencingConfigSchema.optional(),
    qdevice: qdeviceConfigSchema.optional(),
  })
  .meta({ title: 'rackwitness configuration', description: 'Configuration of the rackwitness daemon.' });

export type Config = z.infer<typeof configSchema>;

/**
 * Service sections with keys that are required when the service runs. A section with
 * `enabled: false` is checked only for unknown keys and for the values it does give (all keys
 * optional), then treated as absent: disabling a service never asks for what it would need.
 */
export const disableableSections = {
  arbitrator: arbitratorConfigSchema,
  pgsql: pgsqlConfigSchema,
  fencing: fencingConfigSchema,
  qdevice: qdeviceConfigSchema,
} as const;
export type ConfigInput = z.input<typeof configSchema>;

export const configRules: readonly ConfigRule[] = [
  ...statusRules,
  ...pgsqlRules,
  ...watchdogRules,
  ...boardRules,
  ...arbitratorRules,
  ...fencingRules,
  ...qdeviceRules,
];
