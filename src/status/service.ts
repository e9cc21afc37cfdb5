/**
 * The status service: MQTT feed (external broker, or the embedded one), /metrics, the status
 * page. It starts first so that every other service's start is visible in the feed.
 */
import type { Server } from 'node:http';
import type { Config } from '../config/schema.js';
import type { Health, Service, ServiceContext, ServiceFactory } from '../daemon/service.js';
import { VERSION } from '../version.js';
import { type BridgeOptions, type EmbeddedBroker, startEmbeddedBroker } from './broker.js';
import { startHttp } from './http.js';
import { registerDaemonMetrics } from './metrics.js';
import { MqttFeed } from './mqtt-feed.js';

export function baseTopicOf(config: Config): string {
  return config.status.mqtt.base_topic ?? `rackwitness/${config.box.name}`;
}

/** What bridge/info says about the config: section switches and endpoints, never secrets. */
export function configSummary(config: Config): Record<string, unknown> {
  const sections: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) {
    if (v && typeof v === 'object' && 'enabled' in v) sections[k] = { enabled: (v as { enabled: boolean }).enabled };
  }
  return {
    box: config.box.name,
    sections,
    mqtt:
      config.status.mqtt.url ??
      `embedded ${config.status.mqtt.embedded.host}:${config.status.mqtt.embedded.port}${config.status.mqtt.embedded.bridge ? `, bridged to ${config.status.mqtt.embedded.bridge.url}` : ''}`,
    discovery: config.status.mqtt.discovery.enabled ? config.status.mqtt.discovery.prefix : 'off',
    http: config.status.http.enabled ? `${config.status.http.host}:${config.status.http.port}` : 'off',
  };
}

/** The bridge of the embedded broker: credentials read from their files, the will on bridge/state. */
async function bridgeOptions(ctx: ServiceContext): Promise<BridgeOptions> {
  const m = ctx.config.status.mqtt;
  const b = m.embedded.bridge;
  if (!b) throw new Error('status.mqtt.embedded.bridge: not configured');
  const { readFile } = await import('node:fs/promises');
  const read = async (key: string, file: string | undefined) => {
    if (!file) return undefined;
    try {
      return await readFile(file);
    } catch (e) {
      throw new Error(
        `status.mqtt.embedded.bridge.${key}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? e})`,
      );
    }
  };
  const password = (await read('password_file', b.password_file))?.toString('utf8').trim();
  const ca = await read('ca_file', b.ca_file);
  const cert = await read('cert_file', b.cert_file);
  const key = await read('key_file', b.key_file);
  return {
    url: b.url,
    clientId: b.client_id ?? `rackwitness-${ctx.config.box.name}-bridge`,
    ...(b.username ? { username: b.username } : {}),
    ...(password ? { password } : {}),
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    keepaliveS: b.keepalive_s,
    reconnectS: b.reconnect_s,
    connectTimeoutS: m.connect_timeout_s,
    stateTopic: `${baseTopicOf(ctx.config)}/bridge/state`,
    onChange: () => ctx.changed(),
  };
}

export const createStatusService: ServiceFactory = (ctx: ServiceContext): Service => {
  const cfg = ctx.config.status;
  let broker: EmbeddedBroker | undefined;
  let feed: MqttFeed | undefined;
  let http: Server | undefined;
  let offMetrics: (() => void) | undefined;
  let httpAddress: string | undefined;

  return {
    name: 'status',
    async start() {
      offMetrics = registerDaemonMetrics(ctx.metrics, ctx.daemon, ctx.events, () => feed);
      try {
        if (cfg.http.enabled) {
          http = await startHttp(cfg.http.host, cfg.http.port, ctx.metrics, ctx.daemon, ctx.events);
          const a = http.address();
          httpAddress = typeof a === 'object' && a ? `http://${cfg.http.host}:${a.port}` : undefined;
        }
        if (cfg.mqtt.enabled) {
          const clientId = cfg.mqtt.client_id ?? `rackwitness-${ctx.config.box.name}`;
          let target: { url: string; clientId: string; username?: string; password?: string };
          if (cfg.mqtt.url) {
            const password = cfg.mqtt.password_file
              ? (await import('node:fs/promises')).readFile(cfg.mqtt.password_file, 'utf8').then((s) => s.trim())
              : undefined;
            target = {
              url: cfg.mqtt.url,
              clientId,
              ...(cfg.mqtt.username ? { username: cfg.mqtt.username } : {}),
              ...(password ? { password: await password } : {}),
            };
          } else {
            broker = await startEmbeddedBroker(
              cfg.mqtt.embedded.host,
              cfg.mqtt.embedded.port,
              clientId,
              cfg.mqtt.embedded.bridge ? await bridgeOptions(ctx) : undefined,
            );
            const host = broker.host === '0.0.0.0' ? '127.0.0.1' : broker.host;
            target = { url: `mqtt://${host}:${broker.port}`, ...broker.publisher };
          }
          feed = new MqttFeed(
            ctx.config.status,
            target,
            baseTopicOf(ctx.config),
            ctx.daemon,
            ctx.events,
            () => ({
              version: VERSION,
              box: ctx.config.box.name,
              demo: ctx.demo,
              config: configSummary(ctx.config),
              services: ctx.daemon.status().services.map((s) => s.name),
            }),
            ctx.log,
            { box: ctx.config.box.name, version: VERSION, stateDir: ctx.stateDir },
          );
          await feed.start();
        }
      } catch (e) {
        await this.stop();
        throw e;
      }
    },
    async stop() {
      await feed?.stop().catch(() => {});
      feed = undefined;
      await broker?.close().catch(() => {});
      broker = undefined;
      if (http) {
        const h = http;
        http = undefined;
        h.closeAllConnections?.();
        await new Promise<void>((r) => h.close(() => r()));
      }
      offMetrics?.();
      offMetrics = undefined;
    },
    health(): Health {
      const h = feed ? feed.health() : { state: 'ok' as const };
      const b = broker?.bridge;
      if (h.state !== 'ok' || !b || b.connected) return h;
      // the box runs, but monitoring on the external broker would not see it die
      return {
        state: 'degraded',
        reason: `MQTT bridge to ${b.url} is not connected${b.lastError ? ` (${b.lastError})` : ''}; retrying every ${cfg.mqtt.embedded.bridge?.reconnect_s} s`,
      };
    },
    snapshot() {
      return {
        mqtt: feed?.snapshot() ?? { enabled: false },
        embedded_broker: broker ? `${broker.host}:${broker.port}` : null,
        ...(broker?.bridge ? { bridge: { ...broker.bridge } } : {}),
        http: httpAddress ?? null,
      };
    },
  };
};
