/**
 * The fencing daemon service: builds the device drivers, opens the journal, runs the fencer,
 * serves the fence agent API, checks device reachability periodically, and exposes metrics,
 * status entities and the control methods fence.run / fence.history / fence.status (+ fence.sim
 * for simulated devices).
 */
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Entity, Health, Service, ServiceContext, ServiceFactory } from '../daemon/service.js';
import { type Attempt, FenceApi } from './api.js';
import { Arbiter, arbitrationTable, observerView, preference } from './arbitration.js';
import type { FencingConfig } from './config.js';
import { controlRequester, historyLimit } from './control-params.js';
import { fenceActions } from './core.js';
import type { PowerDriver, PowerState } from './driver.js';
import { createDriver, deviceName, isSimulated } from './drivers.js';
import {
  type FenceResult,
  Fencer,
  type FollowUpResult,
  UnknownTargetError,
  worstCaseFollowUpS,
  worstCaseS,
} from './fencer.js';
import { FenceJournal, type HistoryEntry } from './journal.js';
import { zeroFenceApiRequests, zeroFenceOperations } from './metrics.js';
import { readKeyFile } from './protocol.js';
import { type SimDriver, simFaults } from './sim/index.js';
import { SingleFlight } from './single-flight.js';

const NAME = 'fencing';

/** What fence.status answers (and the service's snapshot): per target and per device. */
export interface FencingSnapshot extends Record<string, unknown> {
  /** Only before start/after stop: the service's state. */
  state?: string;
  targets?: Record<string, TargetView>;
  devices?: Record<string, DeviceState>;
}

export interface TargetView extends Record<string, unknown> {
  levels: Array<{ level: number; plugs: string[]; description?: string }>;
  power: PowerState | 'unknown';
  in_progress: { id: string; action: string; since: string; stage: string } | undefined;
  last_operation: Record<string, unknown> | undefined;
}

export interface DeviceState {
  family: string;
  up: boolean | undefined;
  checked?: string;
  error?: string;
}

interface PowerSeen {
  state: PowerState | 'unknown';
  at: string;
}

export const createFencingService: ServiceFactory = (ctx: ServiceContext): Service => {
  let state: Health = { state: 'starting' };
  let cfg: FencingConfig | undefined;
  const drivers = new Map<string, PowerDriver>();
  /** One operation at a time per BMC across this service's drivers. */
  const lanes = new SingleFlight();
  const devices = new Map<string, DeviceState>();
  const power = new Map<string, PowerSeen>();
  /** Targets whose power-on after a reboot failed: one sentence each, until the node is seen on or fenced again. */
  const problems = new Map<string, string>();
  let journal: FenceJournal | undefined;
  let fencer: Fencer | undefined;
  let api: FenceApi | undefined;
  let arbiter: Arbiter | undefined;
  let apiPort: number | undefined;
  let monitorTimer: NodeJS.Timeout | undefined;
  let monitorRunning: Promise<void> | undefined;
  let stopped = false;
  const apiCounts = { accepted: 0, refused: 0 };

  const opsTotal = new Counter({
    name: 'rackwitness_fence_operations_total',
    help: 'Fence operations by target, action and result (success, failed, refused).',
    labelNames: ['target', 'action', 'result'] as const,
    registers: [],
  });
  const opDuration = new Histogram({
    name: 'rackwitness_fence_operation_duration_seconds',
    help: 'Duration of fence operations, from the first device read to the verified result.',
    labelNames: ['action'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120],
    registers: [],
  });
  const deviceUp = new Gauge({
    name: 'rackwitness_fence_device_up',
    help: '1 when the power device answered the last reachability check, 0 when not.',
    labelNames: ['device'] as const,
    registers: [],
    collect() {
      this.reset();
      for (const [name, d] of devices) if (d.up !== undefined) this.set({ device: name }, d.up ? 1 : 0);
    },
  });
  const apiRequests = new Counter({
    name: 'rackwitness_fence_api_requests_total',
    help: 'Fence agent API requests by outcome (accepted, refused) and refusal reason.',
    labelNames: ['outcome', 'reason'] as const,
    registers: [],
  });
  const arbitrations = new Counter({
    name: 'rackwitness_fence_arbitration_total',
    help: 'Fence arbitration decisions by table row (e.g. arb.hold-for-preferred, arb.rival-won).',
    labelNames: ['row'] as const,
    registers: [],
  });
  const inProgress = new Gauge({
    name: 'rackwitness_fence_operations_in_progress',
    help: 'Fence operations running now.',
    registers: [],
    collect() {
      this.set(fencer?.inProgress().length ?? 0);
    },
  });

  const onAttempt = (a: Attempt) => {
    if (a.outcome === 'accepted') apiCounts.accepted++;
    else apiCounts.refused++;
    apiRequests.inc({ outcome: a.outcome, reason: a.reason ?? '' });
    const fields = {
      addr: a.addr,
      method: a.method,
      path: a.path,
      key_id: a.keyId,
      target: a.target,
      action: a.action,
      status: a.status,
    };
    if (a.outcome === 'accepted') {
      ctx.log.info({ ...fields, outcome: 'accepted' }, 'fence API request accepted');
      return;
    }
    ctx.log.warn({ ...fields, outcome: 'refused', reason: a.reason }, `fence API request refused: ${a.reason}`);
    // aggregated per source + reason: unauthenticated traffic cannot flush the fence decisions
    ctx.events.refusal(
      NAME,
      'fence.api.refused',
      { source: a.addr, reason: a.reason ?? 'refused' },
      `Refused a fence API request from ${a.addr} (${a.method} ${a.path}${a.target ? `, target ${a.target}` : ''}): ${a.reason}.`,
      { addr: a.addr, key_id: a.keyId, target: a.target, action: a.action },
    );
  };

  const checkDevices = async (): Promise<void> => {
    const c = cfg;
    if (!c) return;
    // every plug referenced by a level; level-1 reads double as the target's power state
    const refs = new Map<string, Set<string>>();
    for (const t of Object.values(c.targets))
      for (const l of t.levels)
        for (const p of l.plugs) refs.set(p.device, (refs.get(p.device) ?? new Set()).add(p.plug));
    const readings = new Map<string, PowerState | 'unknown'>();
    await Promise.all(
      [...drivers].map(async ([name, drv]) => {
        const plugs = [...(refs.get(name) ?? [])];
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
        const d = devices.get(name);
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
      }),
    );
    const at = new Date().toISOString();
    for (const [target, t] of Object.entries(c.targets)) {
      if (fencer?.isRunning(target)) continue;
      const first = t.levels[0];
      if (!first) continue;
      const states = first.plugs.map((p) => readings.get(`${p.device}/${p.plug}`) ?? 'unknown');
      const s: PowerState | 'unknown' = states.includes('unknown') ? 'unknown' : states.includes('on') ? 'on' : 'off';
      power.set(target, { state: s, at });
      fencer?.notePower(target, s);
      if (s === 'on' && problems.delete(target)) {
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
    refreshHealth();
    ctx.changed();
    ctx.heartbeats.beat('fencing.monitor'); // the watchdog may gate on this loop (src/watchdog/heartbeat.ts)
  };

  const refreshHealth = () => {
    const c = cfg;
    if (!c || stopped) return;
    const bad: string[] = [];
    for (const [target, t] of Object.entries(c.targets)) {
      const usable = t.levels.some((l) => l.plugs.every((p) => devices.get(p.device)?.up !== false));
      if (!usable) bad.push(target);
    }
    const down = [...devices].filter(([, d]) => d.up === false).map(([n]) => n);
    const problem = [...problems.values()].join(' ');
    if (bad.length)
      state = {
        state: 'degraded',
        reason: `no usable fencing level for ${bad.join(', ')} (device down: ${down.join(', ')})`,
      };
    else if (down.length) state = { state: 'degraded', reason: `power device down: ${down.join(', ')}` };
    else if (problem) state = { state: 'degraded', reason: problem };
    else state = { state: 'ok' };
  };

  const targetSnapshot = (target: string): TargetView => {
    const c = cfg as FencingConfig;
    const t = c.targets[target];
    const recent = journal?.history(100, target) ?? [];
    const last = recent[0];
    // the last off or reboot (a reboot's power-on, status reads and on are not fences)
    const lastFence = recent.find((h) => h.action === 'off' || h.action === 'reboot');
    const run = fencer?.inProgress().find((r) => r.target === target);
    const pending = fencer?.powerOnPending(target);
    const known = fencer?.knownPower(target);
    return {
      levels: (t?.levels ?? []).map((l, i) => ({
        level: i + 1,
        plugs: l.plugs.map((p) => `${p.device}/${p.plug}`),
        ...(l.description ? { description: l.description } : {}),
      })),
      power: power.get(target)?.state ?? 'unknown',
      power_read_at: power.get(target)?.at,
      in_progress: run ? { id: run.id, action: run.action, since: run.since, stage: run.stage } : undefined,
      power_on_pending_until: pending?.phase === 'boot-wait' ? pending.power_on_pending_until : undefined,
      power_on: pending,
      known_power: known ? { state: known.state, how: known.how, at: known.at } : undefined,
      problem: problems.get(target),
      last_operation: last ? summarize(last) : undefined,
      last_fence: lastFence ? summarize(lastFence) : undefined,
      worst_case_reboot_s: worstCaseS(c, target, 'reboot'),
      worst_case_power_on_s: c.reboot_power_on === 'never' ? undefined : worstCaseFollowUpS(c),
    };
  };

  const snapshot = (): FencingSnapshot => {
    const c = cfg;
    if (!c) return { state: state.state };
    return {
      targets: Object.fromEntries(Object.keys(c.targets).map((t) => [t, targetSnapshot(t)])),
      devices: Object.fromEntries(devices),
      api: c.api.enabled ? { host: c.api.host, port: apiPort ?? c.api.port, ...apiCounts } : { enabled: false },
      timing: {
        reboot_power_on: c.reboot_power_on,
        boot_delay_s: c.boot_delay_s,
        power_timeout_s: c.power_timeout_s,
        corosync_token_ms: c.corosync_token_ms,
        corosync_consensus_ms: fencer?.consensusMs(),
      },
      arbitration: arbitrationStatus(),
    };
  };

  const arbitrationStatus = () => {
    const c = cfg;
    if (!c) return undefined;
    const a = c.arbitration;
    if (!a.enabled) return { enabled: false };
    const snap = arbiter?.snapshot({ target: '', action: 'reboot', via: 'api' }, Date.now());
    const p = snap ? preference(snap) : undefined;
    return {
      enabled: true,
      hold_s: a.hold_s,
      observer_max_age_s: a.observer_max_age_s,
      preferred_node: a.preferred_node ?? null,
      prefers: p ? { node: p.node, source: p.source, why: p.why } : null,
      holding: arbiter?.holding() ?? 0,
    };
  };

  const release = async (): Promise<void> => {
    stopped = true;
    if (monitorTimer) clearInterval(monitorTimer);
    try {
      await api?.stop();
    } catch {
      // stop never throws
    }
    // a pending power-on is not carried out by a stopping daemon: the node stays off (safe), loudly
    const cancelled = fencer?.cancelFollowUps('the daemon is stopping; the node stays off') ?? 0;
    if (cancelled > 0)
      ctx.events.record(
        NAME,
        'fence.power-on.cancelled',
        `The daemon is stopping: ${cancelled} pending power-on(s) after a reboot cancelled; those nodes stay off until powered on (rackwitness fence NODE --action on).`,
      );
    try {
      // let a running fence reach its verified result rather than cutting it in the middle
      await fencer?.drain(((cfg?.power_timeout_s ?? 5) + (cfg?.command_timeout_s ?? 5)) * 1000);
    } catch {
      // stop never throws
    }
    for (const d of drivers.values()) {
      try {
        await d.close();
      } catch {
        // drivers' close never throws, but be sure
      }
    }
    journal?.close();
    state = { state: 'stopped' };
  };

  return {
    name: NAME,
    async start() {
      const c = ctx.config.fencing;
      if (!c) throw new Error('fencing: the config has no fencing section');
      cfg = c;
      for (const dc of c.devices) {
        const name = deviceName(dc);
        if (isSimulated(dc) && !ctx.demo && !c.allow_simulated) {
          throw new Error(
            `fencing.devices.${name}: a simulated ("sim") device fences nothing real; it is allowed only in the demo or with fencing.allow_simulated: true`,
          );
        }
      }
      const keys = new Map<string, Buffer>();
      if (c.api.enabled) {
        for (const k of c.api.keys) {
          try {
            keys.set(k.id, readKeyFile(k.key_file));
          } catch (e) {
            throw new Error(`fencing.api.keys (${k.id}): ${(e as Error).message}`);
          }
        }
      }
      for (const dc of c.devices) {
        const name = deviceName(dc);
        try {
          drivers.set(name, await createDriver(dc, { log: ctx.log.child({ device: name }), lanes }));
        } catch (e) {
          for (const d of drivers.values()) await d.close();
          drivers.clear();
          throw new Error(`fencing.devices.${name}: ${(e as Error).message}`);
        }
        devices.set(name, { family: dc.driver, up: undefined });
      }
      journal = FenceJournal.open(ctx.stateDir, c.history_max);
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
          problems.set(h.target, `${h.target} may still be off: its power-on after a reboot was interrupted.`);
      }
      fencer = new Fencer(c, drivers, journal, {
        onStarted(req, id) {
          const who =
            req.requester.via === 'api'
              ? `${req.requester.addr}${req.requester.node ? ` (${req.requester.node})` : ''}`
              : req.requester.via;
          ctx.events.record(NAME, `fence.${req.action}`, `Starting ${req.action} of ${req.target}, asked by ${who}.`, {
            id,
            target: req.target,
            action: req.action,
            requester: req.requester,
          });
          ctx.changed();
        },
        onDecision(req, id, d) {
          ctx.log.info({ id, target: req.target, action: req.action, row: d.row }, d.reason);
        },
        onAdmit(req, d) {
          ctx.log.info(
            { target: req.target, action: req.action, requester: req.requester, row: d.row, verdict: d.verdict },
            d.reason,
          );
        },
        onFinished(req, res) {
          opsTotal.inc({ target: req.target, action: req.action, result: res.result });
          if (res.result !== 'refused') opDuration.observe({ action: req.action }, res.duration_ms / 1000);
          if (res.power && (res.result === 'success' || res.power === 'off'))
            power.set(req.target, { state: res.power, at: new Date().toISOString() });
          if (res.result === 'success' && req.action !== 'status') problems.delete(req.target);
          refreshHealth();
          ctx.events.record(NAME, `fence.${res.result}`, sentence(res), {
            id: res.id,
            target: res.target,
            action: res.action,
            result: res.result,
            level: res.level,
            verified_by: res.verified_by,
            duration_ms: res.duration_ms,
          });
          ctx.changed();
        },
        onFollowUpStarted() {
          ctx.changed();
        },
        onFollowUpPhase(req, fu) {
          if (fu.phase === 'verify-on')
            ctx.events.record(
              NAME,
              'fence.power-on.sent',
              `Boot delay over: switching ${req.target} back on after its reboot.`,
              { id: fu.id, follows: fu.follows, target: req.target },
            );
          ctx.changed();
        },
        onFollowUpFinished(req, fu) {
          opsTotal.inc({ target: req.target, action: 'power-on', result: fu.result });
          if (fu.power) power.set(req.target, { state: fu.power, at: new Date().toISOString() });
          if (fu.result === 'success') problems.delete(req.target);
          else if (fu.result === 'failed')
            problems.set(
              req.target,
              `${req.target} stays off: its power-on after a reboot FAILED (${fu.reason}); the fence answer stands; power it on with "rackwitness fence ${req.target} --action on".`,
            );
          else if (/daemon is stopping/.test(fu.reason))
            problems.set(
              req.target,
              `${req.target} stays off: its pending power-on was cancelled when the daemon stopped.`,
            );
          ctx.events.record(NAME, `fence.power-on.${fu.result}`, followUpSentence(fu), {
            id: fu.id,
            follows: fu.follows,
            target: fu.target,
            result: fu.result,
            level: fu.level,
            verified_by: fu.verified_by,
            duration_ms: fu.duration_ms,
          });
          refreshHealth();
          ctx.changed();
        },
      });
      arbiter = new Arbiter({
        enabled: c.arbitration.enabled,
        holdMs: c.arbitration.hold_s * 1000,
        observerMaxAgeMs: c.arbitration.observer_max_age_s * 1000,
        ...(c.arbitration.preferred_node ? { preferredNode: c.arbitration.preferred_node } : {}),
        addressesConfigured: Object.values(c.targets).some((t) => t.addresses.length > 0),
        observer: () => observerView(ctx.providers.get('pgsql.rack')?.()),
        onDecision(req, d) {
          arbitrations.inc({ row: d.row });
          ctx.log.info({ target: req.target, action: req.action, requester: req.requester, row: d.row }, d.reason);
          if (d.outcome === 'hold') {
            ctx.events.record(NAME, 'fence.arbitration.hold', `${cap(d.reason)}.`, {
              target: req.target,
              action: req.action,
              requester: req.requester,
              row: d.row,
            });
            ctx.changed();
          } else if (d.row === 'arb.window-over') {
            ctx.events.record(NAME, 'fence.arbitration.released', `${cap(d.reason)}.`, {
              target: req.target,
              requester: req.requester,
              row: d.row,
            });
          }
        },
      });
      fencer.useArbiter(arbiter);
      for (const r of arbitrationTable.rows) arbitrations.inc({ row: r.id }, 0);
      zeroFenceOperations(opsTotal, Object.keys(c.targets));
      zeroFenceApiRequests(apiRequests);
      ctx.metrics.registerMetric(opsTotal);
      ctx.metrics.registerMetric(opDuration);
      ctx.metrics.registerMetric(deviceUp);
      ctx.metrics.registerMetric(apiRequests);
      ctx.metrics.registerMetric(inProgress);
      ctx.metrics.registerMetric(arbitrations);

      // both set above: the handlers close over them as they are now
      const running = fencer;
      const history = journal;
      ctx.handle('fence.run', async (params) => {
        const closed = ctx.admission();
        if (closed) throw new Error(closed);
        const target = String(params.target ?? '');
        const action = fenceActions.find((a) => a === (params.action ?? 'reboot'));
        if (!action) throw new Error(`action must be one of ${fenceActions.join(', ')}`);
        try {
          return await running.run({
            target,
            action,
            requester: controlRequester(params),
          });
        } catch (e) {
          if (e instanceof UnknownTargetError)
            throw new Error(`${e.message}; configured: ${running.targets().join(', ') || 'none'}`);
          throw e;
        }
      });
      ctx.handle('fence.history', async (params) => {
        const limit = historyLimit(params);
        const target = typeof params.target === 'string' ? params.target : undefined;
        return { entries: history.history(limit, target) };
      });
      ctx.handle('fence.status', async () => snapshot());
      ctx.handle('fence.sim', async (params) => {
        const name = String(params.device ?? '');
        const drv = drivers.get(name);
        if (drv?.family !== 'sim') throw new Error(`"${name}" is not a simulated device`);
        const sim = drv as SimDriver;
        if (params.fault !== undefined) {
          const fault = simFaults.find((f) => f === params.fault);
          if (!fault) throw new Error(`fault must be one of ${simFaults.join(', ')}`);
          sim.setFault(fault);
          ctx.events.record(NAME, 'fence.sim.fault', `Simulated device ${name} now behaves as "${fault}".`);
        }
        return { device: name, fault: sim.fault() };
      });

      if (c.api.enabled) {
        api = new FenceApi({
          host: c.api.host,
          port: c.api.port,
          keys,
          clockSkewMs: c.api.clock_skew_s * 1000,
          ratePerMin: c.api.rate_per_min,
          rateBurst: c.api.rate_burst,
          stateDir: ctx.stateDir,
          admission: () => ctx.admission(),
          drainMs: Math.max(0, ctx.config.daemon.shutdown_timeout_s * 1000 - 1000),
          fencer,
          onAttempt,
          health: () => ({
            devices: Object.fromEntries([...devices].map(([n, d]) => [n, d.up ?? null])),
            targets: Object.fromEntries(
              Object.entries(c.targets).map(([t, tc]) => [
                t,
                tc.levels.some((l) => l.plugs.every((p) => devices.get(p.device)?.up !== false)),
              ]),
            ),
          }),
        });
        try {
          apiPort = await api.start();
        } catch (e) {
          await release();
          throw new Error(
            `fencing.api: cannot listen on ${c.api.host}:${c.api.port} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
          );
        }
      }
      monitorRunning = checkDevices().catch(() => undefined);
      await monitorRunning;
      monitorTimer = setInterval(() => {
        if (!monitorRunning) {
          monitorRunning = checkDevices()
            .catch(() => undefined)
            .finally(() => {
              monitorRunning = undefined;
            });
        }
      }, c.monitor_interval_s * 1000);
      monitorTimer.unref();
      monitorRunning = undefined;
      refreshHealth();
      ctx.events.record(
        NAME,
        'fence.ready',
        `Fencing ready: ${Object.keys(c.targets).length} target(s), ${drivers.size} device(s)${api ? `, agent API on ${c.api.host}:${apiPort}` : ''}.`,
      );
    },
    stop: release,
    health: () => state,
    snapshot,
    entities(): Entity[] {
      const c = cfg;
      if (!c) return [];
      return Object.keys(c.targets).map((t) => {
        const s = targetSnapshot(t);
        return {
          topic: `fencing/${t}`,
          state: {
            power: s.power,
            in_progress: s.in_progress?.action ?? null,
            power_on_pending_until: s.power_on_pending_until ?? null,
            problem: s.problem ?? null,
            last_operation: s.last_operation ?? null,
          },
          // every monitor pass reads the power again: the read time is not retained
          volatile: { power_read_at: s.power_read_at ?? null },
          ha: [
            {
              id: `fencing_${t}_power`,
              component: 'sensor',
              name: `Power ${t}`,
              device_class: 'enum',
              options: ['on', 'off', 'unknown'],
              value_template: '{{ value_json.power }}',
              icon: 'mdi:power-plug',
              attributes: true,
            },
            {
              id: `fencing_${t}_last_result`,
              component: 'sensor',
              name: `Last fence ${t}`,
              device_class: 'enum',
              options: [...FENCE_RESULTS, 'none'],
              value_template: "{{ value_json.last_operation.result if value_json.last_operation else 'none' }}",
              icon: 'mdi:power-plug-off',
            },
          ],
        };
      });
    },
  };
};

/** Every result a journal entry can carry (a Record, so a new result fails to compile here). */
const FENCE_RESULT_SET: Record<HistoryEntry['result'], true> = {
  success: true,
  failed: true,
  refused: true,
  cancelled: true,
  interrupted: true,
  running: true,
};
const FENCE_RESULTS = Object.keys(FENCE_RESULT_SET);

function summarize(h: HistoryEntry): Record<string, unknown> {
  return {
    id: h.id,
    action: h.action,
    result: h.result,
    at: h.finished ?? h.started,
    level: h.level,
    verified_by: h.verified_by,
    duration_ms: h.duration_ms,
    ...(h.follows ? { follows: h.follows } : {}),
    ...(h.power_on_id ? { power_on_id: h.power_on_id } : {}),
  };
}

function followUpSentence(f: FollowUpResult): string {
  const dur = `${(f.duration_ms / 1000).toFixed(1)} s`;
  switch (f.result) {
    case 'success':
      return `Power-on of ${f.target} after its reboot succeeded ${dur} after the answer: ${f.reason}.`;
    case 'cancelled':
      return `Pending power-on of ${f.target} after its reboot was cancelled: ${f.reason}.`;
    default:
      return `Power-on of ${f.target} after its reboot FAILED: ${f.reason}${f.note ? ` (${f.note})` : ''}; ${f.target} stays off, and the fence result already given (off verified) stands.`;
  }
}

function sentence(r: FenceResult): string {
  const lvl = r.level ? ` at level ${r.level}` : '';
  switch (r.result) {
    case 'success':
      return `${cap(r.action)} of ${r.target} succeeded${lvl} in ${(r.duration_ms / 1000).toFixed(1)} s: ${r.reason}${r.note ? ` (${r.note})` : ''}${r.power_on_pending_until ? `; power-on due at ${r.power_on_pending_until}` : ''}.`;
    case 'refused':
      return `Refused ${r.action} of ${r.target}: ${r.reason}.`;
    default:
      return `${cap(r.action)} of ${r.target} FAILED after ${(r.duration_ms / 1000).toFixed(1)} s: ${r.reason}${r.action === 'off' || r.action === 'reboot' ? '; the target is NOT known to be off' : ''}.`;
  }
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
