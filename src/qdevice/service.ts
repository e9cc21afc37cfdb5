/**
 * The quorum-device observer as a daemon service ("qdevice"): polls Debian's corosync-qnetd
 * through corosync-qnetd-tool (status and the rack's cluster, verbose) every poll_interval_s,
 * checks its certificate database, decides health by the pure table (state.ts), and reports what
 * it sees to `rackwitness status` (snapshot), MQTT (qdevice/qnetd, qdevice/<node>), /metrics and
 * the events log (one sentence per change). It never starts, stops or configures qnetd: that is
 * qnetd's own systemd unit.
 */
import { Gauge } from 'prom-client';
import type { Entity, Health, Service, ServiceContext, ServiceFactory } from '../daemon/service.js';
import { checkQnetdDb } from './certs.js';
import type { QdeviceConfig } from './config.js';
import { parseList, parseStatus, runQnetdTool } from './qnetd-tool.js';
import { nodeViews, type QdeviceSnapshot, qdeviceEvents, qdeviceHealth } from './state.js';

const NAME = 'qdevice';
const METRIC_NAMES = [
  'rackwitness_qdevice_qnetd_up',
  'rackwitness_qdevice_ok',
  'rackwitness_qdevice_node_connected',
  'rackwitness_qdevice_node_vote_ack',
  'rackwitness_qdevice_node_heuristics_pass',
  'rackwitness_qdevice_last_change_timestamp_seconds',
];

/** Everything that changes the cluster view (for last_change). */
function fingerprint(s: QdeviceSnapshot): string {
  return JSON.stringify([
    s.reachable,
    s.certProblem ?? '',
    s.cluster?.algorithm ?? '',
    nodeViews(s).map((v) => [v.connected, v.vote, v.heuristics, v.membership]),
  ]);
}

export const createQdeviceService: ServiceFactory = (ctx: ServiceContext): Service => {
  let cfg: QdeviceConfig | undefined;
  let current: QdeviceSnapshot | undefined;
  let decision: { row: string; health: 'ok' | 'degraded'; reason: string } | undefined;
  let lastPoll: string | undefined;
  let lastChange: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<unknown> = Promise.resolve();
  let running = false;
  let certCheckedOk = false;

  const nodeGauge = (name: string, help: string, value: (v: ReturnType<typeof nodeViews>[number]) => number | null) =>
    new Gauge({
      name,
      help,
      labelNames: ['node'] as const,
      registers: [],
      collect() {
        this.reset();
        if (!current) return;
        for (const v of nodeViews(current)) {
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
      if (current) this.set(current.reachable ? 1 : 0);
    },
  });
  const healthy = new Gauge({
    name: 'rackwitness_qdevice_ok',
    help: '1 when the box can give the rack its quorum-device vote (qnetd up, certificates, both nodes connected), 0 when degraded.',
    registers: [],
    collect() {
      if (decision) this.set(decision.health === 'ok' ? 1 : 0);
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
      if (lastChange) this.set(Date.parse(lastChange) / 1000);
    },
  });
  const metrics = [qnetdUp, healthy, connected, voteAck, heuristicsPass, lastChangeGauge];

  const observe = async (): Promise<QdeviceSnapshot> => {
    const c = cfg as QdeviceConfig;
    const timeoutMs = c.command_timeout_s * 1000;
    const base = { clusterName: c.cluster_name, nodes: c.nodes.map((n) => ({ name: n.name, id: n.id })) };
    // the certificate database is checked at start and whenever qnetd was not seen healthy
    const certProblem = certCheckedOk ? undefined : await checkQnetdDb(c.nssdb_dir, timeoutMs);
    const status = await runQnetdTool(c.tool, c.socket, ['-s', '-v'], timeoutMs);
    if (!status.ok) return { ...base, ...(certProblem ? { certProblem } : {}), reachable: false, error: status.error };
    const list = await runQnetdTool(c.tool, c.socket, ['-l', '-v', '-c', c.cluster_name], timeoutMs);
    if (!list.ok) return { ...base, ...(certProblem ? { certProblem } : {}), reachable: false, error: list.error };
    const cluster = parseList(list.stdout).find((x) => x.name === c.cluster_name);
    return {
      ...base,
      ...(certProblem ? { certProblem } : {}),
      reachable: true,
      server: parseStatus(status.stdout),
      ...(cluster ? { cluster } : {}),
    };
  };

  const pollOnce = async (): Promise<void> => {
    const next = await observe();
    const d = qdeviceHealth(next);
    const prev = current;
    for (const e of qdeviceEvents(prev, next)) ctx.events.record(NAME, e.kind, e.sentence);
    if (!decision || decision.row !== d.row || (d.outcome !== 'ok' && decision.reason !== d.reason)) {
      const sentence = `${d.reason.charAt(0).toUpperCase()}${d.reason.slice(1)}.`;
      ctx.events.record(NAME, d.outcome === 'ok' ? 'qdevice.ok' : `qdevice.${d.row.replace(/^qd\./, '')}`, sentence, {
        row: d.row,
      });
      ctx.log[d.outcome === 'ok' ? 'info' : 'warn']({ row: d.row }, d.reason);
    }
    const now = new Date().toISOString();
    if (!prev || fingerprint(prev) !== fingerprint(next)) lastChange = now;
    lastPoll = now;
    current = next;
    decision = { row: d.row, health: d.outcome, reason: d.reason };
    certCheckedOk = next.certProblem === undefined && d.outcome === 'ok';
    ctx.changed();
  };

  const pollNow = (): Promise<void> => {
    const next = chain.then(pollOnce);
    chain = next.catch(() => undefined);
    return next;
  };

  const schedule = () => {
    if (!running || !cfg) return;
    timer = setTimeout(() => {
      void pollNow()
        .catch((e) => ctx.log.error({ err: String(e) }, 'qdevice observation failed'))
        .finally(schedule);
    }, cfg.poll_interval_s * 1000);
    timer.unref?.();
  };

  const snapshot = (): Record<string, unknown> => {
    const c = cfg;
    if (!c) return {};
    const s = current;
    return {
      cluster_name: c.cluster_name,
      socket: c.socket,
      summary: decision?.reason ?? null,
      row: decision?.row ?? null,
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
      last_poll: lastPoll ?? null,
      last_change: lastChange ?? null,
    };
  };

  return {
    name: NAME,
    async start() {
      const c = ctx.config.qdevice;
      if (!c) throw new Error('qdevice: the config has no qdevice section');
      cfg = c;
      for (const m of metrics) ctx.metrics.registerMetric(m);
      ctx.handle('qdevice.status', async () => {
        await pollNow();
        return snapshot();
      });
      running = true;
      await pollNow();
      schedule();
    },
    async stop() {
      running = false;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await chain.catch(() => undefined);
      for (const n of METRIC_NAMES) ctx.metrics.removeSingleMetric(n);
    },
    health(): Health {
      if (!decision) return { state: 'starting' };
      return decision.health === 'ok' ? { state: 'ok' } : { state: 'degraded', reason: decision.reason };
    },
    snapshot,
    entities(): Entity[] {
      const s = snapshot();
      if (!current) return [];
      return [
        {
          topic: 'qdevice/qnetd',
          state: {
            state: decision?.health ?? 'starting',
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
        ...nodeViews(current).map(
          (v): Entity => ({
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
          }),
        ),
      ];
    },
  };
};
