/**
 * Request/response over a console: one exchange at a time (a queue), each one "send this, then
 * feed me frames until the matcher is satisfied or the deadline passes". Frames that arrive while
 * no exchange waits are kept briefly and dropped when the next exchange starts (stale output of a
 * previous session, idle-logout notices); they are handed to the log, never to a matcher.
 */
import type { Logger } from 'pino';
import { DriverError } from '../driver.js';
import type { Frame } from './framer.js';

/** What a matcher returns: keep waiting (undefined), a result, or a failure. */
export type MatchResult<T> = { done: T } | { fail: DriverError } | undefined;
export type Matcher<T> = (frame: Frame, seen: readonly Frame[]) => MatchResult<T>;

interface Waiter {
  match: Matcher<unknown>;
  seen: Frame[];
  resolve(v: unknown): void;
  reject(e: DriverError): void;
}

/** Runs async jobs strictly one after another. */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(job: () => Promise<T>): Promise<T> {
    const p = this.tail.then(job, job);
    this.tail = p.catch(() => undefined);
    return p;
  }
}

export class Exchange {
  private waiter: Waiter | undefined;
  private stray: Frame[] = [];
  private readonly queue = new SerialQueue();
  private broken: DriverError | undefined;

  constructor(
    private readonly device: string,
    private readonly write: (data: string) => Promise<void>,
    private readonly log?: Logger,
  ) {}

  /** Called by the framing layer for every frame. */
  feed(frame: Frame): void {
    const w = this.waiter;
    if (!w) {
      if (this.stray.length < 200) this.stray.push(frame);
      return;
    }
    w.seen.push(frame);
    let r: MatchResult<unknown>;
    try {
      r = w.match(frame, w.seen);
    } catch (e) {
      r = { fail: new DriverError('protocol', this.device, (e as Error).message, { cause: e }) };
    }
    if (!r) return;
    this.waiter = undefined;
    if ('done' in r) w.resolve(r.done);
    else w.reject(r.fail);
  }

  /** The transport is gone: the waiting exchange and every later one fail with `err`. */
  fail(err: DriverError): void {
    this.broken = err;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(err);
  }

  /**
   * Sends `data` (if any) and waits for the matcher. `what` names the step in error messages;
   * `secret` keeps the device's text out of them (the data sent was a password).
   * Rejects with DriverError('timeout') naming the last text seen when the deadline passes.
   */
  request<T>(data: string | null, match: Matcher<T>, timeoutMs: number, what: string, secret = false): Promise<T> {
    return this.queue.run(
      () =>
        new Promise<T>((resolve, reject) => {
          if (this.broken) {
            reject(this.broken);
            return;
          }
          if (this.stray.length) {
            this.log?.debug(
              { device: this.device, stray: this.stray.map((f) => f.text) },
              'console output outside a request',
            );
            this.stray = [];
          }
          const seen: Frame[] = [];
          const timer = setTimeout(() => {
            if (this.waiter !== waiter) return;
            this.waiter = undefined;
            // after sending a secret, the console's text may echo it: never quote it
            const last = seen.length && !secret ? seen[seen.length - 1]?.text : undefined;
            reject(
              new DriverError(
                'timeout',
                this.device,
                `${what}: no valid answer within ${timeoutMs} ms${last === undefined ? ' (console silent)' : ` (last text: ${JSON.stringify(last.slice(0, 80))})`}`,
              ),
            );
          }, timeoutMs);
          const waiter: Waiter = {
            match: match as Matcher<unknown>,
            seen,
            resolve: (v) => {
              clearTimeout(timer);
              resolve(v as T);
            },
            reject: (e) => {
              clearTimeout(timer);
              reject(e);
            },
          };
          this.waiter = waiter;
          if (data !== null) {
            this.write(data).catch((e: unknown) => {
              if (this.waiter !== waiter) return;
              this.waiter = undefined;
              waiter.reject(
                e instanceof DriverError
                  ? e
                  : new DriverError('io', this.device, `${what}: write failed: ${(e as Error).message}`),
              );
            });
          }
        }),
    );
  }
}
