/**
 * The MQTT feed (src/status/mqtt-feed.ts) in process, on the real embedded broker bridged to a real
 * mosquitto, with a daemon view the test drives: nothing retained while the daemon starts; all of
 * it once ready; an unchanged entity is not republished however often a change is signalled; an
 * entity that disappears is cleared (state and discovery config, through the bridge too) and the
 * list of retained topics in the state dir follows.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { EventLog } from '../../../src/daemon/events.js';
import type { DaemonPhase, DaemonView, Entity } from '../../../src/daemon/service.js';
import { startEmbeddedBroker } from '../../../src/status/broker.js';
import { statusConfigSchema } from '../../../src/status/config.js';
import { MqttFeed, RETAINED_FILE } from '../../../src/status/mqtt-feed.js';
import { type MqttMessage, mosquittoSub, startMosquitto, watchMqtt } from '../../fixtures/mosquitto.js';
import { cleanupDir, freePort, onCleanup, tempDir } from '../../fixtures/proc.js';

const BASE = 'rw/t1';
const entity = (name: string, value: number): Entity => ({
  topic: `thing/${name}`,
  state: { value },
  volatile: { read_at: new Date().toISOString() },
  ha: [{ id: `thing_${name}`, component: 'sensor', name: `Thing ${name}`, value_template: '{{ value_json.value }}' }],
});

describe('the feed on the embedded broker, bridged', () => {
  const stops: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
  });

  it('holds retained state until ready, publishes only changes, clears what disappears (also through the bridge)', async () => {
    const external = await startMosquitto();
    const stateDir = cleanupDir(tempDir('rw-feed-'));
    const port = await freePort();
    const broker = await startEmbeddedBroker('127.0.0.1', port, 'feed-test', {
      url: external.url,
      clientId: 'feed-test-bridge',
      keepaliveS: 10,
      reconnectS: 0.5,
      connectTimeoutS: 5,
      stateTopic: `${BASE}/bridge/state`,
    });
    stops.push(() => broker.close());
    expect(broker.bridge?.connected).toBe(true);

    let phase: DaemonPhase = 'starting';
    let entities = [entity('a', 1), entity('b', 2)];
    const listeners = new Set<(s: string) => void>();
    const view: DaemonView = {
      status: () => ({
        box: 't1',
        version: '1.0.0',
        demo: false,
        pid: process.pid,
        started_at: new Date().toISOString(),
        uptime_s: 0,
        overall: 'ok',
        problems: [],
        services: [],
      }),
      phase: () => phase,
      entities: () => entities,
      onChange: (l) => {
        listeners.add(l);
        return () => listeners.delete(l);
      },
    };
    const changed = () => {
      for (const l of listeners) l('test');
    };
    const cfg = statusConfigSchema.parse({ health_interval_s: 1 });
    const events = new EventLog(undefined, 100);
    const feed = new MqttFeed(
      cfg,
      { url: `mqtt://127.0.0.1:${port}`, ...broker.publisher },
      BASE,
      view,
      events,
      () => ({ box: 't1' }),
      pino({ level: 'silent' }),
      { box: 't1', version: '1.0.0', stateDir },
    );
    const w = await watchMqtt(port, [`${BASE}/#`, 'homeassistant/#']);
    onCleanup(() => w.stop());
    await feed.start();
    stops.push(() => feed.stop());
    const isHealth = (m: MqttMessage) => m.topic === `${BASE}/bridge/health`;

    // starting: health (not retained) goes out, nothing retained does
    const h0 = await w.next(isHealth);
    expect(JSON.parse(h0.payload)).toMatchObject({ phase: 'starting', entities: {} });
    expect(w.all().filter((m) => m.topic !== `${BASE}/bridge/health`)).toEqual([]);
    expect((await mosquittoSub(port, '#')).filter((l) => !l.startsWith(`${BASE}/bridge/health `))).toEqual([]);

    // ready: online, the entities and their discovery configs
    phase = 'ready';
    changed();
    await w.next((m) => m.topic === `${BASE}/bridge/state` && m.payload === '{"state":"online"}');
    const cfgA = 'homeassistant/sensor/rackwitness_t1/thing_a/config';
    const cfgB = 'homeassistant/sensor/rackwitness_t1/thing_b/config';
    await w.next((m) => m.topic === cfgB);
    const h1 = await w.next((m) => isHealth(m) && JSON.parse(m.payload).phase === 'ready');
    expect(JSON.parse(h1.payload).entities).toEqual({
      'thing/a': { read_at: expect.any(String) },
      'thing/b': { read_at: expect.any(String) },
    });
    const known = () =>
      (JSON.parse(readFileSync(join(stateDir, RETAINED_FILE), 'utf8')) as { topics: string[] }).topics;
    const own = [
      'homeassistant/binary_sensor/rackwitness_t1/problem/config',
      'homeassistant/sensor/rackwitness_t1/health/config',
    ];
    expect(known()).toEqual([...own, cfgA, cfgB, `${BASE}/status`, `${BASE}/thing/a`, `${BASE}/thing/b`]);

    // changes signalled with the same content (the volatile part moves): nothing retained again
    const mark = w.all().length;
    entities = [entity('a', 1), entity('b', 2)];
    changed();
    changed();
    let at = mark;
    for (let i = 0; i < 2; i++) at = w.all().indexOf(await w.next(isHealth, at)) + 1;
    expect(
      w
        .all()
        .slice(mark, at)
        .filter((m) => !isHealth(m)),
    ).toEqual([]);

    // b disappears: its state topic and its config are cleared, here and on the external broker
    entities = [entity('a', 1)];
    changed();
    await w.next((m) => m.topic === `${BASE}/thing/b` && m.payload === '', at);
    await w.next((m) => m.topic === cfgB && m.payload === '', at);
    expect(known()).toEqual([...own, cfgA, `${BASE}/status`, `${BASE}/thing/a`]);
    expect((await mosquittoSub(external.port, `${BASE}/thing/#`)).sort()).toEqual([`${BASE}/thing/a {"value":1}`]);
    expect((await mosquittoSub(external.port, 'homeassistant/#')).map((l) => l.split(' ')[0]).sort()).toEqual(
      [...own, cfgA].sort(),
    );

    // a changes: republished, once
    entities = [entity('a', 5)];
    changed();
    await w.next((m) => m.topic === `${BASE}/thing/a` && m.payload === '{"value":5}', at);
    expect(await mosquittoSub(external.port, `${BASE}/thing/a`)).toEqual([`${BASE}/thing/a {"value":5}`]);

    // a clean stop: offline on both brokers
    await feed.stop();
    await broker.close();
    expect(await mosquittoSub(external.port, `${BASE}/bridge/state`)).toEqual([
      `${BASE}/bridge/state {"state":"offline"}`,
    ]);
  }, 60_000);
});
