import { z } from 'zod';
import { pathField, seconds, serviceSwitches } from '../config/fields.js';
import type { ConfigRule } from '../config/rules.js';
import type { Config } from '../config/schema.js';
import { HEARTBEATS } from './heartbeat.js';

export const watchdogGateSchema = z
  .strictObject({
    services: z.array(z.string().min(1)).optional().meta({
      description:
        'Services that must be healthy for the watchdog to be fed. Default: every enabled, non-optional service of the daemon.',
    }),
    feed_when_degraded: z.boolean().default(true).meta({
      description:
        'Keep feeding while a gated service is degraded (still working, with a problem); failed or stopped never feeds.',
    }),
    cluster_view_service: z.string().min(1).optional().meta({
      description:
        'Service that owns the cluster view (e.g. the arbitrator): it must be fully ok, not merely degraded, for a feed. Unset: not gated.',
    }),
    heartbeats: z
      .array(
        z.strictObject({
          name: z
            .string()
            .min(1)
            .meta({ description: 'Heartbeat name a decision loop beats (ctx.heartbeats.beat()).' }),
          max_age_s: seconds('Oldest acceptable beat.', 0.05, 300),
        }),
      )
      .default([])
      .meta({ description: 'Decision-loop heartbeats that must be fresh for a feed (src/watchdog/heartbeat.ts).' }),
    max_loop_lag_ms: z.number().int().min(10).max(60_000).default(1000).meta({
      description: 'A feed tick that ran later than this behind schedule (event loop blocked) does not feed.',
    }),
  })
  .prefault({});

export const watchdogStrobeSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(true)
      .meta({ description: 'Strobe an external watchdog IC on a GPIO line with every feed.' }),
    mode: z
      .enum(['toggle', 'pulse'])
      .default('toggle')
      .meta({ description: 'toggle: invert the line each feed; pulse: drive it high for pulse_ms, then low.' }),
    pulse_ms: z.number().int().min(1).max(1000).default(5).meta({ description: 'Width of a pulse (mode pulse).' }),
  })
  .meta({
    description:
      'External GPIO watchdog IC on the board file’s gpio.watchdog_strobe line, strobed by the health-gated feeder.',
  });

export const watchdogConfigSchema = z
  .strictObject({
    ...serviceSwitches,
    mode: z.enum(['required', 'automatic', 'off']).default('automatic').meta({
      description:
        'required: refuse to start unless the device opens and its timeout is within safety_bound_s; automatic: use it when possible, else run degraded; off: never touch a device (systemd pings still gated).',
    }),
    device: pathField('Watchdog device; opening it arms it.').default('/dev/watchdog0'),
    sysfs_root: pathField('Root of sysfs where <root>/class/watchdog/<name>/timeout is read.').default('/sys'),
    sysfs_name: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+$/)
      .optional()
      .meta({
        description: 'Name under class/watchdog; default derived from device (watchdogN; /dev/watchdog = watchdog0).',
      }),
    timeout_s: z.number().int().min(1).max(600).default(10).meta({
      description:
        'Hardware timeout set outside the daemon (kernel cmdline bcm2835_wdt.heartbeat=, modprobe option, or wdctl); used when sysfs cannot tell.',
    }),
    feed_period_s: seconds('Period of the health-gated feed.', 0.02, 60).default(2),
    safety_bound_s: z
      .number()
      .int()
      .min(1)
      .max(600)
      .default(15)
      .meta({ description: 'Largest acceptable effective timeout (15 s = bcm2835-wdt hardware maximum).' }),
    gate: watchdogGateSchema,
    gpio_strobe: watchdogStrobeSchema.optional(),
    systemd: z
      .strictObject({
        ping: z.boolean().default(true).meta({
          description: 'Send WATCHDOG=1 to systemd (when WatchdogSec= set WATCHDOG_USEC) on every gated feed.',
        }),
      })
      .prefault({}),
  })
  .meta({ description: 'Hardware watchdog feeder, gated on the health of the daemon (like sbd).' });

export type WatchdogConfig = z.infer<typeof watchdogConfigSchema>;

/** The watchdog section in force: an absent section means mode off (never arm a device unasked). */
export function effectiveWatchdogConfig(c: Config): WatchdogConfig {
  const w = (c as { watchdog?: WatchdogConfig }).watchdog;
  return w ?? watchdogConfigSchema.parse({ mode: 'off' });
}

function w(c: Config): WatchdogConfig | undefined {
  return (c as { watchdog?: WatchdogConfig }).watchdog;
}

export const watchdogRules: ConfigRule[] = [
  {
    id: 'watchdog.heartbeat-names',
    path: 'watchdog.gate.heartbeats',
    describe:
      'Every gated heartbeat is one a loop actually sends (arbitrator, fencing.monitor), its service is enabled, and max_age_s exceeds the loop’s period; a heartbeat nothing sends would stop the feed for good.',
    check: (c) => {
      const x = w(c);
      if (!x) return undefined;
      for (const h of x.gate.heartbeats) {
        const known = (HEARTBEATS as Record<string, { service: string; loop: string }>)[h.name];
        if (!known)
          return `heartbeat "${h.name}" is sent by no loop; known heartbeats: ${Object.keys(HEARTBEATS).join(', ')}`;
        const section = (c as Record<string, unknown>)[known.service] as { enabled?: boolean } | undefined;
        if (!section || section.enabled === false)
          return `heartbeat "${h.name}" comes from ${known.loop}, but the ${known.service} section is not enabled`;
        if (h.name === 'arbitrator' && h.max_age_s <= 0.1)
          return `heartbeat "arbitrator" max_age_s ${h.max_age_s} must exceed the timer loop's period (0.1 s)`;
        if (h.name === 'fencing.monitor') {
          const f = c.fencing;
          if (f) {
            const plugs = Math.max(
              1,
              ...f.devices.map((d) => {
                const name = (d as { name?: string }).name;
                return new Set(
                  Object.values(f.targets).flatMap((t) =>
                    t.levels.flatMap((l) => l.plugs.filter((p) => p.device === name).map((p) => p.plug)),
                  ),
                ).size;
              }),
            );
            const periodS = f.monitor_interval_s + plugs * f.command_timeout_s;
            if (h.max_age_s <= periodS)
              return `heartbeat "fencing.monitor" max_age_s ${h.max_age_s} must exceed fencing.monitor_interval_s + ${plugs} plug read(s) × command_timeout_s = ${periodS} s`;
          }
        }
      }
      return undefined;
    },
  },
  {
    id: 'watchdog.period-vs-timeout',
    path: 'watchdog.feed_period_s',
    describe: 'The feed period is at most a third of the hardware timeout, so two missed ticks never reset the box.',
    check: (c) => {
      const x = w(c);
      if (!x) return undefined; // every mode: a mode is switched on later (or by env) without another check
      return x.feed_period_s * 3 > x.timeout_s
        ? `feed_period_s ${x.feed_period_s} must be at most timeout_s/3 (${(x.timeout_s / 3).toFixed(2)})`
        : undefined;
    },
  },
  {
    id: 'watchdog.timeout-vs-bound',
    path: 'watchdog.timeout_s',
    describe: 'The configured hardware timeout does not exceed the safety bound (bcm2835-wdt cannot count past 15 s).',
    check: (c) => {
      const x = w(c);
      if (!x) return undefined; // every mode: a mode is switched on later (or by env) without another check
      return x.timeout_s > x.safety_bound_s
        ? `timeout_s ${x.timeout_s} exceeds safety_bound_s ${x.safety_bound_s}`
        : undefined;
    },
  },
  {
    id: 'watchdog.lag-vs-timeout',
    path: 'watchdog.gate.max_loop_lag_ms',
    describe: 'A tolerated event-loop lag plus one period stays below the hardware timeout.',
    check: (c) => {
      const x = w(c);
      if (!x) return undefined; // every mode: a mode is switched on later (or by env) without another check
      return x.gate.max_loop_lag_ms / 1000 + x.feed_period_s >= x.timeout_s
        ? `max_loop_lag_ms ${x.gate.max_loop_lag_ms} plus feed_period_s ${x.feed_period_s} reaches timeout_s ${x.timeout_s}`
        : undefined;
    },
  },
  {
    id: 'watchdog.heartbeat-vs-timeout',
    path: 'watchdog.gate.heartbeats',
    describe: 'A decision-loop heartbeat may not be older than the hardware timeout allows.',
    check: (c) => {
      const x = w(c);
      if (!x) return undefined; // every mode: a mode is switched on later (or by env) without another check
      const bad = x.gate.heartbeats.find((h) => h.max_age_s >= x.timeout_s);
      return bad
        ? `heartbeat "${bad.name}" max_age_s ${bad.max_age_s} must be below timeout_s ${x.timeout_s}`
        : undefined;
    },
  },
];
