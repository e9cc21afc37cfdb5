/**
 * The daemon: starts the services the config enables, in registry order, and stops them in
 * reverse order within a bound. A non-optional service that fails to start stops the daemon
 * (everything already started is stopped again, nothing is left half-running); an optional one
 * is reported degraded. The control socket serves the CLI.
 */
import { mkdirSync } from 'node:fs';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import type { LoadedConfig } from '../config/load.js';
import { VERSION } from '../version.js';
import { Heartbeats } from '../watchdog/heartbeat.js';
import type { ControlMethod } from './control-protocol.js';
import { type AnyControlHandler, ControlServer } from './control-server.js';
import { EventLog } from './events.js';
import { ProviderRegistry } from './providers.js';
import { type ServiceEntry, serviceEntries } from './registry.js';
import type {
  ControlHandler,
  DaemonPhase,
  DaemonStatus,
  DaemonView,
  Entity,
  Health,
  OverallHealth,
  Service,
  ServiceContext,
  ServiceStatus,
} from './service.js';

interface Slot {
  entry: ServiceEntry;
  optional: boolean;
  service?: Service;
  /** Set when the service failed to start (optional services) or is not started yet. */
  override?: Health;
}

export class StartError extends Error {
  constructor(
    readonly service: string,
    cause: unknown,
  ) {
    super(`service ${service} failed to start: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'StartError';
  }
}

export interface DaemonOptions {
  loaded: LoadedConfig;
  log: Logger;
  demo?: boolean;
  /** Services to run instead of the registry (tests). */
  entries?: ServiceEntry[];
  /** What the demo provides the services (its simulated rack); default: an empty registry. */
  providers?: ProviderRegistry;
}

export class Daemon implements DaemonView {
  readonly events: EventLog;
  readonly metrics = new Registry();
  readonly providers: ProviderRegistry;
  readonly heartbeats = new Heartbeats();
  private readonly slots: Slot[] = [];
  private readonly handlers = new Map<string, AnyControlHandler>();
  private readonly changeListeners = new Set<(service: string) => void>();
  private control: ControlServer | undefined;
  private readonly startedAt = new Date();
  /** Monotonic start (uptime is a duration: a wall-clock step must not change it). */
  private readonly startedMono = performance.now();
  private stopping: Promise<void> | undefined;
  /** starting → ready (every service started) → stopping. Only "ready" admits new operations. */
  private current: DaemonPhase = 'starting';

  constructor(private readonly opts: DaemonOptions) {
    const cfg = opts.loaded.config;
    this.providers = opts.providers ?? new ProviderRegistry();
    mkdirSync(cfg.box.state_dir, { recursive: true, mode: 0o750 });
    this.events = new EventLog(cfg.box.state_dir, cfg.events.max_entries, {
      refusalIntervalMs: cfg.events.refusal_interval_s * 1000,
    });
    this.handle('status', async () => this.status());
    this.handle('events', async (p) => {
      if (p.since_ms !== undefined && typeof p.since_ms !== 'number')
        throw new Error('since_ms must be a number (ms since the epoch)');
      return this.events.list(p.since_ms);
    });
    this.handle('methods', async () => [...this.handlers.keys()].sort());
  }

  get config() {
    return this.opts.loaded.config;
  }

  handle<M extends ControlMethod>(method: M, handler: ControlHandler<M>): void {
    if (this.handlers.has(method)) throw new Error(`control method ${method} is registered twice`);
    // the server hands every handler the request's params object; the handler checks its keys
    this.handlers.set(method, handler);
  }

  async start(): Promise<void> {
    const cfg = this.config;
    const log = this.opts.log;
    const entries = (this.opts.entries ?? serviceEntries).filter((e) => e.enabled(cfg));
    this.control = new ControlServer(
      cfg.control.socket,
      cfg.control.group,
      this.handlers,
      log.child({ svc: 'control' }),
    );
    await this.control.start();
    for (const entry of entries)
      this.slots.push({ entry, optional: entry.optional(cfg), override: { state: 'starting' } });
    this.events.record(
      'daemon',
      'daemon.start',
      `Daemon ${VERSION} starting with services: ${entries.map((e) => e.name).join(', ') || 'none'}.`,
    );
    for (const slot of this.slots) {
      const name = slot.entry.name;
      try {
        const factory = await slot.entry.load();
        slot.service = factory(this.contextFor(name));
        await slot.service.start();
        slot.override = undefined;
        log.info({ svc: name }, 'started');
        this.emitChange(name);
      } catch (e) {
        const reason = e instanceof Error ? e.message : String(e);
        if (slot.optional) {
          slot.override = { state: 'failed', reason: `failed to start: ${reason}` };
          log.warn({ svc: name, err: reason }, 'optional service failed to start; continuing degraded');
          this.events.record(
            name,
            'service.failed',
            `Optional service ${name} failed to start (${reason}); the box runs degraded without it.`,
          );
          await slot.service?.stop().catch(() => {});
          slot.service = undefined;
          continue;
        }
        this.events.record(
          name,
          'service.failed',
          `Service ${name} failed to start (${reason}); the daemon stops rather than run half-configured.`,
        );
        await this.stop();
        throw new StartError(name, e);
      }
    }
    if (this.current === 'starting') this.current = 'ready';
    this.events.record('daemon', 'daemon.ready', `Daemon ready: ${this.status().overall}.`);
    // the status feed publishes its retained state from here on (no "starting" flap on restart)
    this.emitChange('daemon');
  }

  /** undefined when new operations are admitted, else the sentence to refuse them with. */
  admission(): string | undefined {
    if (this.current === 'ready') return undefined;
    if (this.current === 'starting')
      return 'the daemon is starting: no operation is accepted until every service has started; retry in a few seconds';
    return 'the daemon is stopping: no new operation is accepted; retry against the restarted daemon';
  }

  /** Stops services in reverse order, each bounded by what is left of shutdown_timeout_s. */
  stop(): Promise<void> {
    if (this.current !== 'stopping') this.opts.log.info('draining: new operations are refused');
    this.current = 'stopping';
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const deadline = performance.now() + this.config.daemon.shutdown_timeout_s * 1000;
    for (const slot of [...this.slots].reverse()) {
      const svc = slot.service;
      if (!svc) continue;
      const left = Math.max(0, deadline - performance.now());
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        svc.stop().then(
          () => 'stopped' as const,
          () => 'stopped' as const,
        ),
        new Promise<'timeout'>((r) => {
          timer = setTimeout(() => r('timeout'), left);
        }),
      ]);
      clearTimeout(timer);
      if (outcome === 'timeout')
        this.opts.log.error({ svc: slot.entry.name }, 'did not stop within the shutdown bound');
      slot.service = undefined;
      slot.override = { state: 'stopped' };
    }
    this.events.close(); // the summaries of refusals still being counted
    this.events.record('daemon', 'daemon.stop', 'Daemon stopped.');
    await this.control?.stop();
  }

  status(): DaemonStatus {
    const services: ServiceStatus[] = this.slots.map((s) => {
      const health = s.override ?? s.service?.health() ?? { state: 'stopped' };
      let snapshot: Record<string, unknown> = {};
      try {
        snapshot = s.service?.snapshot() ?? {};
      } catch (e) {
        snapshot = { error: `snapshot failed: ${String(e)}` };
      }
      return {
        name: s.entry.name,
        optional: s.optional,
        gates_watchdog: s.entry.gatesWatchdog !== false,
        health,
        snapshot,
      };
    });
    const problems = services
      .filter((s) => s.health.state !== 'ok')
      .map((s) => `${s.name} is ${s.health.state}${s.health.reason ? `: ${s.health.reason}` : ''}`);
    return {
      box: this.config.box.name,
      version: VERSION,
      demo: this.opts.demo === true,
      pid: process.pid,
      started_at: this.startedAt.toISOString(),
      uptime_s: Math.round((performance.now() - this.startedMono) / 1000),
      overall: overallOf(services),
      problems,
      services,
    };
  }

  phase(): DaemonPhase {
    return this.current;
  }

  entities(): Entity[] {
    const out: Entity[] = [];
    for (const s of this.slots) {
      try {
        if (s.service?.entities) out.push(...s.service.entities());
      } catch (e) {
        this.opts.log.warn({ svc: s.entry.name, err: String(e) }, 'entities() failed');
      }
    }
    return out;
  }

  onChange(listener: (service: string) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private emitChange(service: string): void {
    for (const l of this.changeListeners) {
      try {
        l(service);
      } catch {
        // a listener must not break the service that reported the change
      }
    }
  }

  private contextFor(name: string): ServiceContext {
    return {
      config: this.config,
      log: this.opts.log.child({ svc: name }),
      events: this.events,
      metrics: this.metrics,
      providers: this.providers,
      heartbeats: this.heartbeats,
      stateDir: this.config.box.state_dir,
      demo: this.opts.demo === true,
      daemon: this,
      changed: () => this.emitChange(name),
      health: () => Object.fromEntries(this.status().services.map((s) => [s.name, s.health])),
      handle: (method, handler) => this.handle(method, handler),
      admission: () => this.admission(),
    };
  }
}

/** ok when every service is ok; failed when a required one failed; degraded otherwise. */
export function overallOf(services: ServiceStatus[]): OverallHealth {
  if (services.some((s) => !s.optional && (s.health.state === 'failed' || s.health.state === 'stopped')))
    return 'failed';
  if (services.some((s) => s.health.state !== 'ok')) return 'degraded';
  return 'ok';
}
