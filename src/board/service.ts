/**
 * The board service: owns the status LEDs. It follows two things and decides nothing else:
 *   - the events log: any event whose kind starts with "fence." lights the fencing LED for
 *     FENCING_LED_HOLD_MS;
 *   - the watchdog's feed ticks ("watchdog.feed" on the service context): each tick carries the
 *     feed decision and the health of every service, and the LEDs are set from it (ledStateFor).
 * The LEDs therefore change at the watchdog's cadence, exactly when its gate decides. Without a
 * watchdog there is nothing to show and the LEDs are left alone. LEDs are indication only: a
 * write error is reported once as an event and never degrades the daemon.
 */
import { performance } from 'node:perf_hooks';
import type { Health, Service, ServiceContext } from '../daemon/service.js';
import type { FeedTick } from '../watchdog/feed-ticks.js';
import { WATCHDOG_SERVICE } from '../watchdog/service.js';
import { boardFor } from './board-file.js';
import { type BoardConfig, boardConfigSchema } from './config.js';
import { createStatusLeds, type LedState, ledStateFor, type StatusLeds } from './leds.js';

export const BOARD_SERVICE = 'board';
/** How long the fencing LED blinks after the last "fence.*" event. */
export const FENCING_LED_HOLD_MS = 60_000;
/** Services whose health the LEDs leave out: the feed decision already covers the watchdog's. */
const NOT_SHOWN = new Set([WATCHDOG_SERVICE, BOARD_SERVICE]);

export interface BoardDeps {
  /** Monotonic clock in ms: the watchdog's (a tick's `now` is compared with fence event times). */
  now(): number;
}

export interface BoardSnapshot extends Record<string, unknown> {
  board: string | null;
  status_leds: boolean;
  leds: LedState | null;
  problem: string | null;
}

class BoardService implements Service {
  readonly name = BOARD_SERVICE;
  private board: string | undefined;
  private leds: StatusLeds | undefined;
  private lastFenceEventAt: number | undefined;
  private readonly unsubscribe: (() => void)[] = [];
  private problem: string | undefined;
  private state: Health = { state: 'starting' };

  constructor(
    private readonly ctx: ServiceContext,
    private readonly deps: BoardDeps,
  ) {}

  async start(): Promise<void> {
    const b = this.ctx.config.board ?? boardConfigSchema.parse({});
    if (b.status_leds) this.openLeds(b);
    if (this.leds) this.follow();
    this.state = this.problem ? { state: 'degraded', reason: this.problem } : { state: 'ok' };
  }

  async stop(): Promise<void> {
    for (const u of this.unsubscribe.splice(0)) u();
    this.leds?.show('off');
    this.state = { state: 'stopped' };
  }

  health(): Health {
    return this.state;
  }

  snapshot(): BoardSnapshot {
    return {
      board: this.board ?? null,
      status_leds: this.leds !== undefined,
      leds: this.leds?.current ?? null,
      problem: this.problem ?? null,
    };
  }

  private openLeds(b: BoardConfig): void {
    try {
      const { board, problem } = boardFor(b);
      if (problem) this.note(problem);
      if (!board) return;
      this.board = board.board;
      this.leds = createStatusLeds(board.leds, { sysfsRoot: b.sysfs_root });
    } catch (e) {
      this.note((e as Error).message);
    }
  }

  /** Subscribes to fence events and to the watchdog's ticks (shown at once if one already ran). */
  private follow(): void {
    this.unsubscribe.push(
      this.ctx.events.onEvent((e) => {
        if (e.kind.startsWith('fence.')) this.lastFenceEventAt = this.deps.now();
      }),
    );
    const ticks = this.ctx.providers.get('watchdog.feed');
    if (!ticks) return;
    this.unsubscribe.push(ticks.onTick((t) => this.show(t)));
    const last = ticks.last();
    if (last) this.show(last);
  }

  private show(t: FeedTick): void {
    if (!this.leds) return;
    const fencing = this.lastFenceEventAt !== undefined && t.now - this.lastFenceEventAt < FENCING_LED_HOLD_MS;
    const allHealthy = Object.entries(t.health).every(([n, h]) => NOT_SHOWN.has(n) || h.state === 'ok');
    const err = this.leds.show(ledStateFor({ fencing, feeding: t.feeding, allHealthy }));
    // indication only: reported once, never a reason to degrade
    if (err) this.ctx.events.record(this.name, 'board.leds', `${err}.`);
  }

  private note(problem: string): void {
    this.problem = this.problem ? `${this.problem}; ${problem}` : problem;
    this.ctx.events.record(this.name, 'board.problem', `${problem}.`);
  }
}

/** Daemon factory (src/daemon/registry.ts). */
export function createBoardService(ctx: ServiceContext): Service {
  return new BoardService(ctx, { now: () => performance.now() });
}

/** Same, with an injectable clock (tests). */
export function createBoardServiceWith(ctx: ServiceContext, deps: Partial<BoardDeps>): Service {
  return new BoardService(ctx, { now: () => performance.now(), ...deps });
}
