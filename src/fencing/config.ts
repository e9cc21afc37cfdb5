import { z } from 'zod';
import { port, seconds, secretFile, serviceSwitches } from '../config/fields.js';
import type { ConfigRule } from '../config/rules.js';
import { rebootPowerOnModes } from './decisions/core.js';
import { deviceName, deviceSchema } from './devices/schema.js';

const nameRe = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const nameMsg = 'letters, digits, "_", "." and "-", at most 63 characters, starting with a letter or digit';

export const plugRefSchema = z
  .strictObject({
    device: z.string().regex(nameRe, nameMsg).meta({ description: 'Name of a device under fencing.devices.' }),
    plug: z
      .string()
      .min(1)
      .max(63)
      .meta({ description: 'What the device switches: "chassis" for a BMC, an outlet number or name for a PDU.' }),
  })
  .meta({ description: 'One device + plug pair.' });

export const levelSchema = z
  .strictObject({
    plugs: z.array(plugRefSchema).min(1).max(8).meta({
      description:
        'Plugs switched together at this level, e.g. the BMC chassis, or both PDU outlets of a dual-PSU server. Every one must be verified off.',
    }),
    description: z.string().max(200).optional().meta({ description: 'Free text shown in status and history.' }),
  })
  .meta({ description: 'A fencing level.' });

export const targetSchema = z
  .strictObject({
    levels: z
      .array(levelSchema)
      .min(1)
      .max(4)
      .meta({ description: 'Fencing levels tried in order: when a level fails, the next one is tried.' }),
    addresses: z.array(z.string().min(1)).default([]).meta({
      description:
        'IP addresses this node sends fence requests from; used to refuse a request from a node that is itself being fenced (fence race).',
    }),
  })
  .meta({ description: 'A node of the rack that the box can fence.' });

export const apiKeySchema = z.strictObject({
  id: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,32}$/, 'letters, digits, "_", "." and "-", at most 32 characters')
    .meta({ description: 'Key id the agent sends (agent parameter key_id).' }),
  key_file: secretFile('File holding the shared key (at least 32 characters, e.g. `openssl rand -hex 32`).'),
});

export const fencingApiSchema = z
  .strictObject({
    enabled: z.boolean().default(true).meta({ description: 'Serve the fence agent API.' }),
    host: z.string().min(1).default('0.0.0.0').meta({ description: 'Address the fence agent API binds.' }),
    port: port('TCP port of the fence agent API.').default(9642),
    keys: z
      .array(apiKeySchema)
      .max(8)
      .default([])
      .meta({ description: 'Shared keys accepted for signed requests (several during a key rotation).' }),
    clock_skew_s: seconds('Accepted difference between the agent’s timestamp and the box clock.', 1, 600).default(30),
    rate_per_min: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(60)
      .meta({ description: 'Requests per minute accepted from one source address (refused ones count too).' }),
    rate_burst: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(20)
      .meta({ description: 'Requests one source address may send at once before the per-minute rate applies.' }),
  })
  .prefault({})
  .meta({ description: 'Network API that fence_rackwitness calls (HMAC-SHA256 signed HTTP).' });

export const arbitrationSchema = z
  .strictObject({
    enabled: z.boolean().default(true).meta({
      description:
        'Fence arbitration: when both nodes ask to fence each other, prefer the node that holds the PostgreSQL primary (by the observer), else `preferred_node`, else the first request. Needs `addresses` on every target.',
    }),
    hold_s: seconds(
      'How long a request to fence the preferred node is held, waiting for the preferred node’s own request (which then wins); after it the held request goes on. Keep it well below the cluster’s stonith-timeout.',
      0,
      60,
    ).default(5),
    observer_max_age_s: seconds(
      'PostgreSQL observer data older than this is treated as unknown (arbitration then falls back to preferred_node, then first come).',
      0.5,
      600,
    ).default(10),
    preferred_node: z.string().regex(nameRe, nameMsg).optional().meta({
      description:
        'Target preferred when the box has no fresh PostgreSQL data that singles out a node (no observer, stale, or a tie); omit for first come.',
    }),
  })
  .prefault({})
  .meta({ description: 'Who wins when both nodes ask to fence each other (see docs/partitions.md).' });

export const fencingConfigSchema = z
  .strictObject({
    ...serviceSwitches,
    corosync_token_ms: z
      .number()
      .int()
      .min(10)
      .max(600_000)
      .default(3000)
      .meta({ description: 'The rack’s corosync `token` timeout (corosync.conf totem.token).' }),
    corosync_consensus_ms: z
      .number()
      .int()
      .min(10)
      .max(720_000)
      .optional()
      .meta({ description: 'The rack’s corosync `consensus` timeout; default 1.2 × token, as corosync.' }),
    boot_delay_s: seconds(
      'Wait between a verified off and the power-on of a reboot; must exceed corosync token + consensus.',
      0,
      600,
    ).default(10),
    power_timeout_s: seconds(
      'How long to poll for the new power state after off/on before the level fails.',
      0.5,
      300,
    ).default(20),
    poll_interval_ms: z
      .number()
      .int()
      .min(50)
      .max(10_000)
      .default(500)
      .meta({ description: 'Interval between power-state reads while waiting for the new state.' }),
    command_timeout_s: seconds('Bound on one request to a device (status, off, on).', 0.2, 60).default(5),
    monitor_interval_s: seconds('Period of the device reachability check.', 1, 3600).default(60),
    reboot_power_on: z.enum(rebootPowerOnModes).default('after-answer').meta({
      description:
        'Reboot: `after-answer` answers the cluster as soon as every plug reads off, then (boot delay, power-on, verify on) powers the node back on as a journaled follow-up; `never` makes reboot an off that leaves the node off.',
    }),
    requester_boot_s: seconds(
      'Fence race guard: a request from a node the box itself powered on less than this long ago is refused (it cannot have booted, rejoined and seen the other node fail yet). Default: corosync token + consensus, below which no such request can be legitimate.',
      0,
      600,
    ).optional(),
    race_window_s: seconds(
      'Deprecated and ignored: the fence race guard now decides from the power the box knows of the requester (see requester_boot_s).',
      0,
      3600,
    ).optional(),
    allow_simulated: z
      .boolean()
      .default(false)
      .meta({ description: 'Allow "sim" devices outside the demo (tests only; they fence nothing real).' }),
    history_max: z
      .number()
      .int()
      .min(10)
      .max(100_000)
      .default(1000)
      .meta({ description: 'Operations kept in the journal (oldest dropped first).' }),
    devices: z
      .array(deviceSchema)
      .max(64)
      .default([])
      .meta({ description: 'Power devices; each has a unique `name` that levels refer to, and a `driver` (family).' }),
    targets: z
      .record(z.string().regex(nameRe, nameMsg), targetSchema)
      .default({})
      .meta({ description: 'Nodes the box can fence, by cluster node name.' }),
    api: fencingApiSchema,
    arbitration: arbitrationSchema,
  })
  .meta({ description: 'STONITH: power fencing of the rack’s nodes through IPMI, PDUs, relays.' });

export type FencingConfig = z.infer<typeof fencingConfigSchema>;
export type TargetConfig = z.infer<typeof targetSchema>;

export function consensusMs(c: FencingConfig): number {
  return c.corosync_consensus_ms ?? Math.round(1.2 * c.corosync_token_ms);
}

/** The guard's "cannot have booted yet" window after a power-on by the box (ms). */
export function requesterBootMs(c: FencingConfig): number {
  return c.requester_boot_s !== undefined ? c.requester_boot_s * 1000 : c.corosync_token_ms + consensusMs(c);
}

export const fencingRules: ConfigRule[] = [
  {
    id: 'fencing.boot-delay-vs-corosync',
    path: 'fencing.boot_delay_s',
    describe:
      'The reboot boot delay exceeds corosync token + consensus, so the fenced node cannot rejoin before the survivor has seen it leave (it would otherwise receive its own fencing notice and stop).',
    check: (c) => {
      const f = c.fencing;
      if (!f?.enabled) return undefined;
      const need = f.corosync_token_ms + consensusMs(f);
      return f.boot_delay_s * 1000 > need
        ? undefined
        : `boot_delay_s (${f.boot_delay_s}) must exceed corosync token + consensus (${need} ms)`;
    },
  },
  {
    id: 'fencing.device-names',
    path: 'fencing.devices',
    describe: 'Every device has a name, and names are unique.',
    check: (c) => {
      const f = c.fencing;
      if (!f) return undefined;
      const names = f.devices.map((d) => deviceName(d));
      const i = names.indexOf('');
      if (i >= 0) return `device ${i + 1} (${f.devices[i]?.driver}) has no name`;
      const dup = names.find((n, j) => names.indexOf(n) !== j);
      return dup ? `device name "${dup}" is used twice` : undefined;
    },
  },
  {
    id: 'fencing.level-devices',
    path: 'fencing.targets',
    describe: 'Every plug of every fencing level names a configured device.',
    check: (c) => {
      const f = c.fencing;
      if (!f) return undefined;
      for (const [t, tc] of Object.entries(f.targets)) {
        for (const [i, lvl] of tc.levels.entries()) {
          for (const p of lvl.plugs) {
            if (!f.devices.some((d) => deviceName(d) === p.device))
              return `target ${t} level ${i + 1} uses device "${p.device}", which is not under fencing.devices`;
          }
          const keys = lvl.plugs.map((p) => `${p.device}/${p.plug}`);
          if (new Set(keys).size !== keys.length) return `target ${t} level ${i + 1} lists the same plug twice`;
        }
      }
      return undefined;
    },
  },
  {
    id: 'fencing.arbitration.preferred-node',
    path: 'fencing.arbitration.preferred_node',
    describe: 'The preferred node of fence arbitration is a configured target.',
    check: (c) => {
      const p = c.fencing?.arbitration.preferred_node;
      if (!c.fencing || p === undefined || Object.hasOwn(c.fencing.targets, p)) return undefined;
      return `preferred_node "${p}" is not under fencing.targets (${Object.keys(c.fencing.targets).join(', ') || 'none'})`;
    },
  },
  {
    id: 'fencing.poll-vs-timeout',
    path: 'fencing.poll_interval_ms',
    describe: 'The power-state poll interval is shorter than the power timeout.',
    check: (c) =>
      c.fencing && c.fencing.poll_interval_ms >= c.fencing.power_timeout_s * 1000
        ? `poll_interval_ms (${c.fencing.poll_interval_ms}) must be below power_timeout_s (${c.fencing.power_timeout_s} s)`
        : undefined,
  },
  {
    id: 'fencing.api-keys',
    path: 'fencing.api.keys',
    describe: 'The fence agent API has at least one key when enabled, and key ids are unique.',
    check: (c) => {
      const f = c.fencing;
      if (!f?.enabled || !f.api.enabled) return undefined;
      if (f.api.keys.length === 0) return 'the fence agent API is enabled but has no key (add keys: [{id, key_file}])';
      const ids = f.api.keys.map((k) => k.id);
      return new Set(ids).size === ids.length ? undefined : 'key ids must be unique';
    },
  },
  {
    id: 'fencing.api-port-clash',
    path: 'fencing.api.port',
    describe: 'The fence agent API port differs from the status HTTP port and the embedded MQTT broker port.',
    check: (c) => {
      const f = c.fencing;
      if (!f?.enabled || !f.api.enabled) return undefined;
      if (c.status.enabled && c.status.http.enabled && c.status.http.port === f.api.port) {
        return `port ${f.api.port} is also the status HTTP port`;
      }
      if (
        c.status.enabled &&
        c.status.mqtt.enabled &&
        c.status.mqtt.url === undefined &&
        c.status.mqtt.embedded.port === f.api.port
      ) {
        return `port ${f.api.port} is also the embedded MQTT broker's port`;
      }
      return undefined;
    },
  },
];
