/**
 * The MQTT status feed, zigbee2mqtt-style:
 *   <base>/bridge/state   retained {"state":"online"|"offline"}; "offline" is the last will
 *   <base>/bridge/info    retained: version, box, services, config summary (no secrets)
 *   <base>/bridge/health  periodic, not retained: uptime, memory, feed counters, and each entity's
 *                         volatile part (feed ages, poll times, lease ends)
 *   <base>/bridge/event   every events-log entry (not retained)
 *   <base>/<entity>       retained JSON state per entity (service health, targets, tickets...),
 *                         published only when its content changes
 *   <prefix>/<component>/<node>/<object>/config   Home Assistant discovery (retained)
 * Nothing retained is published before the daemon is ready (a restart shows no "starting" state:
 * bridge/state stays "offline" until every service has started) nor while it stops. Retained
 * topics that are no longer wanted (an entity gone, discovery turned off) are cleared with an
 * empty retained message; the list of what was published survives restarts in the state dir.
 * A broker that goes away does not stop the box: the client reconnects with exponential backoff
 * and the feed reports degraded until it is back, then republishes every retained topic.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { EventEntry, EventLog } from '../daemon/events.js';
import type { DaemonView, Entity, HaEntity, Health } from '../daemon/service.js';
import type { StatusConfig } from './config.js';
import { discoveryConfigs } from './discovery.js';

export interface FeedTarget {
  url: string;
  clientId: string;
  username?: string;
  password?: string;
}

export interface FeedOptions {
  box: string;
  version: string;
  /** Where the list of retained topics published so far is kept (cleared when no longer wanted). */
  stateDir: string;
}

/** The file in the state dir listing the retained topics the feed published (besides bridge/*). */
export const RETAINED_FILE = 'mqtt-retained.json';

const SERVICE_STATES = ['starting', 'ok', 'degraded', 'failed', 'stopped'];

export interface FeedCounters {
  published: number;
  reconnects: number;
}

export class MqttFeed {
  private client: MqttClient | undefined;
  private connected = false;
  private stopping = false;
  private everConnected = false;
  private lastError: string | undefined;
  /** What this connection published, by retained topic (cleared on reconnect: republish all). */
  private readonly lastPayload = new Map<string, string>();
  /** Retained topics believed held by the broker: published by this run or an earlier one. */
  private readonly known = new Set<string>();
  /** The retained state has been announced on this connection (daemon ready). */
  private announced = false;
  private flushTimer: NodeJS.Timeout | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private unsubscribe: Array<() => void> = [];
  private delayS: number;
  readonly counters: FeedCounters = { published: 0, reconnects: 0 };

  constructor(
    private readonly cfg: StatusConfig,
    private readonly target: FeedTarget,
    readonly baseTopic: string,
    private readonly view: DaemonView,
    private readonly events: EventLog,
    private readonly info: () => Record<string, unknown>,
    private readonly log: Logger,
    private readonly opts: FeedOptions,
  ) {
    this.delayS = cfg.mqtt.reconnect_min_s;
    for (const t of readKnown(join(opts.stateDir, RETAINED_FILE))) this.known.add(t);
  }

  async start(): Promise<void> {
    const mqtt = await import('mqtt');
    // bundled (the rackwitness package), a CommonJS package's dynamic import has only `default`
    const connectAsync = mqtt.connectAsync ?? (mqtt as unknown as { default: typeof mqtt }).default.connectAsync;
    const m = this.cfg.mqtt;
    const tls = {
      ...(m.ca_file ? { ca: readFileSync(m.ca_file) } : {}),
      ...(m.cert_file ? { cert: readFileSync(m.cert_file) } : {}),
      ...(m.key_file ? { key: readFileSync(m.key_file) } : {}),
    };
    try {
      this.client = await withTimeout(
        connectAsync(this.target.url, {
          clientId: this.target.clientId,
          ...(this.target.username ? { username: this.target.username } : {}),
          ...(this.target.password ? { password: this.target.password } : {}),
          keepalive: m.keepalive_s,
          connectTimeout: m.connect_timeout_s * 1000,
          reconnectPeriod: 0,
          clean: true,
          will: {
            topic: `${this.baseTopic}/bridge/state`,
            payload: Buffer.from('{"state":"offline"}'),
            qos: 1,
            retain: true,
          },
          ...tls,
        }),
        m.connect_timeout_s * 1000,
      );
    } catch (e) {
      throw new Error(`status.mqtt: cannot connect to broker ${this.target.url} (${describe(e)})`);
    }
    const client = this.client;
    this.connected = true;
    this.everConnected = true;
    // Reconnects from here on, with exponential backoff between min and max.
    client.options.reconnectPeriod = m.reconnect_min_s * 1000;
    client.on('connect', () => {
      this.connected = true;
      this.lastError = undefined;
      this.delayS = m.reconnect_min_s;
      client.options.reconnectPeriod = this.delayS * 1000;
      this.log.info({ url: this.target.url }, 'MQTT broker connected again');
      this.lastPayload.clear();
      this.announced = false;
      this.publishAll();
    });
    client.on('close', () => {
      if (this.connected && !this.stopping)
        this.log.warn({ url: this.target.url }, 'MQTT broker connection lost; reconnecting');
      this.connected = false;
      this.announced = false;
    });
    client.on('reconnect', () => {
      this.counters.reconnects++;
      this.delayS = Math.min(m.reconnect_max_s, this.delayS * 2);
      client.options.reconnectPeriod = this.delayS * 1000;
    });
    client.on('error', (e) => {
      this.lastError = describe(e);
    });
    this.unsubscribe.push(
      this.view.onChange(() => {
        // the daemon turning ready announces everything at once
        if (!this.announced && this.phase() === 'ready') this.publishAll();
        else this.scheduleFlush();
      }),
    );
    this.unsubscribe.push(this.events.onEvent((e) => this.publishEvent(e)));
    this.healthTimer = setInterval(() => this.publishHealth(), this.cfg.health_interval_s * 1000);
    this.healthTimer.unref();
    this.publishAll();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
    clearTimeout(this.flushTimer);
    clearInterval(this.healthTimer);
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    if (this.connected) {
      await withTimeout(
        client.publishAsync(`${this.baseTopic}/bridge/state`, '{"state":"offline"}', { qos: 1, retain: true }),
        2000,
      ).catch(() => {});
    }
    await withTimeout(client.endAsync(), 2000).catch(() => client.end(true));
  }

  health(): Health {
    if (!this.client) return { state: 'stopped' };
    if (this.connected) return { state: 'ok' };
    return {
      state: 'degraded',
      reason: `MQTT broker ${this.target.url} unreachable${this.lastError ? ` (${this.lastError})` : ''}; reconnecting every ${this.delayS} s`,
    };
  }

  isConnected(): boolean {
    return this.connected;
  }

  snapshot(): Record<string, unknown> {
    return {
      url: this.target.url,
      base_topic: this.baseTopic,
      connected: this.connected,
      ever_connected: this.everConnected,
      published: this.counters.published,
      reconnects: this.counters.reconnects,
      discovery: this.cfg.mqtt.discovery.enabled ? this.cfg.mqtt.discovery.prefix : null,
    };
  }

  private phase(): string {
    return this.view.phase?.() ?? 'ready';
  }

  private publish(topic: string, payload: string, retain: boolean): void {
    const client = this.client;
    if (!client || !this.connected) return;
    client.publish(topic, payload, { qos: retain ? 1 : 0, retain }, (err) => {
      if (err) this.lastError = describe(err);
    });
    this.counters.published++;
  }

  /** Announces the box: online, info, every retained topic, health. Only once the daemon is ready. */
  private publishAll(): void {
    if (!this.connected || this.phase() !== 'ready') return;
    this.announced = true;
    this.publish(`${this.baseTopic}/bridge/state`, '{"state":"online"}', true);
    this.publish(`${this.baseTopic}/bridge/info`, JSON.stringify(this.info()), true);
    this.flush();
    this.publishHealth();
  }

  private scheduleFlush(): void {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flush();
    }, 50);
  }

  /**
   * Publishes the retained topics whose content changed since the last publication, and clears
   * those no longer wanted. Nothing while the daemon starts or stops: its retained picture is
   * the last one of a running box.
   */
  private flush(): void {
    if (!this.connected || !this.announced || this.phase() !== 'ready') return;
    const entities = this.allEntities();
    const wanted = new Map<string, string>();
    const d = this.cfg.mqtt.discovery;
    if (d.enabled) {
      const configs = discoveryConfigs(
        { prefix: d.prefix, baseTopic: this.baseTopic, box: this.opts.box, version: this.opts.version },
        entities,
      );
      for (const [t, p] of configs) wanted.set(t, p);
    }
    for (const e of entities) wanted.set(`${this.baseTopic}/${e.topic}`, JSON.stringify(e.state));
    let changed = false;
    for (const topic of [...this.known]) {
      if (wanted.has(topic)) continue;
      // an empty retained message deletes the retained one (and removes a discovered HA entity)
      this.publish(topic, '', true);
      this.known.delete(topic);
      this.lastPayload.delete(topic);
      changed = true;
    }
    for (const [topic, payload] of wanted) {
      if (this.lastPayload.get(topic) === payload) continue;
      this.lastPayload.set(topic, payload);
      this.publish(topic, payload, true);
      if (!this.known.has(topic)) {
        this.known.add(topic);
        changed = true;
      }
    }
    if (changed) this.saveKnown();
  }

  private saveKnown(): void {
    const file = join(this.opts.stateDir, RETAINED_FILE);
    try {
      writeFileSync(`${file}.tmp`, `${JSON.stringify({ topics: [...this.known].sort() }, null, 1)}\n`, {
        mode: 0o640,
      });
      renameSync(`${file}.tmp`, file);
    } catch (e) {
      this.log.warn({ file, err: describe(e) }, 'cannot save the list of retained MQTT topics');
    }
  }

  private allEntities(): Entity[] {
    const status = this.view.status();
    const serviceHa = (name: string): HaEntity => ({
      id: `service_${name}`,
      component: 'sensor',
      name: `Service ${name}`,
      device_class: 'enum',
      options: SERVICE_STATES,
      value_template: '{{ value_json.state }}',
      icon: 'mdi:cog',
      entity_category: 'diagnostic',
      attributes: true,
    });
    const own: Entity[] = [
      {
        topic: 'status',
        state: { overall: status.overall, problems: status.problems, version: status.version },
        ha: [
          {
            id: 'health',
            component: 'sensor',
            name: 'Health',
            device_class: 'enum',
            options: ['ok', 'degraded', 'failed'],
            value_template: '{{ value_json.overall }}',
            icon: 'mdi:shield-check',
            attributes: true,
          },
          {
            id: 'problem',
            component: 'binary_sensor',
            name: 'Problem',
            device_class: 'problem',
            value_template: "{{ 'OFF' if value_json.overall == 'ok' else 'ON' }}",
          },
        ],
      },
      ...status.services.map(
        (s): Entity => ({
          topic: `service/${s.name}`,
          state: {
            state: s.health.state,
            ...(s.health.reason ? { reason: s.health.reason } : {}),
            optional: s.optional,
          },
          ha: [serviceHa(s.name)],
        }),
      ),
    ];
    return [...own, ...this.view.entities()];
  }

  private publishEvent(e: EventEntry): void {
    this.publish(
      `${this.baseTopic}/bridge/event`,
      JSON.stringify({
        type: e.kind,
        service: e.service,
        message: e.sentence,
        time: e.ts,
        ...(e.data ? { data: e.data } : {}),
      }),
      false,
    );
    this.scheduleFlush();
  }

  private publishHealth(): void {
    const mem = process.memoryUsage();
    const volatile: Record<string, unknown> = {};
    if (this.phase() === 'ready') for (const e of this.view.entities()) if (e.volatile) volatile[e.topic] = e.volatile;
    this.publish(
      `${this.baseTopic}/bridge/health`,
      JSON.stringify({
        time: new Date().toISOString(),
        phase: this.phase(),
        uptime_s: Math.round(process.uptime()),
        process: { rss_bytes: mem.rss, heap_used_bytes: mem.heapUsed },
        mqtt: { published: this.counters.published, reconnects: this.counters.reconnects },
        overall: this.view.status().overall,
        entities: volatile,
      }),
      false,
    );
  }
}

/** The retained topics an earlier run published (an unreadable or absent file: none). */
function readKnown(file: string): string[] {
  try {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { topics?: unknown };
    return Array.isArray(doc.topics) ? doc.topics.filter((t): t is string => typeof t === 'string' && t !== '') : [];
  } catch {
    return [];
  }
}

function describe(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err?.code ?? err?.message ?? String(e);
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
