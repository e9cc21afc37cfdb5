/**
 * The contract every capability implements to live in the daemon. Constructors do nothing;
 * start() acquires resources (ports, devices) and throws an Error naming the culprit when it
 * cannot; stop() releases them and never throws (it is also called after a failed start(), to
 * release what start() had acquired). health() and snapshot() are cheap, synchronous
 * reads of in-memory state: the status feed, /metrics and `rackwitness status` call them often.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from '../config/schema.js';
import type { EventLog } from './events.js';

export type HealthState = 'starting' | 'ok' | 'degraded' | 'failed' | 'stopped';

export interface Health {
  state: HealthState;
  /** One sentence saying why, when not ok. */
  reason?: string;
}

/**
 * An entity of the status feed: one retained MQTT topic `<base>/<topic>` carrying `state`, and
 * (later) one Home Assistant device/entity set. Keep names stable: they are a public contract.
 */
export interface Entity {
  /** Topic below the base topic, e.g. "fencing/node-a" or "ticket/db". */
  topic: string;
  /** JSON-serialisable state, no secrets. */
  state: Record<string, unknown>;
  /** Optional hints for Home Assistant discovery (component, device class, unit...). */
  ha?: Record<string, unknown>;
}

/** A control API method: params come from the CLI as JSON, the result goes back as JSON. */
export type ControlHandler = (params: Record<string, unknown>) => Promise<unknown>;

export interface ServiceContext {
  readonly config: Config;
  readonly log: Logger;
  readonly events: EventLog;
  readonly metrics: Registry;
  readonly stateDir: string;
  /** Tell the status feed that this service's snapshot/entities changed. */
  changed(): void;
  /** Health of every other service (the watchdog gates its feed on these). */
  health(): Record<string, Health>;
  /**
   * Whether the daemon takes new operations that act on the rack (fences): undefined when it
   * does, else one sentence why not (still starting, or stopping). Services with outside-facing
   * actions refuse them with this sentence; nothing may act before every service has started.
   */
  admission(): string | undefined;
  /** Register a control API method, e.g. "fence.run". */
  handle(method: string, handler: ControlHandler): void;
  /** True when the daemon runs the demo (simulated devices). */
  readonly demo: boolean;
  /** Read access to the whole daemon (used by the status feed). */
  readonly daemon: DaemonView;
}

export interface ServiceStatus {
  name: string;
  optional: boolean;
  /** False for services whose health describes the rack, not the box (the watchdog ignores them). */
  gates_watchdog: boolean;
  health: Health;
  snapshot: Record<string, unknown>;
}

export type OverallHealth = 'ok' | 'degraded' | 'failed';

export interface DaemonStatus {
  box: string;
  version: string;
  demo: boolean;
  pid: number;
  started_at: string;
  uptime_s: number;
  overall: OverallHealth;
  /** One sentence per service that is not ok. */
  problems: string[];
  services: ServiceStatus[];
}

export interface DaemonView {
  status(): DaemonStatus;
  /** Every entity of every running service. */
  entities(): Entity[];
  /** Called with the service name whenever a service reports a change. */
  onChange(listener: (service: string) => void): () => void;
}

export interface Service {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  health(): Health;
  snapshot(): Record<string, unknown>;
  entities?(): Entity[];
}

export type ServiceFactory = (ctx: ServiceContext) => Service;
