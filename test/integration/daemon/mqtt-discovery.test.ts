/**
 * The MQTT feed as Home Assistant and monitoring see it (issue #14, item 2), with the compiled
 * daemon and the real mosquitto_sub:
 *  - the demo box (every service, real PostgreSQL when installed) publishes discovery configs that
 *    pass Home Assistant's rules (test/fixtures/ha-discovery.ts), one per entity the issue lists,
 *    and every template renders, with the real Jinja2, a state HA accepts from the retained state;
 *  - an idle box republishes no retained topic while its loops run (counted over a window of
 *    bridge/health messages, which also show the loops ran);
 *  - a restart shows no "starting" state and no flap; turning discovery off removes the configs.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startDaemon } from '../../fixtures/cli.js';
import {
  checkDiscoveryMessage,
  checkDiscoverySet,
  type ParsedDiscovery,
  renderTemplates,
  stateProblem,
} from '../../fixtures/ha-discovery.js';
import { type MqttMessage, type MqttWatch, mosquittoSub, startMosquitto, watchMqtt } from '../../fixtures/mosquitto.js';
import { cleanupDir, freePort, type Spawned, tempDir } from '../../fixtures/proc.js';

const BASE = 'rackwitness/demo';
const HEALTH = `${BASE}/bridge/health`;
const isHealth = (m: MqttMessage) => m.topic === HEALTH;

describe('the demo box on its embedded broker', () => {
  let daemon: Spawned;
  let watch: MqttWatch;
  let socket: string;

  beforeAll(async () => {
    const dir = cleanupDir(tempDir('rw-mqtt-demo-'));
    const mqttPort = await freePort();
    socket = join(dir, 'control.sock');
    daemon = await startDaemon(['--demo'], {
      RACKWITNESS_BOX_STATE_DIR: join(dir, 'state'),
      RACKWITNESS_CONTROL_SOCKET: socket,
      RACKWITNESS_STATUS_MQTT_EMBEDDED_PORT: String(mqttPort),
      RACKWITNESS_STATUS_HTTP_PORT: String(await freePort()),
      RACKWITNESS_FENCING_API_PORT: String(await freePort()),
      // the window of the idle test is counted in health messages; the fencing monitor reads power
      // every second, so each window holds monitor passes, observer polls and feeds
      RACKWITNESS_STATUS_HEALTH_INTERVAL_S: '1',
      RACKWITNESS_FENCING_MONITOR_INTERVAL_S: '1',
    });
    watch = await watchMqtt(mqttPort, [`${BASE}/#`, 'homeassistant/#']);
    // two live health messages: every retained message came before them
    const first = await watch.next(isHealth);
    await watch.next(isHealth, watch.all().indexOf(first) + 1);
  }, 90_000);

  afterAll(async () => {
    await watch?.stop();
    daemon?.child.kill('SIGTERM');
    await daemon?.exited;
  });

  it("publishes Home Assistant discovery that passes HA's rules, one entity per item of the issue, each state valid", () => {
    const retained = new Map<string, string>();
    for (const m of watch.all()) if (m.retained) retained.set(m.topic, m.payload);
    const problems: string[] = [];
    const parsed: ParsedDiscovery[] = [];
    for (const [topic, payload] of retained) {
      if (!topic.startsWith('homeassistant/')) continue;
      const r = checkDiscoveryMessage('homeassistant', topic, payload);
      problems.push(...r.problems);
      if (r.parsed?.config) parsed.push(r.parsed);
    }
    problems.push(...checkDiscoverySet(parsed));
    expect(problems).toEqual([]);

    // one device (the box); the entities the issue asks for
    expect(
      new Set(
        parsed.map((p) => JSON.stringify((p.config as { device: { identifiers: string[] } }).device.identifiers)),
      ),
    ).toEqual(new Set(['["rackwitness_demo"]']));
    const ids = parsed.map((p) => `${p.component}/${p.objectId}`).sort();
    expect(ids).toEqual(
      [
        'sensor/health',
        'binary_sensor/problem',
        ...['status', 'arbitrator', 'fencing', 'pgsql', 'watchdog'].map((s) => `sensor/service_${s}`),
        ...['node-a', 'node-b'].flatMap((t) => [`sensor/fencing_${t}_power`, `sensor/fencing_${t}_last_result`]),
        'sensor/ticket_db_leader',
        'sensor/pgsql_primary',
        'binary_sensor/pgsql_rack_problem',
        ...['node-a', 'node-b'].flatMap((n) => [
          `sensor/pgsql_${n}_role`,
          `sensor/pgsql_${n}_lag`,
          `sensor/pgsql_${n}_replay_delay`,
        ]),
        'binary_sensor/watchdog_feeding',
      ].sort(),
    );

    // every template, rendered by Jinja2 from the retained state HA would read, gives a valid state
    const cases: Array<{ template: string; payload: string; judge: (r: string) => string | undefined }> = [];
    for (const p of parsed) {
      const c = p.config as Record<string, unknown>;
      const state = retained.get(String(c.state_topic));
      if (state === undefined) {
        problems.push(`${p.topic}: no retained state on ${String(c.state_topic)}`);
        continue;
      }
      cases.push({
        template: String(c.value_template),
        payload: state,
        judge: (r) => stateProblem(p.component, c, r),
      });
      if (c.json_attributes_topic !== undefined) {
        const attrs = JSON.parse(retained.get(String(c.json_attributes_topic)) ?? 'null');
        if (typeof attrs !== 'object' || attrs === null || Array.isArray(attrs))
          problems.push(`${p.topic}: the attributes topic holds no JSON object`);
      }
      for (const a of c.availability as Array<{ topic: string; value_template: string }>)
        cases.push({
          template: a.value_template,
          payload: retained.get(a.topic) ?? '',
          judge: (r) => (r === 'online' ? undefined : `availability renders "${r}", not online`),
        });
    }
    const rendered = renderTemplates(cases);
    cases.forEach((c, i) => {
      const why = c.judge(rendered[i] ?? '');
      if (why) problems.push(`${c.template} on ${c.payload}: ${why}`);
    });
    expect(problems).toEqual([]);
    expect(rendered.length).toBeGreaterThan(40);
  });

  it('republishes no retained topic on an idle box while its loops run (a window of 16 health messages)', async () => {
    const window = async (n: number) => {
      const start = watch.all().length;
      let at = start;
      const health: MqttMessage[] = [];
      for (let i = 0; i < n; i++) {
        const h = await watch.next(isHealth, at);
        health.push(h);
        at = watch.all().indexOf(h, at) + 1;
      }
      const republished = watch
        .all()
        .slice(start, at)
        .filter((m) => !m.retained && m.topic !== HEALTH && m.topic !== `${BASE}/bridge/event`);
      return { health, republished };
    };
    // The PostgreSQL pair the demo just created still writes a little WAL after start (its first
    // checkpoint, then a standby snapshot ~15 s later: LOG_SNAPSHOT_INTERVAL_MS): real changes of
    // the node topics. So the window is 16 health periods, longer than that interval, and it is
    // retried (bounded) until one is quiet. A topic republished every poll, monitor pass or feed
    // period can never give a quiet window.
    let w = await window(16);
    for (let i = 0; i < 4 && w.republished.length > 0; i++) w = await window(16);
    const { health, republished } = w;
    expect(republished).toEqual([]);
    // the loops did run: the observer polled and the fencing monitor read power during the window,
    // which the volatile part of bridge/health shows
    const docs = health.map((h) => JSON.parse(h.payload) as { phase: string; entities: Record<string, never> });
    expect(docs.every((d) => d.phase === 'ready')).toBe(true);
    const distinct = (f: (d: (typeof docs)[number]) => unknown) => new Set(docs.map(f)).size;
    // 16 s: about 8 polls (every 2 s) and 16 monitor passes (every 1 s); allow for scheduling
    expect(distinct((d) => (d.entities['pgsql/rack'] as { at: string } | undefined)?.at)).toBeGreaterThanOrEqual(4);
    expect(
      distinct((d) => (d.entities['fencing/node-a'] as { power_read_at: string } | undefined)?.power_read_at),
    ).toBeGreaterThanOrEqual(8);
  }, 150_000);

  it('republishes a retained topic when its content changes: a fence updates the last fence result', async () => {
    const from = watch.all().length;
    const r = await runCli(['fence', 'node-b', '--action', 'off', '--json', '--socket', socket]);
    expect(r.code).toBe(0);
    const m = await watch.next(
      (x) => x.topic === `${BASE}/fencing/node-b` && JSON.parse(x.payload).last_operation?.result === 'success',
      from,
    );
    const config = JSON.parse(
      watch.all().find((x) => x.topic === 'homeassistant/sensor/rackwitness_demo/fencing_node-b_last_result/config')
        ?.payload ?? '{}',
    );
    expect(renderTemplates([{ template: config.value_template, payload: m.payload }])).toEqual(['success']);
  }, 60_000);
});

describe('restarts and discovery switched off (external broker)', () => {
  it('shows no "starting" state and no flap on restart; turning discovery off removes every config', async () => {
    const broker = await startMosquitto();
    const dir = cleanupDir(tempDir('rw-mqtt-restart-'));
    const file = join(dir, 'rackwitness.yaml');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      file,
      `box:\n  name: rack7\n  state_dir: state\ncontrol:\n  socket: run/control.sock\nlog:\n  format: json\nstatus:\n  http:\n    host: 127.0.0.1\n    port: ${await freePort()}\n  mqtt:\n    url: ${broker.url}\n`,
    );
    const base = 'rackwitness/rack7';
    const w = await watchMqtt(broker.port, [`${base}/#`, 'homeassistant/#']);
    const online = (from: number) =>
      w.next((m) => m.topic === `${base}/bridge/state` && m.payload.includes('online'), from);
    const run = async (env: Record<string, string> = {}) => {
      const from = w.all().length;
      const d = await startDaemon(['--config', file], env);
      const on = await online(from);
      // its retained state follows "online" on the same connection, the health message after it
      await w.next((m) => m.topic === `${base}/bridge/health`, w.all().indexOf(on) + 1);
      return d;
    };
    const stop = async (d: Spawned) => {
      const from = w.all().length;
      d.child.kill('SIGTERM');
      expect((await d.exited).code).toBe(0);
      await w.next((m) => m.topic === `${base}/bridge/state` && m.payload.includes('offline'), from);
    };

    await stop(await run());
    const afterFirst = w.all().length;
    await stop(await run());
    const msgs = w.all();
    const retainedKinds = msgs.filter((m) => /\/(status|service\/[^/]+)$/.test(m.topic));
    expect(retainedKinds.length).toBeGreaterThan(0);
    expect(retainedKinds.filter((m) => /starting|stopped|degraded|failed/.test(m.payload))).toEqual([]);
    expect(msgs.filter((m) => m.topic === `${base}/bridge/state`).map((m) => m.payload)).toEqual([
      '{"state":"online"}',
      '{"state":"offline"}',
      '{"state":"online"}',
      '{"state":"offline"}',
    ]);
    // the second run published the same content: no status value differs between the runs
    const statusOf = (list: MqttMessage[]) => list.filter((m) => m.topic === `${base}/status`).map((m) => m.payload);
    expect(new Set(statusOf(msgs.slice(afterFirst)))).toEqual(new Set(statusOf(msgs.slice(0, afterFirst))));
    const configs = new Set(msgs.filter((m) => m.topic.startsWith('homeassistant/')).map((m) => m.topic));
    expect(configs.size).toBeGreaterThanOrEqual(4);
    expect(await mosquittoSub(broker.port, 'homeassistant/#')).toHaveLength(configs.size);

    // discovery turned off: every config published before is removed (empty retained payload)
    const from = w.all().length;
    const d = await run({ RACKWITNESS_STATUS_MQTT_DISCOVERY_ENABLED: 'false' });
    for (const t of configs) await w.next((m) => m.topic === t && m.payload === '', from);
    expect(await mosquittoSub(broker.port, 'homeassistant/#')).toEqual([]);
    // the box's own retained state is still there
    expect(await mosquittoSub(broker.port, `${base}/status`)).toEqual([
      `${base}/status {"overall":"ok","problems":[],"version":"${JSON.parse(msgs.find((m) => m.topic === `${base}/status`)?.payload ?? '{}').version}"}`,
    ]);
    await stop(d);
    await w.stop();
  }, 120_000);
});
