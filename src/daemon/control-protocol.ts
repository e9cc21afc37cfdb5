/**
 * The local control API: newline-delimited JSON over a unix socket. One request per line
 * `{"id": n, "method": "status", "params": {...}}`, one response per line
 * `{"id": n, "ok": true, "result": ...}` or `{"id": n, "ok": false, "error": "..."}`.
 *
 * `ControlApi` is the whole API as one type, shared by the daemon (services register handlers
 * with ctx.handle) and the CLI (callDaemon): a method's params and result change at every
 * producer and consumer at once. Params arrive as JSON from a socket anyone in the control group
 * can open: a handler sees each declared key as `unknown` (Untrusted) and checks it, naming the key.
 */
import type { ArbitratorSnapshot } from '../arbitrator/arbitrator.js';
import type { FenceAction } from '../fencing/decisions/core.js';
import type { SimFault } from '../fencing/devices/sim/index.js';
import type { HistoryEntry } from '../fencing/journal.js';
import type { FenceResult } from '../fencing/operations/fencer.js';
import type { FencingSnapshot } from '../fencing/service.js';
import type { PreflightResult } from '../pgsql/observer/preflight.js';
import type { RackSnapshot } from '../pgsql/observer/types.js';
import type { WatchdogSnapshot, WatchdogTestResult } from '../watchdog/service.js';
import type { EventEntry } from './events.js';
import type { DaemonStatus } from './service.js';

/** A method without params. */
export type NoParams = Record<never, never>;

export interface ControlApi {
  status: { params: NoParams; result: DaemonStatus };
  /** The events log, oldest first; since_ms: only entries at or after this time (ms since the epoch). */
  events: { params: { since_ms?: number }; result: EventEntry[] };
  /** Every registered method, sorted. */
  methods: { params: NoParams; result: string[] };
  'arbitrator.status': { params: NoParams; result: ArbitratorSnapshot | null };
  'pgsql.status': { params: NoParams; result: RackSnapshot };
  /** A fresh poll judged for a switchover to `to` (default: the standby). */
  'pgsql.preflight': { params: { to?: string }; result: PreflightResult };
  /** `user`: who asked (recorded as unverified: the socket's group is the authentication). */
  'fence.run': { params: { target: string; action: FenceAction; user?: string }; result: FenceResult };
  'fence.history': { params: { limit?: number; target?: string }; result: { entries: HistoryEntry[] } };
  'fence.status': { params: NoParams; result: FencingSnapshot };
  /** A fresh poll of qnetd, as `rackwitness status` shows it. */
  'qdevice.status': { params: NoParams; result: Record<string, unknown> };
  /** Demo only: set a simulated device's fault. */
  'fence.sim': { params: { device: string; fault?: SimFault }; result: { device: string; fault: SimFault } };
  'watchdog.status': { params: NoParams; result: WatchdogSnapshot };
  /** Stops feeding on purpose: the board resets. */
  'watchdog.test': { params: { yes: true }; result: WatchdogTestResult };
}

export type ControlMethod = keyof ControlApi;
export type ControlParams<M extends ControlMethod> = ControlApi[M]['params'];
export type ControlResult<M extends ControlMethod> = ControlApi[M]['result'];

/** Params as they arrive: the declared keys, each of unknown type until the handler checked it. */
export type Untrusted<P> = { readonly [K in keyof P]?: unknown };

export interface ControlRequest {
  id: number;
  method: string;
  params?: object;
}

export type ControlResponse =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: string; code?: string };

/** Bound on one request line; longer lines are refused and the connection closed. */
export const MAX_REQUEST_BYTES = 64 * 1024;
