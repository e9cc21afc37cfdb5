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
import type { Heartbeats } from '../watchdog/heartbeat.js';
import type { ControlMethod, ControlParams, ControlResult, Untrusted } from './control-protocol.js';
import type { EventLog } from './events.js';
import type { ProviderRegistry } from './providers.js';

export type HealthState = 'starting' | 'ok' | 'degraded' | 'failed' | 'stopped';

export interface Health {
  state: HealthState;
  /** One sentence saying why, when not ok. */
  reason?: string;
}

/**
 * An entity of the status feed: one retained MQTT topic `<base>/<topic>` carrying `state`, and the
 * Home Assistant entities read from it. Keep names stable: they are a public contract.
 */
export interface Entity {
  /** Topic below the base topic, e.g. "fencing/node-a" or "ticket/db". */
  topic: string;
  /**
   * JSON-serialisable state, no secrets. It is retained and republished only when it changes, so
   * it carries no age, poll time or counter that moves on an idle box: those go in `volatile`.
   */
  state: Record<string, unknown>;
  /** Ages, poll times, counters: published with the periodic, non-retained `<base>/bridge/health`. */
  volatile?: Record<string, unknown>;
  /** The Home Assistant entities (MQTT discovery) that read this topic. */
  ha?: HaEntity[];
}

/**
 * One Home Assistant entity read from an Entity's topic; src/status/discovery.ts turns it into a
 * retained discovery config. Only read-only components: the box takes no commands over MQTT.
 */
export interface HaEntity {
  /** Unique within the box, [a-z0-9_-]: the discovery object id and the tail of the unique_id. */
  id: string;
  component: 'sensor' | 'binary_sensor';
  /** Shown under the box's device; never starts with the device name. */
  name: string;
  /** Jinja template over value_json giving the state (binary_sensor: ON or OFF). */
  value_template: string;
  device_class?: string;
  state_class?: 'measurement';
  unit_of_measurement?: string;
  /** Every value the template can give (sensor with device_class enum). */
  options?: string[];
  icon?: string;
  entity_category?: 'diagnostic';
  /** Expose the topic's JSON as the entity's attributes. */
  attributes?: boolean;
}

/** A control API method (control-protocol.ts): params come from the CLI as JSON, the result goes back as JSON. */
export type ControlHandler<M extends ControlMethod = ControlMethod> = (
  params: Untrusted<ControlParams<M>>,
) => Promise<ControlResult<M>>;

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
  /** Register a control API method, e.g. "fence.run" (typed by ControlApi). */
  handle<M extends ControlMethod>(method: M, handler: ControlHandler<M>): void;
  /** Data services hand each other (typed, looked up when used; see providers.ts). */
  readonly providers: ProviderRegistry;
  /** Decision-loop heartbeats: loops beat, the watchdog gates on their age. */
  readonly heartbeats: Heartbeats;
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

export type DaemonPhase = 'starting' | 'ready' | 'stopping';

export interface DaemonView {
  status(): DaemonStatus;
  /** starting (services still starting) → ready → stopping; a view without phases is ready. */
  phase?(): DaemonPhase;
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
