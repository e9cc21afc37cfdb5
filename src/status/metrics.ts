/**
 * The daemon's own metrics. Capabilities register theirs on the same registry. Gauges read the
 * in-memory snapshot at scrape time (collect), so a scrape never touches a device.
 */
import { Counter, collectDefaultMetrics, Gauge, type Registry } from 'prom-client';
import type { EventLog } from '../daemon/events.js';
import type { DaemonView } from '../daemon/service.js';
import { VERSION } from '../version.js';
import type { MqttFeed } from './mqtt-feed.js';

/** prom-client default metrics that are not exposed (see registerDaemonMetrics). */
export const DROPPED_DEFAULTS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
] as const;

export function registerDaemonMetrics(
  registry: Registry,
  view: DaemonView,
  events: EventLog,
  feed: () => MqttFeed | undefined,
): () => void {
  collectDefaultMetrics({ register: registry });
  // prom-client exports these totals as gauges named *_total, which promtool rejects ("non-counter
  // metrics should not have _total suffix"); the same numbers are sum() of nodejs_active_handles,
  // nodejs_active_requests and nodejs_active_resources (by type), which stay.
  for (const n of DROPPED_DEFAULTS) registry.removeSingleMetric(n);
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
  // Counters read from the feed at scrape time; a new feed (reconnect to another broker) keeps
  // counting from the last value, so the exposed counter never goes down.
  const fromFeed = (name: string, help: string, read: (f: MqttFeed) => number) => {
    let base = 0;
    let last = 0;
    let seen: MqttFeed | undefined;
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        const f = feed();
        if (f && f !== seen) {
          base += last;
          last = 0;
          seen = f;
        }
        if (f) last = read(f);
        this.reset();
        this.inc(base + last);
      },
    });
  };
  fromFeed(
    'rackwitness_mqtt_messages_published_total',
    'MQTT messages the status feed published since start.',
    (f) => f.counters.published,
  );
  fromFeed(
    'rackwitness_mqtt_reconnects_total',
    'Reconnect attempts to the MQTT broker since start.',
    (f) => f.counters.reconnects,
  );
  return off;
}
