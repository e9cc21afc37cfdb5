/**
 * The fencer: turns a request (target, action, who asked) into one journaled operation.
 * - never acts on a target that is not configured;
 * - one operation per target at a time: a request for the same action joins the running one
 *   (same result); a different action waits for it to finish, then runs — nothing races;
 * - two-node fence race guard: a request coming from a node that is being fenced, or was just
 *   fenced, is refused (the box is the single fencing arbiter);
 * - every operation is written to the journal before any device is touched, and its result after.
 */
import type { FencingConfig } from './config.js';
import { consensusMs } from './config.js';
import type { Decision, FenceAction } from './core.js';
import type { PowerDriver, PowerState } from './driver.js';
import type { FenceJournal, Requester } from './journal.js';
import { type Clock, type LevelDef, type OperationOutcome, runOperation, type Timing } from './runner.js';

export interface FenceRequest {
  target: string;
  action: FenceAction;
  requester: Requester;
}

export interface FenceResult {
  id: string;
  target: string;
  action: FenceAction;
  result: 'success' | 'failed' | 'refused';
  power?: PowerState;
  level?: number;
  verified_by?: string;
  reason: string;
  note?: string;
  duration_ms: number;
  /** True when this request joined an operation already running for the target. */
  joined?: boolean;
}

export class UnknownTargetError extends Error {
  constructor(readonly target: string) {
    super(`"${target}" is not a configured fencing target`);
    this.name = 'UnknownTargetError';
  }
}

interface Running {
  id: string;
  action: FenceAction;
  since: number;
  requester: Requester;
  promise: Promise<FenceResult>;
}

export interface FencerHooks {
  onStarted?(req: FenceRequest, id: string): void;
  onDecision?(req: FenceRequest, id: string, d: Decision, level: number): void;
  onFinished?(req: FenceRequest, res: FenceResult): void;
}

export function timingOf(cfg: FencingConfig): Timing {
  return {
    powerTimeoutMs: cfg.power_timeout_s * 1000,
    pollIntervalMs: cfg.poll_interval_ms,
    commandTimeoutMs: cfg.command_timeout_s * 1000,
    bootDelayMs: cfg.boot_delay_s * 1000,
  };
}

/** Worst-case duration of one operation on a target (seconds), for status and docs. */
export function worstCaseS(cfg: FencingConfig, target: string, action: FenceAction = 'reboot'): number {
  const t = cfg.targets[target];
  if (!t) return 0;
  const cmd = cfg.command_timeout_s;
  // per level: read + send + power timeout (+ boot delay + send + power timeout for reboot)
  const perLevel =
    2 * cmd + cfg.power_timeout_s + (action === 'reboot' ? cfg.boot_delay_s + cmd + cfg.power_timeout_s : 0);
  return Math.ceil(t.levels.length * perLevel);
}

export class Fencer {
  private readonly running = new Map<string, Running>();
  /** Last finished off/reboot success per target (ms), for the race guard. */
  private readonly lastFenced = new Map<string, number>();

  constructor(
    private readonly cfg: FencingConfig,
    private readonly drivers: ReadonlyMap<string, PowerDriver>,
    private readonly journal: FenceJournal,
    private readonly hooks: FencerHooks = {},
    private readonly clock?: Clock,
  ) {
    for (const h of journal.history(cfg.history_max)) {
      if (
        (h.action === 'off' || h.action === 'reboot') &&
        h.result === 'success' &&
        h.finished &&
        !this.lastFenced.has(h.target)
      ) {
        this.lastFenced.set(h.target, Date.parse(h.finished));
      }
    }
  }

  targets(): string[] {
    return Object.keys(this.cfg.targets);
  }

  levels(target: string): LevelDef[] {
    return this.cfg.targets[target]?.levels ?? [];
  }

  /** Node whose configured addresses include this source address. */
  nodeOfAddress(addr: string | undefined): string | undefined {
    if (!addr) return undefined;
    const a = addr.replace(/^::ffff:/, '');
    for (const [name, t] of Object.entries(this.cfg.targets)) if (t.addresses.includes(a)) return name;
    return undefined;
  }

  inProgress(): Array<{ target: string; id: string; action: FenceAction; since: string }> {
    return [...this.running].map(([target, r]) => ({
      target,
      id: r.id,
      action: r.action,
      since: new Date(r.since).toISOString(),
    }));
  }

  isRunning(target: string): boolean {
    return this.running.has(target);
  }

  /** Runs (or joins) an operation. Rejects only with UnknownTargetError; every other outcome is a result. */
  async run(req: FenceRequest): Promise<FenceResult> {
    if (!Object.hasOwn(this.cfg.targets, req.target)) throw new UnknownTargetError(req.target);
    const refusal = this.raceRefusal(req);
    if (refusal) {
      const id = this.journal.refused(req.target, req.action, req.requester, refusal);
      const res: FenceResult = {
        id,
        target: req.target,
        action: req.action,
        result: 'refused',
        reason: refusal,
        duration_ms: 0,
      };
      this.hooks.onFinished?.(req, res);
      return res;
    }
    for (;;) {
      const cur = this.running.get(req.target);
      if (!cur) break;
      if (cur.action === req.action) {
        const res = await cur.promise;
        return { ...res, joined: true };
      }
      await cur.promise.catch(() => undefined);
    }
    return this.start(req);
  }

  private raceRefusal(req: FenceRequest): string | undefined {
    const node = req.requester.node;
    if (!node || node === req.target || (req.action !== 'off' && req.action !== 'reboot')) return undefined;
    const r = this.running.get(node);
    if (r && (r.action === 'off' || r.action === 'reboot')) {
      return `refused: the request comes from ${node}, which is being fenced right now (fence race)`;
    }
    const last = this.lastFenced.get(node);
    const now = Date.now();
    if (last !== undefined && now - last < this.cfg.race_window_s * 1000) {
      return `refused: the request comes from ${node}, which was fenced ${Math.round((now - last) / 1000)} s ago (race window ${this.cfg.race_window_s} s)`;
    }
    return undefined;
  }

  private start(req: FenceRequest): Promise<FenceResult> {
    const id = this.journal.started(req.target, req.action, req.requester);
    const since = Date.now();
    this.hooks.onStarted?.(req, id);
    const promise = (async (): Promise<FenceResult> => {
      let out: OperationOutcome;
      try {
        out = await runOperation({
          action: req.action,
          levels: this.levels(req.target),
          drivers: this.drivers,
          timing: timingOf(this.cfg),
          clock: this.clock,
          onDecision: (d, level) => this.hooks.onDecision?.(req, id, d, level),
        });
      } catch (e) {
        out = {
          result: 'failed',
          reason: `internal error: ${(e as Error).message}`,
          steps: [],
          duration_ms: Date.now() - since,
        };
      }
      const res: FenceResult = {
        id,
        target: req.target,
        action: req.action,
        result: out.result,
        reason: out.reason,
        duration_ms: out.duration_ms,
      };
      if (out.power) res.power = out.power;
      if (out.level !== undefined) res.level = out.level;
      if (out.verified_by) res.verified_by = out.verified_by;
      if (out.note) res.note = out.note;
      try {
        this.journal.finished({
          id,
          target: res.target,
          action: res.action,
          result: res.result,
          reason: res.reason,
          duration_ms: res.duration_ms,
          ...(res.power ? { power: res.power } : {}),
          ...(res.level !== undefined ? { level: res.level } : {}),
          ...(res.verified_by ? { verified_by: res.verified_by } : {}),
          ...(res.note ? { note: res.note } : {}),
        });
      } catch (e) {
        res.note = `${res.note ? `${res.note}; ` : ''}journal write failed: ${(e as Error).message}`;
      }
      if ((req.action === 'off' || req.action === 'reboot') && res.result === 'success')
        this.lastFenced.set(req.target, Date.now());
      if (this.running.get(req.target)?.id === id) this.running.delete(req.target);
      this.hooks.onFinished?.(req, res);
      return res;
    })();
    const entry: Running = { id, action: req.action, since, requester: req.requester, promise };
    this.running.set(req.target, entry);
    return promise;
  }

  /** Resolves when every running operation has finished (or after maxMs). */
  async drain(maxMs: number): Promise<void> {
    const all = [...this.running.values()].map((r) => r.promise.catch(() => undefined));
    if (all.length === 0) return;
    await Promise.race([Promise.all(all), new Promise((r) => setTimeout(r, maxMs).unref())]);
  }

  consensusMs(): number {
    return consensusMs(this.cfg);
  }
}
