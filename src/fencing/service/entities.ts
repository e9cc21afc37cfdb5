/** The fencing service's MQTT entities: one per target (power, last result), with Home Assistant discovery. */
import type { Entity } from '../../daemon/service.js';
import type { HistoryEntry } from '../journal.js';
import { targetSnapshot } from './snapshot.js';
import type { FencingState } from './state.js';

/** Every result a journal entry can carry (a Record, so a new result fails to compile here). */
const FENCE_RESULT_SET: Record<HistoryEntry['result'], true> = {
  success: true,
  failed: true,
  refused: true,
  cancelled: true,
  interrupted: true,
  running: true,
};
const FENCE_RESULTS = Object.keys(FENCE_RESULT_SET);

export function fencingEntities(st: FencingState): Entity[] {
  const c = st.cfg;
  if (!c) return [];
  return Object.keys(c.targets).map((t) => targetEntity(st, t));
}

function targetEntity(st: FencingState, t: string): Entity {
  const s = targetSnapshot(st, t);
  return {
    topic: `fencing/${t}`,
    state: {
      power: s.power,
      in_progress: s.in_progress?.action ?? null,
      power_on_pending_until: s.power_on_pending_until ?? null,
      problem: s.problem ?? null,
      last_operation: s.last_operation ?? null,
    },
    // every monitor pass reads the power again: the read time is not retained
    volatile: { power_read_at: s.power_read_at ?? null },
    ha: [
      {
        id: `fencing_${t}_power`,
        component: 'sensor',
        name: `Power ${t}`,
        device_class: 'enum',
        options: ['on', 'off', 'unknown'],
        value_template: '{{ value_json.power }}',
        icon: 'mdi:power-plug',
        attributes: true,
      },
      {
        id: `fencing_${t}_last_result`,
        component: 'sensor',
        name: `Last fence ${t}`,
        device_class: 'enum',
        options: [...FENCE_RESULTS, 'none'],
        value_template: "{{ value_json.last_operation.result if value_json.last_operation else 'none' }}",
        icon: 'mdi:power-plug-off',
      },
    ],
  };
}
