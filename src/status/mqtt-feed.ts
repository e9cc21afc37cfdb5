/**
 * The MQTT status feed, zigbee2mqtt-style:
 *   <base>/bridge/state   retained {"state":"online"|"offline"}; "offline" is the last will
 *   <base>/bridge/info    retained: version, box, services, config summary (no secrets)
 *   <base>/bridge/health  periodic: uptime, memory, feed counters
 *   <base>/bridge/event   every events-log entry (not retained)
 *   <base>/<entity>       retained JSON state per entity (service health, targets, tickets...)
 * A broker that goes away does not stop the box: the client reconnects with exponential backoff
 * and the feed reports degraded until it is back, then republishes every retained topic.
 */
import { readFileSync } from 'node:fs';
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { EventEntry, EventLog } from '../daemon/events.js';
import type { DaemonView, Entity, Health } from '../daemon/service.js';
import type { StatusConfig } from './config.js';

export interface FeedTarget {
  url: string;
  clientId: string;
  username?: string;
  password?: string;
}

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
  private readonly lastPayload = new Map<string, string>();
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
  ) {
    this.delayS = cfg.mqtt.reconnect_min_s;
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
      this.publishAll();
    });
    client.on('close', () => {
      if (this.connected && !this.stopping)
        this.log.warn({ url: this.target.url }, 'MQTT broker connection lost; reconnecting');
      this.connected = false;
    });
    client.on('reconnect', () => {
      this.counters.reconnects++;
      this.delayS = Math.min(m.reconnect_max_s, this.delayS * 2);
      client.options.reconnectPeriod = this.delayS * 1000;
    });
    client.on('error', (e) => {
      this.lastError = describe(e);
    });
    this.unsubscribe.push(this.view.onChange(() => this.scheduleFlush()));
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
    };
  }

  private publish(topic: string, payload: string, retain: boolean): void {
    const client = this.client;
    if (!client || !this.connected) return;
    client.publish(topic, payload, { qos: retain ? 1 : 0, retain }, (err) => {
      if (err) this.lastError = describe(err);
    });
    this.counters.published++;
  }

  private publishAll(): void {
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

  /** Publishes the entities whose state changed since the last publication. */
  private flush(): void {
    if (!this.connected) return;
    for (const e of this.allEntities()) {
      const payload = JSON.stringify(e.state);
      const topic = `${this.baseTopic}/${e.topic}`;
      if (this.lastPayload.get(topic) === payload) continue;
      this.lastPayload.set(topic, payload);
      this.publish(topic, payload, true);
    }
  }

  private allEntities(): Entity[] {
    const status = this.view.status();
    const own: Entity[] = [
      { topic: 'status', state: { overall: status.overall, problems: status.problems, version: status.version } },
      ...status.services.map((s) => ({
        topic: `service/${s.name}`,
        state: { state: s.health.state, ...(s.health.reason ? { reason: s.health.reason } : {}), optional: s.optional },
      })),
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
    this.publish(
      `${this.baseTopic}/bridge/health`,
      JSON.stringify({
        time: new Date().toISOString(),
        uptime_s: Math.round(process.uptime()),
        process: { rss_bytes: mem.rss, heap_used_bytes: mem.heapUsed },
        mqtt: { published: this.counters.published, reconnects: this.counters.reconnects },
        overall: this.view.status().overall,
      }),
      false,
    );
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
