/**
 * What the qdevice service knows between polls (the last observation, the health decision, when
 * it polled and when the view last changed), and what is read from it: the status snapshot, the
 * MQTT entities and the Prometheus gauges.
 */
import { Gauge } from 'prom-client';
import type { Entity } from '../daemon/service.js';
import type { QdeviceConfig } from './config.js';
import { nodeViews, type QdeviceSnapshot } from './state.js';

export interface QdeviceView {
  cfg: QdeviceConfig | undefined;
  current: QdeviceSnapshot | undefined;
  decision: { row: string; health: 'ok' | 'degraded'; reason: string } | undefined;
  lastPoll: string | undefined;
  lastChange: string | undefined;
}

export const METRIC_NAMES = [
  'rackwitness_qdevice_qnetd_up',
  'rackwitness_qdevice_ok',
  'rackwitness_qdevice_node_connected',
  'rackwitness_qdevice_node_vote_ack',
  'rackwitness_qdevice_node_heuristics_pass',
  'rackwitness_qdevice_last_change_timestamp_seconds',
];

/** Everything that changes the cluster view (for last_change). */
export function fingerprint(s: QdeviceSnapshot): string {
  return JSON.stringify([
    s.reachable,
    s.certProblem ?? '',
    s.cluster?.algorithm ?? '',
    nodeViews(s).map((v) => [v.connected, v.vote, v.heuristics, v.membership]),
  ]);
}

/** The gauges (unregistered; the service registers them at start), read from view at scrape time. */
export function qdeviceMetrics(view: QdeviceView): Gauge[] {
  const nodeGauge = (name: string, help: string, value: (v: ReturnType<typeof nodeViews>[number]) => number | null) =>
    new Gauge({
      name,
      help,
      labelNames: ['node'] as const,
      registers: [],
      collect() {
        this.reset();
        if (!view.current) return;
        for (const v of nodeViews(view.current)) {
          const x = value(v);
          if (x !== null) this.set({ node: v.name }, x);
        }
      },
    });
  const qnetdUp = new Gauge({
    name: 'rackwitness_qdevice_qnetd_up',
    help: '1 when corosync-qnetd answers on its control socket, 0 when not.',
    registers: [],
    collect() {
      if (view.current) this.set(view.current.reachable ? 1 : 0);
    },
  });
  const healthy = new Gauge({
    name: 'rackwitness_qdevice_ok',
    help: '1 when the box can give the rack its quorum-device vote (qnetd up, certificates, both nodes connected), 0 when degraded.',
    registers: [],
    collect() {
      if (view.decision) this.set(view.decision.health === 'ok' ? 1 : 0);
    },
  });
  const connected = nodeGauge(
    'rackwitness_qdevice_node_connected',
    '1 when the node’s corosync-qdevice is connected to qnetd, 0 when not.',
    (v) => (v.connected ? 1 : 0),
  );
  const voteAck = nodeGauge(
    'rackwitness_qdevice_node_vote_ack',
    '1 when qnetd’s last vote for the node is ACK, 0 for any other vote; absent while not connected.',
    (v) => (v.connected ? (v.vote === 'ACK' ? 1 : 0) : null),
  );
  const heuristicsPass = nodeGauge(
    'rackwitness_qdevice_node_heuristics_pass',
    '1 when the node’s last heuristics result is Pass, 0 for Fail; absent when undefined or not connected.',
    (v) => (v.heuristics === 'Pass' ? 1 : v.heuristics === 'Fail' ? 0 : null),
  );
  const lastChangeGauge = new Gauge({
    name: 'rackwitness_qdevice_last_change_timestamp_seconds',
    help: 'When the quorum-device view last changed (connections, votes, heuristics, membership).',
    registers: [],
    collect() {
      if (view.lastChange) this.set(Date.parse(view.lastChange) / 1000);
    },
  });
  return [qnetdUp, healthy, connected, voteAck, heuristicsPass, lastChangeGauge];
}

export function qdeviceSnapshot(view: QdeviceView): Record<string, unknown> {
  const c = view.cfg;
  if (!c) return {};
  const s = view.current;
  return {
    cluster_name: c.cluster_name,
    socket: c.socket,
    summary: view.decision?.reason ?? null,
    row: view.decision?.row ?? null,
    qnetd: s
      ? {
          up: s.reachable,
          error: s.error ?? null,
          address: s.server?.address ?? null,
          tls: s.server?.tls ?? null,
          connected_clients: s.server?.clients ?? null,
          connected_clusters: s.server?.clusters ?? null,
          certificates: s.certProblem ?? 'ok',
        }
      : null,
    algorithm: s?.cluster?.algorithm ?? null,
    tie_breaker: s?.cluster?.tieBreaker ?? null,
    nodes: s ? nodeViews(s) : [],
    last_poll: view.lastPoll ?? null,
    last_change: view.lastChange ?? null,
  };
}

export function qdeviceEntities(view: QdeviceView): Entity[] {
  const s = qdeviceSnapshot(view);
  if (!view.current) return [];
  return [
    {
      topic: 'qdevice/qnetd',
      state: {
        state: view.decision?.health ?? 'starting',
        summary: s.summary,
        qnetd: s.qnetd,
        algorithm: s.algorithm,
        tie_breaker: s.tie_breaker,
        last_change: s.last_change,
      },
      ha: [
        {
          id: 'qdevice_problem',
          component: 'binary_sensor',
          name: 'Quorum device',
          device_class: 'problem',
          value_template: "{{ 'ON' if value_json.state != 'ok' else 'OFF' }}",
          icon: 'mdi:scale-balance',
          attributes: true,
        },
      ],
    },
    ...nodeViews(view.current).map(nodeEntity),
  ];
}

function nodeEntity(v: ReturnType<typeof nodeViews>[number]): Entity {
  return {
    topic: `qdevice/${v.name}`,
    state: {
      connected: v.connected,
      vote: v.vote,
      heuristics: v.heuristics,
      membership: v.membership,
      tls: v.tls,
      address: v.address,
    },
    ha: [
      {
        id: `qdevice_${v.name.toLowerCase().replace(/[^a-z0-9_-]/g, '_')}_vote`,
        component: 'sensor',
        name: `Quorum device vote ${v.name}`,
        value_template: "{{ value_json.vote if value_json.connected else 'disconnected' }}",
        icon: 'mdi:vote',
        attributes: true,
      },
    ],
  };
}
