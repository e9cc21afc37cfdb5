/**
 * Home Assistant MQTT discovery: the retained config messages that make the box one HA device
 * with read-only entities. Pure: entities in, topic → payload out; the feed (mqtt-feed.ts) publishes
 * them and clears (empty retained payload) every config it published before that is no longer wanted.
 *
 * Topic:   <prefix>/<component>/<node_id>/<object_id>/config   (ids restricted to [a-zA-Z0-9_-])
 * Payload: full key names (no abbreviations), state_topic = the entity's retained topic,
 *          availability = <base>/bridge/state ({"state":"online"|"offline"}), one device block.
 */
import type { Entity, HaEntity } from '../daemon/service.js';

export interface DiscoveryContext {
  prefix: string;
  baseTopic: string;
  box: string;
  version: string;
}

/** A discovery id: characters outside [a-zA-Z0-9_-] become "_". */
export function discoveryId(s: string): string {
  return s.replace(/[^a-zA-Z0-9_-]/g, '_');
}

export function nodeIdOf(box: string): string {
  return discoveryId(`rackwitness_${box}`);
}

/** Every discovery config for these entities, by topic (insertion order = entity order). */
export function discoveryConfigs(ctx: DiscoveryContext, entities: Entity[]): Map<string, string> {
  const node = nodeIdOf(ctx.box);
  const device = {
    identifiers: [node],
    name: `rackwitness ${ctx.box}`,
    manufacturer: 'rackwitness',
    model: 'Witness box for a two-node PostgreSQL + Pacemaker rack',
    sw_version: ctx.version,
  };
  const origin = { name: 'rackwitness', sw_version: ctx.version };
  const availability = [{ topic: `${ctx.baseTopic}/bridge/state`, value_template: '{{ value_json.state }}' }];
  const out = new Map<string, string>();
  for (const e of entities) {
    for (const h of e.ha ?? []) {
      const object = discoveryId(h.id);
      const topic = `${ctx.prefix}/${h.component}/${node}/${object}/config`;
      // two entities whose ids differ only in characters outside the allowed set: the first wins
      if (out.has(topic)) continue;
      const stateTopic = `${ctx.baseTopic}/${e.topic}`;
      out.set(topic, JSON.stringify(payloadOf(h, `${node}_${object}`, stateTopic, device, origin, availability)));
    }
  }
  return out;
}

function payloadOf(
  h: HaEntity,
  uniqueId: string,
  stateTopic: string,
  device: Record<string, unknown>,
  origin: Record<string, unknown>,
  availability: Array<Record<string, unknown>>,
): Record<string, unknown> {
  return {
    name: h.name,
    unique_id: uniqueId,
    state_topic: stateTopic,
    value_template: h.value_template,
    ...(h.component === 'binary_sensor' ? { payload_on: 'ON', payload_off: 'OFF' } : {}),
    ...(h.device_class ? { device_class: h.device_class } : {}),
    ...(h.state_class ? { state_class: h.state_class } : {}),
    ...(h.unit_of_measurement ? { unit_of_measurement: h.unit_of_measurement } : {}),
    ...(h.options ? { options: h.options } : {}),
    ...(h.icon ? { icon: h.icon } : {}),
    ...(h.entity_category ? { entity_category: h.entity_category } : {}),
    ...(h.attributes ? { json_attributes_topic: stateTopic } : {}),
    availability,
    availability_mode: 'all',
    device,
    origin,
  };
}
