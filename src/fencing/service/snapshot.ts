/** What fence.status answers (and the service's snapshot): per target, per device, API, timing, arbitration. */

import type { FencingConfig } from '../config.js';
import { preference } from '../decisions/arbitration.js';
import type { PowerState } from '../devices/driver.js';
import type { HistoryEntry } from '../journal.js';
import { worstCaseFollowUpS, worstCaseS } from '../operations/fencer.js';
import type { DeviceState, FencingState } from './state.js';

export interface FencingSnapshot extends Record<string, unknown> {
  /** Only before start/after stop: the service's state. */
  state?: string;
  targets?: Record<string, TargetView>;
  devices?: Record<string, DeviceState>;
}

export interface TargetView extends Record<string, unknown> {
  levels: Array<{ level: number; plugs: string[]; description?: string }>;
  power: PowerState | 'unknown';
  in_progress: { id: string; action: string; since: string; stage: string } | undefined;
  last_operation: Record<string, unknown> | undefined;
}

export function targetSnapshot(st: FencingState, target: string): TargetView {
  const c = st.cfg as FencingConfig;
  const t = c.targets[target];
  const recent = st.journal?.history(100, target) ?? [];
  const last = recent[0];
  // the last off or reboot (a reboot's power-on, status reads and on are not fences)
  const lastFence = recent.find((h) => h.action === 'off' || h.action === 'reboot');
  const run = st.fencer?.inProgress().find((r) => r.target === target);
  const pending = st.fencer?.powerOnPending(target);
  const known = st.fencer?.knownPower(target);
  return {
    levels: (t?.levels ?? []).map((l, i) => ({
      level: i + 1,
      plugs: l.plugs.map((p) => `${p.device}/${p.plug}`),
      ...(l.description ? { description: l.description } : {}),
    })),
    power: st.power.get(target)?.state ?? 'unknown',
    power_read_at: st.power.get(target)?.at,
    in_progress: run ? { id: run.id, action: run.action, since: run.since, stage: run.stage } : undefined,
    power_on_pending_until: pending?.phase === 'boot-wait' ? pending.power_on_pending_until : undefined,
    power_on: pending,
    known_power: known ? { state: known.state, how: known.how, at: known.at } : undefined,
    problem: st.problems.get(target),
    last_operation: last ? summarize(last) : undefined,
    last_fence: lastFence ? summarize(lastFence) : undefined,
    worst_case_reboot_s: worstCaseS(c, target, 'reboot'),
    worst_case_power_on_s: c.reboot_power_on === 'never' ? undefined : worstCaseFollowUpS(c),
  };
}

export function fencingSnapshot(st: FencingState): FencingSnapshot {
  const c = st.cfg;
  if (!c) return { state: st.health.state };
  return {
    targets: Object.fromEntries(Object.keys(c.targets).map((t) => [t, targetSnapshot(st, t)])),
    devices: Object.fromEntries(st.devices),
    api: c.api.enabled ? { host: c.api.host, port: st.apiPort ?? c.api.port, ...st.apiCounts } : { enabled: false },
    timing: {
      reboot_power_on: c.reboot_power_on,
      boot_delay_s: c.boot_delay_s,
      power_timeout_s: c.power_timeout_s,
      corosync_token_ms: c.corosync_token_ms,
      corosync_consensus_ms: st.fencer?.consensusMs(),
    },
    arbitration: arbitrationStatus(st),
  };
}

function arbitrationStatus(st: FencingState) {
  const c = st.cfg;
  if (!c) return undefined;
  const a = c.arbitration;
  if (!a.enabled) return { enabled: false };
  const snap = st.arbiter?.snapshot({ target: '', action: 'reboot', via: 'api' }, Date.now());
  const p = snap ? preference(snap) : undefined;
  return {
    enabled: true,
    hold_s: a.hold_s,
    observer_max_age_s: a.observer_max_age_s,
    preferred_node: a.preferred_node ?? null,
    prefers: p ? { node: p.node, source: p.source, why: p.why } : null,
    holding: st.arbiter?.holding() ?? 0,
  };
}

function summarize(h: HistoryEntry): Record<string, unknown> {
  return {
    id: h.id,
    action: h.action,
    result: h.result,
    at: h.finished ?? h.started,
    level: h.level,
    verified_by: h.verified_by,
    duration_ms: h.duration_ms,
    ...(h.follows ? { follows: h.follows } : {}),
    ...(h.power_on_id ? { power_on_id: h.power_on_id } : {}),
  };
}
