/**
 * The daemon's own metrics. Capabilities register theirs on the same registry. Gauges read the
 * in-memory snapshot at scrape time (collect), so a scrape never touches a device.
 */
import { Counter, collectDefaultMetrics, Gauge, type Registry } from 'prom-client';
import type { EventLog } from '../daemon/events.js';
import type { DaemonView } from '../daemon/service.js';
import { VERSION } from '../version.js';
import type { MqttFeed } from './mqtt-feed.js';

export function registerDaemonMetrics(
  registry: Registry,
  view: DaemonView,
  events: EventLog,
  feed: () => MqttFeed | undefined,
): () => void {
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'rackwitness_build_info',
    help: 'Build information; the value is always 1.',
    labelNames: ['version', 'node_version'],
    registers: [registry],
  }).set({ version: VERSION, node_version: process.version }, 1);
  const started = Date.now() / 1000;
  new Gauge({
    name: 'rackwitness_start_time_seconds',
    help: 'Unix time the daemon started.',
    registers: [registry],
    collect() {
      this.set(started);
    },
  });
  new Gauge({
    name: 'rackwitness_service_healthy',
    help: '1 when the service reports ok, 0 when starting, degraded, failed or stopped.',
    labelNames: ['service'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of view.status().services) this.set({ service: s.name }, s.health.state === 'ok' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'rackwitness_healthy',
    help: '1 when every service of the box is ok (what `rackwitness status` exits 0 for).',
    registers: [registry],
    collect() {
      this.set(view.status().overall === 'ok' ? 1 : 0);
    },
  });
  const eventsTotal = new Counter({
    name: 'rackwitness_events_total',
    help: 'Decisions written to the events log, by service.',
    labelNames: ['service'],
    registers: [registry],
  });
  const off = events.onEvent((e) => eventsTotal.inc({ service: e.service }));
  new Gauge({
    name: 'rackwitness_mqtt_connected',
    help: '1 while the status feed is connected to its MQTT broker.',
    registers: [registry],
    collect() {
      this.set(feed()?.isConnected() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'rackwitness_mqtt_messages_published',
    help: 'MQTT messages published since start (a counter exposed as gauge of the feed counter).',
    registers: [registry],
    collect() {
      this.set(feed()?.counters.published ?? 0);
    },
  });
  new Gauge({
    name: 'rackwitness_mqtt_reconnects',
    help: 'Reconnect attempts to the MQTT broker since start.',
    registers: [registry],
    collect() {
      this.set(feed()?.counters.reconnects ?? 0);
    },
  });
  return off;
}
