/**
 * The device monitor and the service's health: every monitor_interval_s, read every plug a level
 * references (level-1 reads double as the target's power state), note which devices answer, and
 * derive the health from one "usable level" check.
 */
import type { ServiceContext } from '../../daemon/service.js';
import type { FencingConfig } from '../config.js';
import type { PowerDriver, PowerState } from '../devices/driver.js';
import { type DeviceState, type FencingState, NAME } from './state.js';

type TargetConfig = FencingConfig['targets'][string];

/** A target is usable while some level has no plug on a device known to be down. */
export function targetUsable(t: TargetConfig, devices: ReadonlyMap<string, DeviceState>): boolean {
  return t.levels.some((l) => l.plugs.every((p) => devices.get(p.device)?.up !== false));
}

export function refreshHealth(st: FencingState): void {
  const c = st.cfg;
  if (!c || st.stopped) return;
  const bad = Object.entries(c.targets)
    .filter(([, t]) => !targetUsable(t, st.devices))
    .map(([target]) => target);
  const down = [...st.devices].filter(([, d]) => d.up === false).map(([n]) => n);
  const problem = [...st.problems.values()].join(' ');
  if (bad.length)
    st.health = {
      state: 'degraded',
      reason: `no usable fencing level for ${bad.join(', ')} (device down: ${down.join(', ')})`,
    };
  else if (down.length) st.health = { state: 'degraded', reason: `power device down: ${down.join(', ')}` };
  else if (problem) st.health = { state: 'degraded', reason: problem };
  else st.health = { state: 'ok' };
}

/** Every plug referenced by a level, per device. */
function referencedPlugs(c: FencingConfig): Map<string, Set<string>> {
  const refs = new Map<string, Set<string>>();
  for (const t of Object.values(c.targets))
    for (const l of t.levels)
      for (const p of l.plugs) refs.set(p.device, (refs.get(p.device) ?? new Set()).add(p.plug));
  return refs;
}

/** Reads one device's plugs into readings and records whether it answered (an event when that changes). */
async function checkDevice(
  ctx: ServiceContext,
  st: FencingState,
  c: FencingConfig,
  name: string,
  drv: PowerDriver,
  plugs: string[],
  readings: Map<string, PowerState | 'unknown'>,
): Promise<void> {
  let ok = plugs.length > 0;
  let error: string | undefined = plugs.length ? undefined : 'no target uses this device';
  for (const plug of plugs) {
    const signal = AbortSignal.timeout(c.command_timeout_s * 1000);
    try {
      readings.set(`${name}/${plug}`, await drv.status(plug, signal));
    } catch (e) {
      ok = false;
      error = e instanceof Error ? e.message : String(e);
      readings.set(`${name}/${plug}`, 'unknown');
    }
  }
  const d = st.devices.get(name);
  if (!d) return;
  if (plugs.length && (d.up === undefined ? !ok : d.up !== ok)) {
    ctx.events.record(
      NAME,
      ok ? 'fence.device.up' : 'fence.device.down',
      ok ? `Power device ${name} answers again.` : `Power device ${name} does not answer: ${error}.`,
      { device: name },
    );
  }
  d.up = ok;
  d.checked = new Date().toISOString();
  if (error) d.error = error;
  else delete d.error;
}

/** Sets each idle target's power from its level-1 reads; a target read on clears its power-on problem. */
function notePower(
  ctx: ServiceContext,
  st: FencingState,
  c: FencingConfig,
  readings: Map<string, PowerState | 'unknown'>,
): void {
  const at = new Date().toISOString();
  for (const [target, t] of Object.entries(c.targets)) {
    if (st.fencer?.isRunning(target)) continue;
    const first = t.levels[0];
    if (!first) continue;
    const states = first.plugs.map((p) => readings.get(`${p.device}/${p.plug}`) ?? 'unknown');
    const s: PowerState | 'unknown' = states.includes('unknown') ? 'unknown' : states.includes('on') ? 'on' : 'off';
    st.power.set(target, { state: s, at });
    st.fencer?.notePower(target, s);
    if (s === 'on' && st.problems.delete(target)) {
      ctx.events.record(
        NAME,
        'fence.power-on.recovered',
        `${target} reads on again; its earlier power-on problem is over.`,
        {
          target,
        },
      );
    }
  }
}

export async function checkDevices(ctx: ServiceContext, st: FencingState): Promise<void> {
  const c = st.cfg;
  if (!c) return;
  const refs = referencedPlugs(c);
  const readings = new Map<string, PowerState | 'unknown'>();
  await Promise.all(
    [...st.drivers].map(([name, drv]) => checkDevice(ctx, st, c, name, drv, [...(refs.get(name) ?? [])], readings)),
  );
  notePower(ctx, st, c, readings);
  refreshHealth(st);
  ctx.changed();
  ctx.heartbeats.beat('fencing.monitor'); // the watchdog may gate on this loop (src/watchdog/heartbeat.ts)
}

/** Runs the periodic check: one pass at a time, the first one awaited by start. */
export class DeviceMonitor {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly ctx: ServiceContext,
    private readonly st: FencingState,
  ) {}

  async start(intervalS: number): Promise<void> {
    this.running = checkDevices(this.ctx, this.st).catch(() => undefined);
    await this.running;
    this.timer = setInterval(() => {
      if (!this.running) {
        this.running = checkDevices(this.ctx, this.st)
          .catch(() => undefined)
          .finally(() => {
            this.running = undefined;
          });
      }
    }, intervalS * 1000);
    this.timer.unref();
    this.running = undefined;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
