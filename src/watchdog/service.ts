/**
 * The watchdog service: the daemon's last service. One feed tick every feed_period_s:
 *   1. the tick's own lateness is the event-loop latency probe (a blocked loop runs no tick at
 *      all, and the first tick after the block sees the lag and does not feed);
 *   2. a snapshot of every gated service's health, the cluster view and decision-loop heartbeats;
 *   3. decideFeed() (pure, gate.ts) → feed or not, with one sentence;
 *   4. feed = keepalive on the device + strobe of the external GPIO watchdog + WATCHDOG=1 to
 *      systemd, all from this same tick. No other timer ever feeds.
 * Mode off is the null object: no device is touched, the tick still gates systemd pings.
 * Every tick is published as "watchdog.feed" (feed-ticks.ts): the board service shows it on the LEDs.
 */
import { performance } from 'node:perf_hooks';
import { Counter, Gauge } from 'prom-client';
import { type BoardFile, boardFor } from '../board/board-file.js';
import { type BoardConfig, boardConfigSchema } from '../board/config.js';
import { type GpioOutput, openGpioOutput, resolveGpioLine } from '../board/gpio.js';
import { sdNotify, systemdWatchdogUsec } from '../daemon/sd-notify.js';
import type { Entity, Health, Service, ServiceContext } from '../daemon/service.js';
import { effectiveWatchdogConfig, type WatchdogConfig } from './config.js';
import { readWatchdogSysfs, sysfsNameFor, WatchdogDevice, type WatchdogSysfsInfo } from './device.js';
import { FeedTickHub } from './feed-ticks.js';
import { decideFeed, type GateCode, type GateDecision, withholdCodes } from './gate.js';

export const WATCHDOG_SERVICE = 'watchdog';

export interface WatchdogDeps {
  /** Monotonic clock in ms. */
  now(): number;
  env: NodeJS.ProcessEnv;
  sdNotify: typeof sdNotify;
  /** Services to gate on when the config does not list them. */
  defaultGated(ctx: ServiceContext): string[];
}

const defaultDeps: WatchdogDeps = {
  now: () => performance.now(),
  env: process.env,
  sdNotify,
  // every service the daemon runs that is not optional (the daemon only runs enabled ones)
  defaultGated: (ctx) =>
    ctx.daemon
      .status()
      .services.filter((s) => !s.optional && s.gates_watchdog !== false && s.name !== WATCHDOG_SERVICE)
      .map((s) => s.name),
};

/** What watchdog.test answers: what should happen now that the feed stopped on purpose. */
export interface WatchdogTestResult {
  hardware: boolean;
  device: string | null;
  timeout_s: number | null;
  systemd_watchdog_s: number | null;
  expect: string;
  give_up_after_s: number;
}

export interface WatchdogSnapshot extends Record<string, unknown> {
  mode: WatchdogConfig['mode'];
  device: string | null;
  device_open: boolean;
  identity: string | null;
  timeout_s: number | null;
  timeout_source: 'sysfs' | 'config' | null;
  nowayout: boolean | null;
  feed_period_s: number;
  feeding: boolean;
  reason: string;
  reason_code: GateCode | 'not-started' | 'write-failed';
  last_feed_age_s: number | null;
  max_feed_interval_s: number | null;
  feeds: number;
  loop_lag_ms: number;
  gated_services: string[];
  gpio_strobe: string | null;
  systemd_watchdog_s: number | null;
  testing: boolean;
  problem: string | null;
}

class WatchdogService implements Service {
  readonly name = WATCHDOG_SERVICE;
  private cfg!: WatchdogConfig;
  private device: WatchdogDevice | undefined;
  private sysfs: WatchdogSysfsInfo | undefined;
  private timeoutS: number | undefined;
  private timeoutSource: 'sysfs' | 'config' | null = null;
  private strobe: GpioOutput | undefined;
  private strobeLevel: 0 | 1 = 0;
  private readonly ticks = new FeedTickHub();
  private withdrawTicks: (() => void) | undefined;
  private gated: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private decision: GateDecision | undefined;
  private writeFailed: string | undefined;
  private problem: string | undefined;
  private lastFeedAt: number | undefined;
  private maxFeedIntervalMs = 0;
  private feeds = 0;
  private lagMs = 0;
  private testing = false;
  private testStartedAt: number | undefined;
  private testReported = false;
  private systemdUsec: number | undefined;
  private lastPingAt: number | undefined;
  private pingInFlight = false;
  private state: Health = { state: 'starting' };

  constructor(
    private readonly ctx: ServiceContext,
    private readonly deps: WatchdogDeps,
  ) {}

  async start(): Promise<void> {
    const cfg = effectiveWatchdogConfig(this.ctx.config);
    this.cfg = this.ctx.demo && cfg.mode !== 'off' ? { ...cfg, mode: 'off' } : cfg;
    if (this.ctx.demo && cfg.mode !== 'off') {
      this.ctx.events.record(
        this.name,
        'watchdog.demo',
        'Demo mode: the hardware watchdog is not used; feeds are only simulated.',
      );
    }
    this.gated = (this.cfg.gate.services ?? this.deps.defaultGated(this.ctx)).filter((n) => n !== this.name);
    this.checkGatedNames();
    const boardCfg = (this.ctx.config as { board?: BoardConfig }).board ?? boardConfigSchema.parse({});
    const board = this.cfg.gpio_strobe?.enabled === true ? this.loadBoard(boardCfg) : undefined;

    if (this.cfg.mode !== 'off') {
      // the strobe first: a refusal to start must not leave the device armed
      if (this.cfg.gpio_strobe?.enabled) await this.openStrobe(board, boardCfg);
      this.openDevice();
    }
    this.systemdUsec = this.cfg.systemd.ping ? systemdWatchdogUsec(this.deps.env) : undefined;
    this.withdrawTicks = this.ctx.providers.provide('watchdog.feed', this.ticks);
    this.registerMetrics();
    this.registerControl();
    this.running = true;
    this.tick(0);
    this.schedule();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.withdrawTicks?.();
    if (this.device?.isOpen) {
      const nowayout = this.sysfs?.nowayout === true;
      const ok = this.device.magicClose();
      this.ctx.events.record(
        this.name,
        'watchdog.disarmed',
        ok
          ? nowayout
            ? `Orderly stop: wrote the magic close to ${this.cfg.device}, but nowayout is set, so the board resets in ${this.timeoutS} s unless the daemon comes back.`
            : `Orderly stop: wrote the magic close to ${this.cfg.device}; the watchdog is disarmed.`
          : `Orderly stop: the magic close to ${this.cfg.device} failed; the board may reset in ${this.timeoutS} s.`,
      );
    }
    this.state = { state: 'stopped' };
  }

  health(): Health {
    return this.state;
  }

  snapshot(): WatchdogSnapshot {
    const now = this.deps.now();
    const d = this.decision;
    return {
      mode: this.cfg?.mode ?? 'off',
      device: this.cfg && this.cfg.mode !== 'off' ? this.cfg.device : null,
      device_open: this.device?.isOpen ?? false,
      identity: this.sysfs?.identity ?? null,
      timeout_s: this.timeoutS ?? null,
      timeout_source: this.timeoutSource,
      nowayout: this.sysfs?.nowayout ?? null,
      feed_period_s: this.cfg?.feed_period_s ?? 0,
      feeding: this.writeFailed === undefined && d?.feed === true,
      reason: this.writeFailed ?? d?.reason ?? 'not started',
      reason_code: this.writeFailed ? 'write-failed' : (d?.code ?? 'not-started'),
      last_feed_age_s: this.lastFeedAt === undefined ? null : round3((now - this.lastFeedAt) / 1000),
      max_feed_interval_s: this.feeds > 1 ? round3(this.maxFeedIntervalMs / 1000) : null,
      feeds: this.feeds,
      loop_lag_ms: Math.round(this.lagMs),
      gated_services: [...this.gated],
      gpio_strobe: this.strobe
        ? `${this.strobe.line.label}:${this.strobe.line.offset} (gpio${this.strobe.line.global})`
        : null,
      systemd_watchdog_s: this.systemdUsec === undefined ? null : this.systemdUsec / 1e6,
      testing: this.testing,
      problem: this.problem ?? null,
    };
  }

  entities(): Entity[] {
    const s = this.snapshot();
    return [
      {
        topic: 'watchdog',
        // retained: what changes only when the watchdog's situation does; the feed age and the
        // feed count move every feed period and go to the periodic bridge/health instead
        state: {
          mode: s.mode,
          device: s.device,
          timeout_s: s.timeout_s,
          feeding: s.feeding,
          reason: s.reason,
          reason_code: s.reason_code,
        },
        volatile: { last_feed_age_s: s.last_feed_age_s, feeds: s.feeds, loop_lag_ms: s.loop_lag_ms },
        ha: [
          {
            id: 'watchdog_feeding',
            component: 'binary_sensor',
            name: 'Watchdog feeding',
            device_class: 'running',
            value_template: "{{ 'ON' if value_json.feeding else 'OFF' }}",
            icon: 'mdi:dog-service',
            attributes: true,
          },
        ],
      },
    ];
  }

  // ---- start-up ------------------------------------------------------------------------------

  /** A misspelt gated service would never report health and stop every feed: refuse it at start. */
  private checkGatedNames(): void {
    let known: string[];
    try {
      known = Object.keys(this.ctx.health());
    } catch {
      return;
    }
    const named = [
      ...(this.cfg.gate.services ?? []),
      ...(this.cfg.gate.cluster_view_service ? [this.cfg.gate.cluster_view_service] : []),
    ];
    const unknown = named.filter((n) => n !== this.name && !known.includes(n));
    if (unknown.length) {
      throw new Error(
        `watchdog.gate: no running service named ${unknown.join(', ')} (running: ${known.filter((n) => n !== this.name).join(', ') || 'none'}); a gate on it would never feed`,
      );
    }
  }

  private loadBoard(b: BoardConfig): BoardFile | undefined {
    try {
      const { board, problem } = boardFor(b);
      if (problem) this.note(problem);
      return board;
    } catch (e) {
      if (this.cfg.gpio_strobe?.enabled && this.cfg.mode === 'required') throw e;
      this.note((e as Error).message);
      return undefined;
    }
  }

  /** Reads the effective timeout, checks it against the bound and the period, then opens (arms). */
  private openDevice(): void {
    const c = this.cfg;
    const name = sysfsNameFor(c.device, c.sysfs_name);
    this.sysfs = readWatchdogSysfs(c.sysfs_root, name);
    if (this.sysfs.timeout_s !== undefined) {
      this.timeoutS = this.sysfs.timeout_s;
      this.timeoutSource = 'sysfs';
    } else {
      this.timeoutS = c.timeout_s;
      this.timeoutSource = 'config';
    }
    const problems: string[] = [];
    if (this.timeoutSource === 'config' && c.mode === 'required') {
      problems.push(
        `cannot read its effective timeout from ${this.sysfs.dir}/timeout (kernel without CONFIG_WATCHDOG_SYSFS, or wrong watchdog.sysfs_name)`,
      );
    }
    if ((this.timeoutS ?? 0) > c.safety_bound_s) {
      problems.push(
        `its effective timeout ${this.timeoutS} s (${this.timeoutSource}) exceeds safety_bound_s ${c.safety_bound_s}`,
      );
    }
    if (c.feed_period_s * 2 > (this.timeoutS ?? 0)) {
      problems.push(`feed_period_s ${c.feed_period_s} is too long for its effective timeout ${this.timeoutS} s`);
    }
    if (this.timeoutSource === 'sysfs' && this.timeoutS !== c.timeout_s) {
      this.ctx.events.record(
        this.name,
        'watchdog.timeout-mismatch',
        `${c.device} runs with a ${this.timeoutS} s timeout (sysfs), not the configured timeout_s ${c.timeout_s}; the sysfs value is used.`,
      );
    }
    if (problems.length === 0) {
      try {
        this.device = WatchdogDevice.open(c.device);
      } catch (e) {
        problems.push((e as Error).message.replace(`watchdog device ${c.device}: `, ''));
      }
    }
    if (problems.length) {
      const msg = `watchdog device ${c.device}: ${problems.join('; ')}`;
      if (c.mode === 'required') throw new Error(`${msg} (watchdog.mode is required)`);
      this.note(`${msg}; running without the hardware watchdog (mode automatic)`);
      return;
    }
    this.ctx.events.record(
      this.name,
      'watchdog.armed',
      `Opened ${c.device}${this.sysfs.identity ? ` (${this.sysfs.identity})` : ''} with a ${this.timeoutS} s timeout (${this.timeoutSource}); feeding every ${c.feed_period_s} s while ${this.gated.length ? `${this.gated.join(', ')} stay healthy` : 'the event loop keeps turning (no gated services)'}.`,
      { device: c.device, timeout_s: this.timeoutS, nowayout: this.sysfs.nowayout ?? null },
    );
  }

  private async openStrobe(board: BoardFile | undefined, b: BoardConfig): Promise<void> {
    const s = this.cfg.gpio_strobe;
    if (!s) return;
    try {
      if (!board) throw new Error('no board file is loaded (set board.file)');
      const spec = board.gpio.watchdog_strobe;
      if (!spec) throw new Error(`the board file ${board.board} has no gpio.watchdog_strobe line`);
      const line = resolveGpioLine(spec, { sysfsRoot: b.sysfs_root });
      this.strobe = await openGpioOutput(line, { sysfsRoot: b.sysfs_root, initial: 0, driver: b.gpio_driver });
    } catch (e) {
      const msg = `watchdog.gpio_strobe: ${(e as Error).message}`;
      if (this.cfg.mode === 'required') throw new Error(msg);
      this.note(`${msg}; the external watchdog is not strobed`);
    }
  }

  private note(problem: string): void {
    this.problem = this.problem ? `${this.problem}; ${problem}` : problem;
    this.ctx.events.record(this.name, 'watchdog.problem', `${problem}.`);
  }

  // ---- the feed tick -------------------------------------------------------------------------

  private schedule(): void {
    if (!this.running) return;
    const period = this.cfg.feed_period_s * 1000;
    const due = this.deps.now() + period;
    this.timer = setTimeout(() => {
      // one more loop turn (check phase) before deciding: the loop really turns
      setImmediate(() => {
        if (!this.running) return;
        this.tick(Math.max(0, this.deps.now() - due));
        this.schedule();
      });
    }, period);
  }

  private tick(lagMs: number): void {
    const now = this.deps.now();
    this.lagMs = lagMs;
    let health: Record<string, Health>;
    try {
      health = this.ctx.health();
    } catch {
      health = {};
    }
    const decision = decideFeed(
      {
        lagMs,
        health,
        gated: this.gated,
        clusterViewService: this.cfg.gate.cluster_view_service,
        heartbeats: this.cfg.gate.heartbeats.map((h) => {
          const at = this.ctx.heartbeats.last(h.name);
          return { name: h.name, ageMs: at === undefined ? undefined : now - at, maxAgeMs: h.max_age_s * 1000 };
        }),
        testing: this.testing,
      },
      { maxLoopLagMs: this.cfg.gate.max_loop_lag_ms, feedWhenDegraded: this.cfg.gate.feed_when_degraded },
    );
    if (decision.feed && this.writeFailed === undefined) this.feed(now);
    this.transition(decision);
    this.updateHealth();
    this.ticks.publish({ now, feeding: decision.feed, health });
    this.checkTest(now);
  }

  private feed(now: number): void {
    if (this.device?.isOpen) {
      try {
        this.device.keepalive();
      } catch (e) {
        this.writeFailed = `the keepalive write to ${this.cfg.device} failed (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); not feeding any more`;
        this.ctx.events.record(this.name, 'watchdog.write-failed', `${this.writeFailed}.`);
        return;
      }
    }
    if (this.strobe) {
      try {
        if (this.cfg.gpio_strobe?.mode === 'pulse') {
          this.strobe.set(1);
          const strobe = this.strobe;
          setTimeout(() => {
            try {
              strobe.set(0);
            } catch {
              // reported on the next feed
            }
          }, this.cfg.gpio_strobe.pulse_ms);
        } else {
          this.strobeLevel = this.strobeLevel === 0 ? 1 : 0;
          this.strobe.set(this.strobeLevel);
        }
      } catch (e) {
        this.note(`strobing the external watchdog failed: ${(e as Error).message}`);
        this.strobe = undefined;
      }
    }
    if (this.lastFeedAt !== undefined) this.maxFeedIntervalMs = Math.max(this.maxFeedIntervalMs, now - this.lastFeedAt);
    this.lastFeedAt = now;
    this.feeds++;
    this.pingSystemd(now);
  }

  private pingSystemd(now: number): void {
    if (this.systemdUsec === undefined || this.pingInFlight) return;
    if (this.lastPingAt !== undefined && now - this.lastPingAt < this.systemdUsec / 4000) return;
    this.pingInFlight = true;
    this.lastPingAt = now;
    this.deps
      .sdNotify({ WATCHDOG: '1' }, { env: this.deps.env })
      .catch((e: Error) => this.ctx.log.warn({ err: e.message }, 'systemd watchdog ping failed'))
      .finally(() => {
        this.pingInFlight = false;
      });
  }

  private transition(d: GateDecision): void {
    const prev = this.decision;
    this.decision = d;
    if (prev?.feed === d.feed && (d.feed || prev.code === d.code)) return;
    const what = this.device?.isOpen ? `the watchdog ${this.cfg.device}` : 'the watchdog (no hardware device)';
    if (d.feed) {
      if (prev)
        this.ctx.events.record(this.name, 'watchdog.feed-resumed', `Feeding ${what} again: ${d.reason}.`, {
          code: d.code,
        });
    } else {
      const consequence =
        this.device?.isOpen && this.timeoutS !== undefined
          ? `; the board resets within ${this.timeoutS} s unless this clears`
          : '';
      this.ctx.events.record(this.name, 'watchdog.feed-stopped', `Not feeding ${what}: ${d.reason}${consequence}.`, {
        code: d.code,
      });
    }
    this.ctx.changed();
  }

  private updateHealth(): void {
    if (this.writeFailed) this.state = { state: 'failed', reason: this.writeFailed };
    // not feeding matters only when something supervises the feed (device or systemd pings)
    else if (this.decision && !this.decision.feed && (this.device?.isOpen || this.systemdUsec !== undefined))
      this.state = { state: 'degraded', reason: `not feeding: ${this.decision.reason}` };
    else if (this.problem) this.state = { state: 'degraded', reason: this.problem };
    else this.state = { state: 'ok' };
  }

  private checkTest(now: number): void {
    if (!this.testing || this.testStartedAt === undefined || this.testReported) return;
    const limitMs = ((this.timeoutS ?? this.cfg.timeout_s) + 7) * 1000;
    if (this.device?.isOpen && now - this.testStartedAt > limitMs) {
      this.testReported = true;
      this.ctx.events.record(
        this.name,
        'watchdog.test-failed',
        `Watchdog test: the box is still running ${Math.round((now - this.testStartedAt) / 1000)} s after the last feed; ${this.cfg.device} did not reset it and is unsuitable.`,
      );
      this.problem = `watchdog test failed: ${this.cfg.device} did not reset the box`;
    }
  }

  // ---- metrics and control -------------------------------------------------------------------

  private registerMetrics(): void {
    const reg = this.ctx.metrics;
    const self = this;
    new Gauge({
      name: 'rackwitness_watchdog_info',
      help: 'Watchdog mode and device (value 1).',
      labelNames: ['mode', 'device'],
      registers: [reg],
      collect() {
        this.reset();
        this.set({ mode: self.cfg.mode, device: self.cfg.mode === 'off' ? '' : self.cfg.device }, 1);
      },
    });
    new Gauge({
      name: 'rackwitness_watchdog_timeout_seconds',
      help: 'Effective hardware watchdog timeout.',
      registers: [reg],
      collect() {
        if (self.timeoutS !== undefined && self.device?.isOpen) this.set(self.timeoutS);
      },
    });
    new Gauge({
      name: 'rackwitness_watchdog_feeding',
      help: '1 while the watchdog is fed, 0 while feeding is withheld (why: rackwitness_watchdog_feed_reason).',
      registers: [reg],
      collect() {
        this.set(self.snapshot().feeding ? 1 : 0);
      },
    });
    // an enum gauge: one series per code, always present, so a change of reason is no new series
    const codes = ['ok', ...withholdCodes, 'not-started', 'write-failed'] as const;
    new Gauge({
      name: 'rackwitness_watchdog_feed_reason',
      help: '1 for the gate code that decided the last feed (ok, or why feeding is withheld), 0 for the others.',
      labelNames: ['reason'],
      registers: [reg],
      collect() {
        const code = self.snapshot().reason_code;
        for (const c of codes) this.set({ reason: c }, c === code ? 1 : 0);
      },
    });
    new Gauge({
      name: 'rackwitness_watchdog_last_feed_age_seconds',
      help: 'Time since the last feed.',
      registers: [reg],
      collect() {
        const a = self.snapshot().last_feed_age_s;
        if (a !== null) this.set(a);
      },
    });
    new Gauge({
      name: 'rackwitness_watchdog_max_feed_interval_seconds',
      help: 'Longest interval between two feeds since start.',
      registers: [reg],
      collect() {
        this.set(self.maxFeedIntervalMs / 1000);
      },
    });
    new Gauge({
      name: 'rackwitness_watchdog_loop_lag_seconds',
      help: 'How late the last feed tick ran (event-loop latency).',
      registers: [reg],
      collect() {
        this.set(self.lagMs / 1000);
      },
    });
    new Counter({
      name: 'rackwitness_watchdog_feeds_total',
      help: 'Feeds (keepalive + strobe + systemd ping) since start.',
      registers: [reg],
      collect() {
        this.reset();
        this.inc(self.feeds);
      },
    });
  }

  private registerControl(): void {
    this.ctx.handle('watchdog.status', async () => this.snapshot());
    this.ctx.handle('watchdog.test', async (params) => {
      if (params.yes !== true)
        throw new Error('watchdog.test stops feeding on purpose and resets the box: pass yes: true');
      const hw = this.device?.isOpen === true;
      const timeout = this.timeoutS ?? this.cfg.timeout_s;
      this.testing = true;
      this.testStartedAt = this.deps.now();
      this.ctx.events.record(
        this.name,
        'watchdog.test',
        hw
          ? `Watchdog test requested: feeding of ${this.cfg.device} stopped on purpose; the board should reset within ${timeout} s.`
          : 'Watchdog test requested: no hardware device is fed; only the systemd pings stop, so systemd should restart the daemon.',
      );
      this.tick(0);
      return {
        hardware: hw,
        device: hw ? this.cfg.device : null,
        timeout_s: hw ? timeout : null,
        systemd_watchdog_s: this.systemdUsec === undefined ? null : this.systemdUsec / 1e6,
        expect: hw
          ? `reset within ${timeout} s`
          : this.systemdUsec !== undefined
            ? `systemd kills and restarts the daemon within ${this.systemdUsec / 1e6} s`
            : 'nothing: neither a hardware nor a systemd watchdog supervises this daemon',
        give_up_after_s: hw ? timeout + 7 : this.systemdUsec !== undefined ? this.systemdUsec / 1e6 + 7 : 0,
      };
    });
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Daemon factory (src/daemon/registry.ts). */
export function createWatchdogService(ctx: ServiceContext): Service {
  return new WatchdogService(ctx, defaultDeps);
}

/** Same, with injectable clock/env/notifier (tests, the fixture host). */
export function createWatchdogServiceWith(ctx: ServiceContext, deps: Partial<WatchdogDeps>): Service {
  return new WatchdogService(ctx, { ...defaultDeps, ...deps });
}
