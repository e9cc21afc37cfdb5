/**
 * The fencing daemon service: builds the device drivers, opens the journal, runs the fencer,
 * serves the fence agent API, checks device reachability periodically, and exposes metrics,
 * status entities and the control methods fence.run / fence.history / fence.status (+ fence.sim
 * for simulated devices).
 *
 * This file is the lifecycle (start, stop) wiring the concerns under ./service/: metrics, the
 * device monitor and health, the reporting hooks, the control methods, the snapshot and entities.
 */
import type { Service, ServiceContext, ServiceFactory } from '../daemon/service.js';
import { readKeyFile } from './api/protocol.js';
import { FenceApi } from './api/server.js';
import type { FencingConfig } from './config.js';
import { Arbiter, observerView } from './decisions/arbitration.js';
import { createDriver, deviceName, isSimulated } from './devices/registry.js';
import { FenceJournal } from './journal.js';
import { Fencer } from './operations/fencer.js';
import { registerFenceControl } from './service/control.js';
import { fencingEntities } from './service/entities.js';
import { createFencingMetrics, type FencingMetrics, registerFencingMetrics } from './service/metrics.js';
import { DeviceMonitor, refreshHealth, targetUsable } from './service/monitor.js';
import { apiAttemptReporter, arbitrationReporter, fencerHooks } from './service/reporting.js';
import { fencingSnapshot } from './service/snapshot.js';
import { type FencingState, NAME, newFencingState } from './service/state.js';

export type { FencingSnapshot, TargetView } from './service/snapshot.js';
export type { DeviceState } from './service/state.js';

export const createFencingService: ServiceFactory = (ctx: ServiceContext): Service => {
  const st = newFencingState();
  const metrics = createFencingMetrics(st);
  const monitor = new DeviceMonitor(ctx, st);
  const release = () => stopFencing(ctx, st, monitor);
  return {
    name: NAME,
    async start() {
      const c = ctx.config.fencing;
      if (!c) throw new Error('fencing: the config has no fencing section');
      st.cfg = c;
      checkSimulatedAllowed(c, ctx.demo);
      const keys = readApiKeys(c);
      await openDrivers(ctx, st, c);
      const journal = openJournal(ctx, st, c);
      const fencer = startFencer(ctx, st, c, journal, metrics);
      registerFencingMetrics(ctx, metrics, Object.keys(c.targets));
      registerFenceControl(ctx, st, fencer, journal);
      if (c.api.enabled) await startApi(ctx, st, c, keys, metrics, release);
      await monitor.start(c.monitor_interval_s);
      refreshHealth(st);
      ctx.events.record(
        NAME,
        'fence.ready',
        `Fencing ready: ${Object.keys(c.targets).length} target(s), ${st.drivers.size} device(s)${st.api ? `, agent API on ${c.api.host}:${st.apiPort}` : ''}.`,
      );
    },
    stop: release,
    health: () => st.health,
    snapshot: () => fencingSnapshot(st),
    entities: () => fencingEntities(st),
  };
};

function checkSimulatedAllowed(c: FencingConfig, demo: boolean | undefined): void {
  for (const dc of c.devices) {
    const name = deviceName(dc);
    if (isSimulated(dc) && !demo && !c.allow_simulated) {
      throw new Error(
        `fencing.devices.${name}: a simulated ("sim") device fences nothing real; it is allowed only in the demo or with fencing.allow_simulated: true`,
      );
    }
  }
}

function readApiKeys(c: FencingConfig): Map<string, Buffer> {
  const keys = new Map<string, Buffer>();
  if (!c.api.enabled) return keys;
  for (const k of c.api.keys) {
    try {
      keys.set(k.id, readKeyFile(k.key_file));
    } catch (e) {
      throw new Error(`fencing.api.keys (${k.id}): ${(e as Error).message}`);
    }
  }
  return keys;
}

async function openDrivers(ctx: ServiceContext, st: FencingState, c: FencingConfig): Promise<void> {
  for (const dc of c.devices) {
    const name = deviceName(dc);
    try {
      st.drivers.set(name, await createDriver(dc, { log: ctx.log.child({ device: name }), lanes: st.lanes }));
    } catch (e) {
      for (const d of st.drivers.values()) await d.close();
      st.drivers.clear();
      throw new Error(`fencing.devices.${name}: ${(e as Error).message}`);
    }
    st.devices.set(name, { family: dc.driver, up: undefined });
  }
}

/** Opens the journal and reports what a crash left behind (torn lines, interrupted operations). */
function openJournal(ctx: ServiceContext, st: FencingState, c: FencingConfig): FenceJournal {
  const journal = FenceJournal.open(ctx.stateDir, c.history_max);
  st.journal = journal;
  if (journal.skippedAtOpen > 0) {
    ctx.events.record(
      NAME,
      'fence.journal.torn',
      `Skipped ${journal.skippedAtOpen} unreadable line(s) in the fence journal (torn write at a crash).`,
    );
  }
  for (const h of journal.interruptedAtOpen) {
    const sentence =
      h.action === 'power-on'
        ? `The power-on of ${h.target} after its reboot (started ${h.started}) never finished (daemon crash or power loss): ${h.target} was fenced (verified off) and may still be off; power it on with "rackwitness fence ${h.target} --action on".`
        : `The ${h.action} of ${h.target} started at ${h.started} never finished (daemon crash or power loss); its outcome is unknown.`;
    ctx.events.record(NAME, 'fence.interrupted', sentence, { id: h.id, target: h.target, action: h.action });
    if (h.action === 'power-on')
      st.problems.set(h.target, `${h.target} may still be off: its power-on after a reboot was interrupted.`);
  }
  return journal;
}

function startFencer(
  ctx: ServiceContext,
  st: FencingState,
  c: FencingConfig,
  journal: FenceJournal,
  m: FencingMetrics,
): Fencer {
  const fencer = new Fencer(c, st.drivers, journal, fencerHooks(ctx, st, m));
  st.fencer = fencer;
  const arbiter = new Arbiter({
    enabled: c.arbitration.enabled,
    holdMs: c.arbitration.hold_s * 1000,
    observerMaxAgeMs: c.arbitration.observer_max_age_s * 1000,
    ...(c.arbitration.preferred_node ? { preferredNode: c.arbitration.preferred_node } : {}),
    addressesConfigured: Object.values(c.targets).some((t) => t.addresses.length > 0),
    observer: () => observerView(ctx.providers.get('pgsql.rack')?.()),
    observerExpected: () => ctx.providers.get('pgsql.rack') !== undefined,
    onDecision: arbitrationReporter(ctx, m),
  });
  st.arbiter = arbiter;
  fencer.useArbiter(arbiter);
  return fencer;
}

async function startApi(
  ctx: ServiceContext,
  st: FencingState,
  c: FencingConfig,
  keys: Map<string, Buffer>,
  m: FencingMetrics,
  release: () => Promise<void>,
): Promise<void> {
  const api = new FenceApi({
    host: c.api.host,
    port: c.api.port,
    keys,
    clockSkewMs: c.api.clock_skew_s * 1000,
    ratePerMin: c.api.rate_per_min,
    rateBurst: c.api.rate_burst,
    stateDir: ctx.stateDir,
    admission: () => ctx.admission(),
    drainMs: Math.max(0, ctx.config.daemon.shutdown_timeout_s * 1000 - 1000),
    fencer: st.fencer as Fencer,
    onAttempt: apiAttemptReporter(ctx, st, m),
    health: () => ({
      devices: Object.fromEntries([...st.devices].map(([n, d]) => [n, d.up ?? null])),
      targets: Object.fromEntries(Object.entries(c.targets).map(([t, tc]) => [t, targetUsable(tc, st.devices)])),
    }),
  });
  st.api = api;
  try {
    st.apiPort = await api.start();
  } catch (e) {
    await release();
    throw new Error(
      `fencing.api: cannot listen on ${c.api.host}:${c.api.port} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
}

async function stopFencing(ctx: ServiceContext, st: FencingState, monitor: DeviceMonitor): Promise<void> {
  st.stopped = true;
  monitor.stop();
  try {
    await st.api?.stop();
  } catch {
    // stop never throws
  }
  // a pending power-on is not carried out by a stopping daemon: the node stays off (safe), loudly
  const cancelled = st.fencer?.cancelFollowUps('the daemon is stopping; the node stays off') ?? 0;
  if (cancelled > 0)
    ctx.events.record(
      NAME,
      'fence.power-on.cancelled',
      `The daemon is stopping: ${cancelled} pending power-on(s) after a reboot cancelled; those nodes stay off until powered on (rackwitness fence NODE --action on).`,
    );
  try {
    // let a running fence reach its verified result rather than cutting it in the middle
    await st.fencer?.drain(((st.cfg?.power_timeout_s ?? 5) + (st.cfg?.command_timeout_s ?? 5)) * 1000);
  } catch {
    // stop never throws
  }
  for (const d of st.drivers.values()) {
    try {
      await d.close();
    } catch {
      // drivers' close never throws, but be sure
    }
  }
  st.journal?.close();
  st.health = { state: 'stopped' };
}
