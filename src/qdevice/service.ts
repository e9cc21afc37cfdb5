/**
 * The quorum-device observer as a daemon service ("qdevice"): polls Debian's corosync-qnetd
 * through corosync-qnetd-tool (status and the rack's cluster, verbose) every poll_interval_s,
 * checks its certificate database, decides health by the pure table (state.ts), and reports what
 * it sees to `rackwitness status` (snapshot), MQTT (qdevice/qnetd, qdevice/<node>), /metrics and
 * the events log (one sentence per change). It never starts, stops or configures qnetd: that is
 * qnetd's own systemd unit.
 */
import type { Health, Service, ServiceContext, ServiceFactory } from '../daemon/service.js';
import { checkQnetdDb } from './certs.js';
import type { QdeviceConfig } from './config.js';
import { parseList, parseStatus, runQnetdTool } from './qnetd-tool.js';
import { type QdeviceSnapshot, qdeviceEvents, qdeviceHealth } from './state.js';
import {
  fingerprint,
  METRIC_NAMES,
  type QdeviceView,
  qdeviceEntities,
  qdeviceMetrics,
  qdeviceSnapshot,
} from './view.js';

const NAME = 'qdevice';

/** One observation of qnetd: its status, the rack's cluster, and (until seen healthy) the certificate database. */
async function observe(c: QdeviceConfig, certCheckedOk: boolean): Promise<QdeviceSnapshot> {
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
}

export const createQdeviceService: ServiceFactory = (ctx: ServiceContext): Service => {
  const view: QdeviceView = {
    cfg: undefined,
    current: undefined,
    decision: undefined,
    lastPoll: undefined,
    lastChange: undefined,
  };
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<unknown> = Promise.resolve();
  let running = false;
  let certCheckedOk = false;
  const metrics = qdeviceMetrics(view);

  const pollOnce = async (): Promise<void> => {
    const next = await observe(view.cfg as QdeviceConfig, certCheckedOk);
    const d = qdeviceHealth(next);
    const prev = view.current;
    for (const e of qdeviceEvents(prev, next)) ctx.events.record(NAME, e.kind, e.sentence);
    const decision = view.decision;
    if (!decision || decision.row !== d.row || (d.outcome !== 'ok' && decision.reason !== d.reason)) {
      const sentence = `${d.reason.charAt(0).toUpperCase()}${d.reason.slice(1)}.`;
      ctx.events.record(NAME, d.outcome === 'ok' ? 'qdevice.ok' : `qdevice.${d.row.replace(/^qd\./, '')}`, sentence, {
        row: d.row,
      });
      ctx.log[d.outcome === 'ok' ? 'info' : 'warn']({ row: d.row }, d.reason);
    }
    const now = new Date().toISOString();
    if (!prev || fingerprint(prev) !== fingerprint(next)) view.lastChange = now;
    view.lastPoll = now;
    view.current = next;
    view.decision = { row: d.row, health: d.outcome, reason: d.reason };
    certCheckedOk = next.certProblem === undefined && d.outcome === 'ok';
    ctx.changed();
  };

  const pollNow = (): Promise<void> => {
    const next = chain.then(pollOnce);
    chain = next.catch(() => undefined);
    return next;
  };

  const schedule = () => {
    const cfg = view.cfg;
    if (!running || !cfg) return;
    timer = setTimeout(() => {
      void pollNow()
        .catch((e) => ctx.log.error({ err: String(e) }, 'qdevice observation failed'))
        .finally(schedule);
    }, cfg.poll_interval_s * 1000);
    timer.unref?.();
  };

  return {
    name: NAME,
    async start() {
      const c = ctx.config.qdevice;
      if (!c) throw new Error('qdevice: the config has no qdevice section');
      view.cfg = c;
      for (const m of metrics) ctx.metrics.registerMetric(m);
      ctx.handle('qdevice.status', async () => {
        await pollNow();
        return qdeviceSnapshot(view);
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
      const decision = view.decision;
      if (!decision) return { state: 'starting' };
      return decision.health === 'ok' ? { state: 'ok' } : { state: 'degraded', reason: decision.reason };
    },
    snapshot: () => qdeviceSnapshot(view),
    entities: () => qdeviceEntities(view),
  };
};
