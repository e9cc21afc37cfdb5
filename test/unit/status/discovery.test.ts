/**
 * Home Assistant discovery configs (src/status/discovery.ts) against Home Assistant's rules
 * (test/fixtures/ha-discovery.ts). First the rules themselves: each one rejects the message it is
 * about, so a pass below means something. The whole set the running box publishes is checked in
 * test/integration/daemon/mqtt-discovery.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { Entity } from '../../../src/daemon/service.js';
import { discoveryConfigs, discoveryId } from '../../../src/status/discovery.js';
import {
  checkDiscoveryMessage,
  checkDiscoverySet,
  type ParsedDiscovery,
  renderTemplates,
  stateProblem,
} from '../../fixtures/ha-discovery.js';

const P = 'homeassistant';
const good = {
  name: 'Lag',
  unique_id: 'x_lag',
  state_topic: 'box/pg',
  value_template: '{{ value_json.lag }}',
  device_class: 'data_size',
  state_class: 'measurement',
  unit_of_measurement: 'B',
  availability: [{ topic: 'box/bridge/state', value_template: '{{ value_json.state }}' }],
  availability_mode: 'all',
  device: { identifiers: ['x'], name: 'rackwitness x' },
  origin: { name: 'rackwitness' },
};
const check = (topic: string, payload: unknown) =>
  checkDiscoveryMessage(P, topic, typeof payload === 'string' ? payload : JSON.stringify(payload)).problems;

describe("Home Assistant's discovery rules (the checker)", () => {
  it('accepts a valid config, an abbreviated one with "~", and an empty payload (removal)', () => {
    expect(check('homeassistant/sensor/node/lag/config', good)).toEqual([]);
    // the abbreviated example shape of HA's documentation
    expect(
      check('homeassistant/sensor/bedroom_t/config', {
        '~': 'hass/bedroom',
        stat_t: '~/state',
        dev_cla: 'temperature',
        unit_of_meas: '°C',
        val_tpl: '{{ value_json.temperature }}',
        uniq_id: 'temp01ae_t',
        dev: { ids: ['bedroom01ae'], name: 'Bedroom' },
      }),
    ).toEqual([]);
    expect(check('homeassistant/sensor/node/lag/config', '')).toEqual([]);
  });

  it.each([
    ['a topic id outside [a-zA-Z0-9_-]', 'homeassistant/sensor/node/lag.bytes/config', good, /illegal discovery topic/],
    ['a topic under another prefix', 'hass/sensor/node/lag/config', good, /not under the discovery prefix/],
    ['an unsupported component', 'homeassistant/gauge/node/lag/config', good, /gauge is not supported/],
    ['a payload that is not an object', 'homeassistant/sensor/node/lag/config', '[1]', /not a JSON object/],
    ['a missing state_topic', 'homeassistant/sensor/n/o/config', { ...good, state_topic: undefined }, /state_topic/],
    ['a wildcard in the middle', 'homeassistant/sensor/n/o/config', { ...good, state_topic: 'a/#/b' }, /"#"/],
    ['an unknown (misspelt) key', 'homeassistant/sensor/n/o/config', { ...good, unit: 'B' }, /unknown key unit/],
    [
      'availability_topic with availability',
      'homeassistant/sensor/n/o/config',
      { ...good, availability_topic: 'a' },
      /exclusive/,
    ],
    [
      'a device without identifiers or connections',
      'homeassistant/sensor/n/o/config',
      { ...good, device: { name: 'rackwitness x' } },
      /at least one identifying value/,
    ],
    [
      'a device without unique_id',
      'homeassistant/sensor/n/o/config',
      { ...good, unique_id: undefined },
      /without a unique_id/,
    ],
    [
      'an origin without name',
      'homeassistant/sensor/n/o/config',
      { ...good, origin: { sw: '1' } },
      /origin needs a name/,
    ],
    ['an icon without prefix', 'homeassistant/sensor/n/o/config', { ...good, icon: 'database' }, /prefix:name/],
    [
      'a unit the device class does not allow',
      'homeassistant/sensor/n/o/config',
      { ...good, unit_of_measurement: 's' },
      /unit s is not valid together with device class data_size/,
    ],
    [
      'an unknown device class',
      'homeassistant/sensor/n/o/config',
      { ...good, device_class: 'replication_lag' },
      /unknown sensor device_class/,
    ],
    [
      'options on a non-enum sensor',
      'homeassistant/sensor/n/o/config',
      { ...good, options: ['a'] },
      /options is not allowed together with state_class|device class enum/,
    ],
    [
      'an enum sensor without options',
      'homeassistant/sensor/n/o/config',
      { ...good, device_class: 'enum', state_class: undefined, unit_of_measurement: undefined },
      /needs its options/,
    ],
    [
      'a state class the device class does not take',
      'homeassistant/sensor/n/o/config',
      { ...good, device_class: 'temperature', unit_of_measurement: '°C', state_class: 'total' },
      /state class total is not valid for device class temperature/,
    ],
    [
      'an unknown binary_sensor device class',
      'homeassistant/binary_sensor/n/o/config',
      { ...good, device_class: 'feeding', state_class: undefined, unit_of_measurement: undefined },
      /unknown binary_sensor device_class/,
    ],
    [
      'entity category config on a sensor',
      'homeassistant/sensor/n/o/config',
      { ...good, entity_category: 'config' },
      /config is invalid for sensors/,
    ],
    [
      'an entity name starting with the device name',
      'homeassistant/sensor/n/o/config',
      { ...good, name: 'rackwitness x lag' },
      /starts with the device name/,
    ],
  ])('rejects %s', (_what, topic, payload, re) => {
    const problems = check(topic, payload);
    expect(problems.join('\n')).toMatch(re);
  });

  it('rejects a unique_id used twice and one device described two ways', () => {
    const a = checkDiscoveryMessage(P, 'homeassistant/sensor/n/a/config', JSON.stringify(good)).parsed;
    const b = checkDiscoveryMessage(
      P,
      'homeassistant/sensor/n/b/config',
      JSON.stringify({ ...good, device: { identifiers: ['x'], name: 'other' } }),
    ).parsed;
    expect(checkDiscoverySet([a, b] as ParsedDiscovery[]).join('\n')).toMatch(
      /already used[\s\S]*described differently/,
    );
  });

  it('renders templates with the real Jinja2 and judges the state as HA would', () => {
    const [on, enumv, none, num, broken] = renderTemplates([
      { template: "{{ 'ON' if value_json.feeding else 'OFF' }}", payload: '{"feeding":true}' },
      { template: "{{ value_json.r.result if value_json.r else 'none' }}", payload: '{"r":null}' },
      { template: "{{ value_json.lag if value_json.lag is not none else 'None' }}", payload: '{"lag":null}' },
      { template: "{{ value_json.lag if value_json.lag is not none else 'None' }}", payload: '{"lag":42}' },
      { template: '{{ value_json.lag ', payload: '{}' },
    ]);
    expect([on, enumv, none, num]).toEqual(['ON', 'none', 'None', '42']);
    expect(stateProblem('binary_sensor', {}, on ?? '')).toBeUndefined();
    expect(stateProblem('binary_sensor', {}, 'true')).toMatch(/neither ON nor OFF/);
    expect(stateProblem('sensor', { device_class: 'enum', options: ['ok'] }, 'none')).toMatch(/not one of/);
    expect(stateProblem('sensor', good, none ?? '')).toBeUndefined();
    expect(stateProblem('sensor', good, 'lots')).toMatch(/not numeric/);
    expect(stateProblem('sensor', good, broken ?? '')).toMatch(/template fails: ERROR: TemplateSyntaxError/);
  });
});

describe('discovery configs of the box', () => {
  const ctx = { prefix: 'homeassistant', baseTopic: 'rackwitness/rack 1', box: 'rack 1', version: '9.9.9' };
  const entities: Entity[] = [
    {
      topic: 'pgsql/node.a',
      state: { role: 'standby', lag_bytes: null, lag_seconds: 0.5 },
      ha: [
        {
          id: 'pgsql_node.a_role',
          component: 'sensor',
          name: 'PostgreSQL node.a role',
          device_class: 'enum',
          options: ['primary', 'standby', 'down', 'unknown'],
          value_template: '{{ value_json.role }}',
          icon: 'mdi:database',
          entity_category: 'diagnostic',
          attributes: true,
        },
        {
          id: 'pgsql_node.a_lag',
          component: 'sensor',
          name: 'PostgreSQL node.a lag',
          device_class: 'data_size',
          state_class: 'measurement',
          unit_of_measurement: 'B',
          value_template: "{{ value_json.lag_bytes if value_json.lag_bytes is not none else 'None' }}",
        },
        // same id once sanitised: the first one wins, no unique_id is published twice
        { id: 'pgsql_node_a_lag', component: 'sensor', name: 'Dup', value_template: '{{ 1 }}' },
      ],
    },
    {
      topic: 'watchdog',
      state: { feeding: false },
      ha: [
        {
          id: 'watchdog_feeding',
          component: 'binary_sensor',
          name: 'Watchdog feeding',
          device_class: 'running',
          value_template: "{{ 'ON' if value_json.feeding else 'OFF' }}",
        },
      ],
    },
    { topic: 'no-ha', state: {} },
  ];

  it('passes every rule, with ids sanitised, one device and availability on bridge/state', () => {
    const configs = discoveryConfigs(ctx, entities);
    expect([...configs.keys()]).toEqual([
      'homeassistant/sensor/rackwitness_rack_1/pgsql_node_a_role/config',
      'homeassistant/sensor/rackwitness_rack_1/pgsql_node_a_lag/config',
      'homeassistant/binary_sensor/rackwitness_rack_1/watchdog_feeding/config',
    ]);
    const parsed: ParsedDiscovery[] = [];
    const problems: string[] = [];
    for (const [topic, payload] of configs) {
      const r = checkDiscoveryMessage(ctx.prefix, topic, payload);
      problems.push(...r.problems);
      if (r.parsed) parsed.push(r.parsed);
    }
    problems.push(...checkDiscoverySet(parsed));
    expect(problems).toEqual([]);
    const role = parsed[0]?.config as Record<string, unknown>;
    expect(role).toMatchObject({
      unique_id: 'rackwitness_rack_1_pgsql_node_a_role',
      state_topic: 'rackwitness/rack 1/pgsql/node.a',
      json_attributes_topic: 'rackwitness/rack 1/pgsql/node.a',
      availability: [{ topic: 'rackwitness/rack 1/bridge/state', value_template: '{{ value_json.state }}' }],
      device: { identifiers: ['rackwitness_rack_1'], name: 'rackwitness rack 1', sw_version: '9.9.9' },
      origin: { name: 'rackwitness', sw_version: '9.9.9' },
    });
    // every template renders to a state HA accepts, for these states
    const cases = parsed.map((p) => ({
      template: String(p.config?.value_template),
      payload: JSON.stringify(entities.find((e) => `${ctx.baseTopic}/${e.topic}` === p.config?.state_topic)?.state),
    }));
    const rendered = renderTemplates(cases);
    expect(rendered).toEqual(['standby', 'None', 'OFF']);
    expect(parsed.map((p, i) => stateProblem(p.component, p.config ?? {}, rendered[i] ?? ''))).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
    const avail = renderTemplates([
      { template: '{{ value_json.state }}', payload: '{"state":"online"}' },
      { template: '{{ value_json.state }}', payload: '{"state":"offline"}' },
    ]);
    expect(avail).toEqual(['online', 'offline']);
  });

  it('ids keep only [a-zA-Z0-9_-]', () => {
    expect(discoveryId('ticket_db/x y.z-1')).toBe('ticket_db_x_y_z-1');
  });
});
