/**
 * The fencer: turns a request (target, action, who asked) into one journaled operation.
 * - never acts on a target that is not configured;
 * - what happens to a request is decided by the pure guard table (core.ts `admit()`) over a
 *   snapshot of what the box knows (running operations, the last verified power of every node,
 *   now): the fence-race guard refuses only a request that cannot come from a live node (being
 *   fenced now, verified off and confirmed off by a fresh read, or powered on by the box too
 *   recently to have booted); otherwise one operation per target: join the same action, wait for
 *   another, cancel a pending power-on;
 * - a reboot is answered as soon as off is verified; its power-on follow-up (boot delay, on,
 *   verify on) runs on as a separate journal operation (`power-on`, `follows` = the reboot's id)
 *   whose outcome never changes the answer;
 * - every operation is written to the journal before any device is touched, and its result after.
 */

import type { FencingConfig } from '../config.js';
import { consensusMs, requesterBootMs } from '../config.js';
import type { Arbiter } from '../decisions/arbitration.js';
import {
  admit,
  type Decision,
  type FenceAction,
  type GuardDecision,
  type GuardSnapshot,
  type Phase,
  type PowerHow,
  type PowerKnowledge,
  type RunningStage,
  type RunningView,
} from '../decisions/core.js';
import type { PowerDriver, PowerState } from '../devices/driver.js';
import type { FenceJournal, OutcomeFields, Requester } from '../journal.js';
import { type Clock, type LevelDef, type OperationOutcome, realClock, runOperation, type Timing } from './runner.js';

export interface FenceRequest {
  target: string;
  action: FenceAction;
  requester: Requester;
}

export interface FenceResult extends OutcomeFields {
  id: string;
  target: string;
  action: FenceAction;
  result: 'success' | 'failed' | 'refused';
  /** True when this request joined an operation already running for the target. */
  joined?: boolean;
  /** Reboot answered at the verified off: the journal id of its power-on follow-up. */
  power_on_id?: string;
  /** Reboot answered at the verified off: when the power-on is due (end of the boot delay). */
  power_on_pending_until?: string;
}

/** The outcome of a reboot's power-on follow-up (never sent to the agent: it was answered already). */
export interface FollowUpResult extends OutcomeFields {
  id: string;
  /** The reboot operation it follows. */
  follows: string;
  target: string;
  result: 'success' | 'failed' | 'cancelled';
  /** duration_ms: from the answer to the end of the follow-up. */
}

export interface FollowUpView {
  id: string;
  follows: string;
  /** `boot-wait` until the boot delay is over, then `verify-on`. */
  phase: Phase;
  since: string;
  /** End of the boot delay (the power-on is due then). */
  power_on_pending_until?: string;
}

export class UnknownTargetError extends Error {
  constructor(readonly target: string) {
    super(`"${target}" is not a configured fencing target`);
    this.name = 'UnknownTargetError';
  }
}

/** One operation in flight, as its steps (drive, finishFence, onAnswer, ...) see it. */
interface OperationRun {
  req: FenceRequest;
  id: string;
  /** Run beside the target's running operation (not registered as running). */
  beside: boolean;
  /** Monotonic start: durations. */
  t0: number;
  entry: Running;
  /** Monotonic time of the answer (the follow-up's duration counts from it). */
  answeredAt?: number;
  resolveAnswer: (r: FenceResult) => void;
}

interface Running {
  id: string;
  action: FenceAction;
  sinceMs: number;
  requester: Requester;
  stage: RunningStage;
  /** Resolves with the answer (for a reboot: at the verified off; otherwise at the end). */
  answer: Promise<FenceResult>;
  /** Resolves when the operation and any follow-up have ended. */
  done: Promise<void>;
  cancel: AbortController;
  cancelReason?: string;
  followUp?: FollowUpView;
}

export interface FencerHooks {
  onStarted?(req: FenceRequest, id: string): void;
  onDecision?(req: FenceRequest, id: string, d: Decision, level: number): void;
  /** Every guard decision (logs); refusals also reach onFinished. */
  onAdmit?(req: FenceRequest, d: GuardDecision): void;
  onFinished?(req: FenceRequest, res: FenceResult): void;
  onFollowUpStarted?(req: FenceRequest, fu: FollowUpView): void;
  /** The follow-up entered a phase (e.g. verify-on: the power-on was sent). */
  onFollowUpPhase?(req: FenceRequest, fu: FollowUpView): void;
  onFollowUpFinished?(req: FenceRequest, fu: FollowUpResult): void;
}

export function timingOf(cfg: FencingConfig): Timing {
  return {
    powerTimeoutMs: cfg.power_timeout_s * 1000,
    pollIntervalMs: cfg.poll_interval_ms,
    commandTimeoutMs: cfg.command_timeout_s * 1000,
    bootDelayMs: cfg.boot_delay_s * 1000,
  };
}

/**
 * Worst-case time until the box ANSWERS a request on a target (seconds), for status and docs:
 * every level tried, each with a read, a send and the full power timeout. A reboot is answered
 * at the verified off, so it costs the same as an off; its power-on follows after the answer
 * (`worstCaseFollowUpS`) and is no part of what Pacemaker waits for.
 */
export function worstCaseS(cfg: FencingConfig, target: string, _action: FenceAction = 'reboot'): number {
  const t = cfg.targets[target];
  if (!t) return 0;
  const cmd = cfg.command_timeout_s;
  return Math.ceil(t.levels.length * (2 * cmd + cfg.power_timeout_s));
}

/** Worst case of a reboot's power-on follow-up after the answer: boot delay + on + power timeout. */
export function worstCaseFollowUpS(cfg: FencingConfig): number {
  return Math.ceil(cfg.boot_delay_s + cfg.command_timeout_s + cfg.power_timeout_s);
}

export class Fencer {
  private readonly running = new Map<string, Running>();
  /** The last power the box knows of every node (the guard's evidence). */
  private readonly power = new Map<string, PowerKnowledge>();
  private readonly clk: Clock;
  /** Fence arbitration (arbitration.ts), consulted before the race guard; none: first come. */
  private arbiter: Arbiter | undefined;

  constructor(
    private readonly cfg: FencingConfig,
    private readonly drivers: ReadonlyMap<string, PowerDriver>,
    private readonly journal: FenceJournal,
    private readonly hooks: FencerHooks = {},
    clock?: Clock,
  ) {
    this.clk = clock ?? realClock;
    // what the journal proves, oldest first; the device check adds reads after start
    for (const h of journal.history(cfg.history_max).reverse()) {
      if (h.result !== 'success' || !h.finished || !Object.hasOwn(cfg.targets, h.target)) continue;
      const at = Date.parse(h.finished);
      if (!Number.isFinite(at)) continue;
      if ((h.action === 'off' || h.action === 'reboot') && h.power === 'off')
        this.power.set(h.target, { state: 'off', atMs: at, how: 'verified-off' });
      else if ((h.action === 'power-on' || h.action === 'on') && h.power === 'on')
        this.power.set(h.target, { state: 'on', atMs: at, how: h.note === 'already on' ? 'read' : 'powered-on' });
      else if (h.action === 'status' && h.power) this.power.set(h.target, { state: h.power, atMs: at, how: 'read' });
    }
  }

  targets(): string[] {
    return Object.keys(this.cfg.targets);
  }

  /** Puts fence arbitration in front of the race guard. */
  useArbiter(a: Arbiter | undefined): void {
    this.arbiter = a;
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

  inProgress(): Array<{
    target: string;
    id: string;
    action: FenceAction;
    since: string;
    stage: RunningStage;
    follow_up?: FollowUpView;
  }> {
    return [...this.running].map(([target, r]) => ({
      target,
      id: r.id,
      action: r.action,
      since: new Date(r.sinceMs).toISOString(),
      stage: r.stage,
      ...(r.followUp ? { follow_up: { ...r.followUp } } : {}),
    }));
  }

  isRunning(target: string): boolean {
    return this.running.has(target);
  }

  /** The pending power-on follow-up of a target, if one runs. */
  powerOnPending(target: string): FollowUpView | undefined {
    const f = this.running.get(target)?.followUp;
    return f ? { ...f } : undefined;
  }

  /** The last power the box knows of a node. */
  knownPower(target: string): (PowerKnowledge & { at: string }) | undefined {
    const k = this.power.get(target);
    return k ? { ...k, at: new Date(k.atMs).toISOString() } : undefined;
  }

  /**
   * A read of a node's power from outside an operation (the periodic device check). A read that
   * agrees with what is known keeps the earlier evidence (when it went off / was powered on).
   */
  notePower(target: string, state: PowerState | 'unknown'): void {
    if (state === 'unknown' || this.running.has(target)) return;
    this.learn(target, state, 'read');
  }

  private learn(target: string, state: PowerState, how: PowerHow): void {
    const cur = this.power.get(target);
    if (how === 'read' && cur?.state === state) return;
    this.power.set(target, { state, atMs: this.clk.now(), how });
  }

  private guardSnapshot(req: FenceRequest, requesterRead: PowerState | 'unreadable' | undefined): GuardSnapshot {
    const running: Record<string, RunningView> = {};
    for (const [t, r] of this.running) running[t] = { action: r.action, stage: r.stage, sinceMs: r.sinceMs };
    const power: Record<string, PowerKnowledge> = {};
    for (const [t, k] of this.power) power[t] = { ...k };
    return {
      action: req.action,
      target: req.target,
      ...(req.requester.node ? { requester: req.requester.node } : {}),
      nowMs: this.clk.now(),
      running,
      power,
      ...(requesterRead ? { requesterRead } : {}),
      requesterBootMs: requesterBootMs(this.cfg),
    };
  }

  /**
   * Runs (or joins) an operation. Resolves with the answer: for a reboot, as soon as off is
   * verified (the power-on follows). Rejects only with UnknownTargetError.
   */
  async run(req: FenceRequest): Promise<FenceResult> {
    if (!Object.hasOwn(this.cfg.targets, req.target)) throw new UnknownTargetError(req.target);
    if (this.arbiter) {
      const a = await this.arbiter.decide({
        target: req.target,
        action: req.action,
        via: req.requester.via === 'api' ? 'api' : 'local',
        ...(req.requester.node ? { requester: req.requester.node } : {}),
        ...(req.requester.addr ? { addr: req.requester.addr } : {}),
        targetVerifiedOff: () => {
          const k = this.power.get(req.target);
          return k?.state === 'off' && k.how === 'verified-off';
        },
      });
      if (a.verdict === 'refuse') return this.refuse(req, a.reason);
    }
    let requesterRead: PowerState | 'unreadable' | undefined;
    for (;;) {
      const d = admit(this.guardSnapshot(req, requesterRead));
      this.hooks.onAdmit?.(req, d);
      const cur = this.running.get(req.target);
      switch (d.verdict) {
        case 'refuse':
          return this.refuse(req, d.reason);
        case 'read-requester':
          requesterRead = await this.readPower(req.requester.node as string);
          continue;
        case 'join':
          if (!cur) continue;
          return { ...(await cur.answer), joined: true };
        case 'wait-answer':
          if (cur) await cur.answer.catch(() => undefined);
          continue;
        case 'wait-done':
          if (cur) await cur.done;
          continue;
        case 'cancel-follow-up':
          if (cur) {
            cur.cancelReason ??= `cancelled by ${req.action === 'off' ? 'an off' : 'a reboot'} request (${who(req.requester)})`;
            cur.cancel.abort();
            await cur.done;
          }
          continue;
        case 'run-beside':
          return this.start(req, true);
        case 'run':
          return this.start(req);
      }
    }
  }

  private refuse(req: FenceRequest, reason: string): FenceResult {
    const id = this.journal.refused(req.target, req.action, req.requester, reason);
    const res: FenceResult = {
      id,
      target: req.target,
      action: req.action,
      result: 'refused',
      reason,
      duration_ms: 0,
    };
    this.hooks.onFinished?.(req, res);
    return res;
  }

  /** A read of a node's power for the guard (level by level, as a status); not journaled. */
  private async readPower(node: string): Promise<PowerState | 'unreadable'> {
    try {
      const out = await runOperation({
        action: 'status',
        levels: this.levels(node),
        drivers: this.drivers,
        timing: timingOf(this.cfg),
        clock: this.clk,
      });
      if (out.result === 'success' && out.power) {
        if (!this.running.has(node)) this.learn(node, out.power, 'read');
        return out.power;
      }
    } catch {
      // unreadable
    }
    return 'unreadable';
  }

  private start(req: FenceRequest, beside = false): Promise<FenceResult> {
    const id = this.journal.started(req.target, req.action, req.requester);
    const sinceMs = this.clk.now(); // wall: shown as `since`, the guard's evidence
    const t0 = this.clk.mono(); // monotonic: durations
    this.hooks.onStarted?.(req, id);
    let resolveAnswer: (r: FenceResult) => void = () => undefined;
    const answer = new Promise<FenceResult>((r) => {
      resolveAnswer = r;
    });
    const entry: Running = {
      id,
      action: req.action,
      sinceMs,
      requester: req.requester,
      stage: 'fence',
      answer,
      done: Promise.resolve(),
      cancel: new AbortController(),
    };
    const op: OperationRun = { req, id, beside, t0, entry, resolveAnswer };
    entry.done = this.drive(op);
    if (!beside) this.running.set(req.target, entry);
    return answer;
  }

  /** Runs the operation (and a reboot's power-on follow-up) and reports each end. */
  private async drive(op: OperationRun): Promise<void> {
    const { req, id, entry } = op;
    let out: OperationOutcome;
    try {
      out = await runOperation({
        action: req.action,
        levels: this.levels(req.target),
        drivers: this.drivers,
        timing: timingOf(this.cfg),
        clock: this.clk,
        rebootPowerOn: this.cfg.reboot_power_on,
        cancel: entry.cancel.signal,
        onDecision: (d, level) => this.hooks.onDecision?.(req, id, d, level),
        onAnswer: (a) => this.onAnswer(op, a),
        onPhase: (phase) => this.onPhase(op, phase),
      });
    } catch (e) {
      out = {
        result: 'failed',
        reason: `internal error: ${(e as Error).message}`,
        steps: [],
        duration_ms: this.clk.mono() - op.t0,
      };
    }
    if (!entry.followUp) {
      const res = this.finishFence(op, out);
      if (this.running.get(req.target)?.id === id) this.running.delete(req.target);
      this.hooks.onFinished?.(req, res);
      op.resolveAnswer(res);
      return;
    }
    const fu = this.finishFollowUp(op, out);
    if (this.running.get(req.target)?.id === id) this.running.delete(req.target);
    this.hooks.onFollowUpFinished?.(req, fu);
  }

  /** The fence's result: journaled, and what it proves about the target's power learned. */
  private finishFence(op: OperationRun, out: OperationOutcome): FenceResult {
    const { req, id, entry, beside } = op;
    const res: FenceResult = {
      id,
      target: req.target,
      action: req.action,
      result: out.result === 'success' ? 'success' : 'failed',
      reason: out.reason,
      duration_ms: out.duration_ms,
    };
    if (out.power) res.power = out.power;
    if (out.level !== undefined) res.level = out.level;
    if (out.verified_by) res.verified_by = out.verified_by;
    if (out.note) res.note = out.note;
    if (entry.followUp) {
      res.power_on_id = entry.followUp.id;
      if (entry.followUp.power_on_pending_until) res.power_on_pending_until = entry.followUp.power_on_pending_until;
    }
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
        ...(res.power_on_id ? { power_on_id: res.power_on_id } : {}),
      });
    } catch (e) {
      res.note = `${res.note ? `${res.note}; ` : ''}journal write failed: ${(e as Error).message}`;
    }
    if (res.result === 'success' && res.power) {
      if (req.action === 'off' || req.action === 'reboot') this.learn(req.target, 'off', 'verified-off');
      else if (req.action === 'on') this.learn(req.target, 'on', res.note === 'already on' ? 'read' : 'powered-on');
      else if (!beside || !this.running.has(req.target)) this.learn(req.target, res.power, 'read');
    }
    return res;
  }

  /** A reboot's answer (off verified): its power-on follow-up goes on disk first, then the answer is given. */
  private onAnswer(op: OperationRun, a: OperationOutcome): void {
    const { req, id, entry } = op;
    // the follow-up is on disk before the answer: a crash in between shows both as interrupted
    op.answeredAt = this.clk.mono();
    const until = new Date(Date.now() + this.cfg.boot_delay_s * 1000).toISOString();
    let fuId: string;
    try {
      fuId = this.journal.started(req.target, 'power-on', req.requester, undefined, { follows: id });
    } catch {
      fuId = `${id}-power-on`;
    }
    entry.followUp = {
      id: fuId,
      follows: id,
      phase: 'boot-wait',
      since: new Date().toISOString(),
      power_on_pending_until: until,
    };
    const res = this.finishFence(op, a);
    entry.stage = 'follow-up';
    this.hooks.onFinished?.(req, res);
    this.hooks.onFollowUpStarted?.(req, { ...entry.followUp });
    op.resolveAnswer(res);
  }

  private onPhase(op: OperationRun, phase: Phase): void {
    const { req, entry } = op;
    const f = entry.followUp;
    if (!f || phase === f.phase || (phase !== 'verify-on' && phase !== 'level-failed')) return;
    f.phase = phase;
    this.hooks.onFollowUpPhase?.(req, { ...f });
  }

  private finishFollowUp(op: OperationRun, out: OperationOutcome): FollowUpResult {
    const { req, id, entry } = op;
    const f = entry.followUp as FollowUpView;
    const fu: FollowUpResult = {
      id: f.id,
      follows: id,
      target: req.target,
      result: out.result,
      reason: entry.cancelReason && out.result === 'cancelled' ? `${out.reason} (${entry.cancelReason})` : out.reason,
      duration_ms: Math.max(0, this.clk.mono() - (op.answeredAt ?? op.t0)),
    };
    if (out.power) fu.power = out.power;
    if (out.level !== undefined) fu.level = out.level;
    if (out.verified_by) fu.verified_by = out.verified_by;
    if (out.note) fu.note = out.note;
    try {
      this.journal.finished({
        id: fu.id,
        target: fu.target,
        action: 'power-on',
        result: fu.result,
        reason: fu.reason,
        duration_ms: fu.duration_ms,
        follows: id,
        ...(fu.power ? { power: fu.power } : {}),
        ...(fu.level !== undefined ? { level: fu.level } : {}),
        ...(fu.verified_by ? { verified_by: fu.verified_by } : {}),
        ...(fu.note ? { note: fu.note } : {}),
      });
    } catch (e) {
      fu.note = `${fu.note ? `${fu.note}; ` : ''}journal write failed: ${(e as Error).message}`;
    }
    if (fu.result === 'success' && fu.power === 'on') this.learn(req.target, 'on', 'powered-on');
    return fu;
  }

  /** Cancels every pending power-on follow-up (the nodes stay off), e.g. when the daemon stops. */
  cancelFollowUps(reason: string): number {
    let n = 0;
    for (const r of this.running.values()) {
      if (r.stage !== 'follow-up') continue;
      r.cancelReason ??= reason;
      r.cancel.abort();
      n++;
    }
    return n;
  }

  /** Resolves when every running operation has finished (or after maxMs). */
  async drain(maxMs: number): Promise<void> {
    const all = [...this.running.values()].map((r) => r.done.catch(() => undefined));
    if (all.length === 0) return;
    await Promise.race([Promise.all(all), new Promise((r) => setTimeout(r, maxMs).unref())]);
  }

  consensusMs(): number {
    return consensusMs(this.cfg);
  }
}

function who(r: Requester): string {
  if (r.via === 'api') return `${r.addr ?? '?'}${r.node ? ` (${r.node})` : ''}`;
  return r.who ? `${r.via} ${r.who}` : r.via;
}
