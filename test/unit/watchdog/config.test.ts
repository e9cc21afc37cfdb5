import { describe, expect, it } from 'vitest';
import { runRules } from '../../../src/config/rules.js';
import { configRules, configSchema } from '../../../src/config/schema.js';
import { effectiveWatchdogConfig, watchdogConfigSchema, watchdogRules } from '../../../src/watchdog/config.js';

const problems = (watchdog: Record<string, unknown>) =>
  runRules(configSchema.parse({ watchdog }), watchdogRules).map((p) => `${p.path}: ${p.message}`);

describe('watchdog config', () => {
  it('defaults to the bcm2835-friendly values', () => {
    const c = watchdogConfigSchema.parse({});
    expect(c).toMatchObject({
      mode: 'automatic',
      device: '/dev/watchdog0',
      timeout_s: 10,
      feed_period_s: 2,
      safety_bound_s: 15,
    });
    expect(c.gate).toMatchObject({ feed_when_degraded: true, max_loop_lag_ms: 1000, heartbeats: [] });
    expect(problems({})).toEqual([]);
  });

  it('an absent section means mode off (never arm a device unasked)', () => {
    expect(effectiveWatchdogConfig(configSchema.parse({})).mode).toBe('off');
  });

  it('rejects unknown keys and bad modes, naming the key', () => {
    const r = configSchema.safeParse({ watchdog: { mode: 'always', period_s: 1 } });
    expect(r.success).toBe(false);
    const paths = r.error?.issues.map((i) => [...i.path, ...('keys' in i ? i.keys : [])].join('.'));
    expect(paths).toEqual(expect.arrayContaining(['watchdog.mode', 'watchdog.period_s']));
  });

  it('the period must be well below the timeout', () => {
    expect(problems({ timeout_s: 10, feed_period_s: 4 })).toEqual([
      'watchdog.feed_period_s: feed_period_s 4 must be at most timeout_s/3 (3.33)',
    ]);
  });

  it('the timeout must not exceed the safety bound', () => {
    expect(problems({ timeout_s: 30, feed_period_s: 2 })).toEqual([
      'watchdog.timeout_s: timeout_s 30 exceeds safety_bound_s 15',
    ]);
    expect(problems({ timeout_s: 30, feed_period_s: 2, safety_bound_s: 60 })).toEqual([]);
  });

  it('tolerated loop lag plus a period stays below the timeout, and heartbeats are younger than it', () => {
    expect(problems({ timeout_s: 3, feed_period_s: 1, gate: { max_loop_lag_ms: 2500 } })).toEqual([
      'watchdog.gate.max_loop_lag_ms: max_loop_lag_ms 2500 plus feed_period_s 1 reaches timeout_s 3',
    ]);
    expect(problems({ gate: { heartbeats: [{ name: 'decision', max_age_s: 12 }] } })).toEqual([
      'watchdog.gate.heartbeats: heartbeat "decision" is sent by no loop; known heartbeats: arbitrator, fencing.monitor',
      'watchdog.gate.heartbeats: heartbeat "decision" max_age_s 12 must be below timeout_s 10',
    ]);
  });

  it('a gated heartbeat must be one a loop sends, from an enabled service, older than its period', () => {
    const withFencing = (heartbeats: unknown[]) =>
      runRules(
        configSchema.parse({
          watchdog: { gate: { heartbeats } },
          fencing: {
            corosync_token_ms: 100,
            boot_delay_s: 1,
            monitor_interval_s: 5,
            command_timeout_s: 1,
            allow_simulated: true,
            devices: [{ driver: 'sim', name: 'bmc', plugs: ['a', 'b'] }],
            targets: {
              n1: { levels: [{ plugs: [{ device: 'bmc', plug: 'a' }] }] },
              n2: { levels: [{ plugs: [{ device: 'bmc', plug: 'b' }] }] },
            },
            api: { enabled: false },
          },
        }),
        watchdogRules,
      ).map((p) => p.message);
    expect(withFencing([{ name: 'fencing.monitor', max_age_s: 8 }])).toEqual([]);
    expect(withFencing([{ name: 'fencing.monitor', max_age_s: 6 }])).toEqual([
      'heartbeat "fencing.monitor" max_age_s 6 must exceed fencing.monitor_interval_s + 2 plug read(s) × command_timeout_s = 7 s',
    ]);
    expect(withFencing([{ name: 'arbitrator', max_age_s: 2 }])).toEqual([
      'heartbeat "arbitrator" comes from the booth arbitrator’s ticket timer loop (every 10–100 ms), but the arbitrator section is not enabled',
    ]);
    expect(withFencing([{ name: 'election', max_age_s: 2 }])[0]).toMatch(/"election" is sent by no loop/);
  });

  it('mode off is held to the timing rules too (config check agrees with run whatever the mode)', () => {
    expect(problems({ mode: 'off', timeout_s: 30, feed_period_s: 20 })).toEqual([
      'watchdog.feed_period_s: feed_period_s 20 must be at most timeout_s/3 (10.00)',
      'watchdog.timeout_s: timeout_s 30 exceeds safety_bound_s 15',
    ]);
    expect(problems({ mode: 'off' })).toEqual([]);
  });

  it('is wired into the daemon schema and rule list', () => {
    for (const r of watchdogRules) expect(configRules).toContain(r);
    expect(configSchema.parse({ watchdog: {} }).watchdog?.mode).toBe('automatic');
  });
});
