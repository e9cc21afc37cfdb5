/**
 * The box's verdict on its quorum-device service: a pure table over what the last observation of
 * qnetd showed (server status, the rack's cluster and its clients, the certificate check), giving
 * the service health and one sentence. qnetd down, missing certificates, or a node that is not
 * connected are degraded: the rack then has no tie-break vote in a split.
 */
import { type DecisionTable, decideBy, type TableDecision } from '../decisions/table.js';
import type { QnetdClient, QnetdCluster, QnetdServer } from './qnetd-tool.js';

export interface QdeviceNode {
  name: string;
  id: number;
}

export interface QdeviceSnapshot {
  readonly clusterName: string;
  readonly nodes: readonly QdeviceNode[];
  /** The certificate check: undefined when fine, else one clause. */
  readonly certProblem?: string;
  /** qnetd answered the status and list calls; else why not. */
  readonly reachable: boolean;
  readonly error?: string;
  readonly server?: QnetdServer;
  /** The rack's cluster as qnetd lists it (absent: no client of it is connected). */
  readonly cluster?: QnetdCluster;
}

export type QdeviceHealth = 'ok' | 'degraded';

const nameOf = (s: QdeviceSnapshot, id: number) => s.nodes.find((n) => n.id === id)?.name ?? `node id ${id}`;
const clientOf = (s: QdeviceSnapshot, n: QdeviceNode): QnetdClient | undefined =>
  s.cluster?.clients.find((c) => c.nodeId === n.id);
const missing = (s: QdeviceSnapshot) => s.nodes.filter((n) => clientOf(s, n) === undefined);
const strangers = (s: QdeviceSnapshot) =>
  (s.cluster?.clients ?? []).filter((c) => !s.nodes.some((n) => n.id === c.nodeId));
const untrusted = (s: QdeviceSnapshot) =>
  (s.cluster?.clients ?? []).filter((c) => c.tls !== undefined && c.tls !== 'Yes (client certificate verified)');
const whole = (s: QdeviceSnapshot) =>
  s.nodes.every((n) => {
    const c = clientOf(s, n);
    return c !== undefined && s.nodes.every((m) => c.membership.includes(m.id));
  });
const nacked = (s: QdeviceSnapshot) => (s.cluster?.clients ?? []).filter((c) => (c.lastAckNack ?? c.vote) === 'NACK');

export const qdeviceTable: DecisionTable<QdeviceSnapshot, QdeviceHealth> = {
  name: 'quorum device health',
  summary:
    'Consulted after every observation of qnetd: whether the box can give the rack its tie-break vote, and the one sentence `rackwitness status`, MQTT and the events log show.',
  outcomeLabel: (row) => (row.id === 'qd.ok' ? 'ok' : 'degraded'),
  rows: [
    {
      id: 'qd.certificates',
      comment:
        'qnetd’s certificate database lacks the CA or the server certificate: with TLS on no node can connect (run `rackwitness qdevice init`).',
      when: (s) => s.certProblem !== undefined,
      outcome: () => 'degraded',
      reason: (s) =>
        `qnetd certificates: ${s.certProblem}; the nodes cannot connect with TLS (run rackwitness qdevice init)`,
    },
    {
      id: 'qd.qnetd-down',
      comment:
        'corosync-qnetd does not answer on its control socket: the rack has no quorum-device vote, and a split now leaves no node quorate.',
      when: (s) => !s.reachable,
      outcome: () => 'degraded',
      reason: (s) =>
        `qnetd does not answer (${s.error ?? 'no answer'}): the rack has no quorum-device vote and a split now stops both nodes`,
    },
    {
      id: 'qd.tls-off',
      comment: 'qnetd runs without TLS: anyone on the network could pose as a node or as the box.',
      when: (s) => s.server?.tls !== undefined && !/^(Supported|Required)/.test(s.server.tls),
      outcome: () => 'degraded',
      reason: (s) => `qnetd runs with TLS ${s.server?.tls}: start it with -s on (and -c on)`,
    },
    {
      id: 'qd.no-cluster',
      comment:
        'No node of the rack’s cluster is connected to qnetd (corosync-qdevice down on both, unreachable, or a wrong cluster name or certificate).',
      when: (s) => s.cluster === undefined || s.cluster.clients.length === 0,
      outcome: () => 'degraded',
      reason: (s) =>
        `no node of cluster "${s.clusterName}" is connected to qnetd (corosync-qdevice down, unreachable, or its certificate not signed by this box)`,
    },
    {
      id: 'qd.stranger',
      comment:
        'A client with a node id that is not one of the rack’s two nodes is connected under the rack’s cluster name.',
      when: (s) => strangers(s).length > 0,
      outcome: () => 'degraded',
      reason: (s) =>
        `node id ${strangers(s)
          .map((c) => c.nodeId)
          .join(
            ', ',
          )} is connected to qnetd as cluster "${s.clusterName}" but is not a node of the rack (qdevice.nodes)`,
    },
    {
      id: 'qd.node-disconnected',
      comment:
        'One node is not connected: in a split its partition gets no vote from the box; if it is the node holding the primary, the box cannot keep it.',
      when: (s) => missing(s).length > 0,
      outcome: () => 'degraded',
      reason: (s) =>
        `${missing(s)
          .map((n) => `${n.name} (node id ${n.id})`)
          .join(
            ' and ',
          )} is not connected to qnetd (corosync-qdevice down or unreachable there, or its certificate not signed by this box)`,
    },
    {
      id: 'qd.tls-unverified',
      comment: 'A node is connected without a verified client certificate.',
      when: (s) => untrusted(s).length > 0,
      outcome: () => 'degraded',
      reason: (s) =>
        `${untrusted(s)
          .map((c) => `${nameOf(s, c.nodeId)} is connected with TLS "${c.tls}"`)
          .join('; ')}: the box cannot tell it from an impostor`,
    },
    {
      id: 'qd.whole-nack',
      comment:
        'Both nodes see each other, yet qnetd withholds its vote from one: a configuration mismatch (algorithm, node lists).',
      when: (s) => whole(s) && nacked(s).length > 0,
      outcome: () => 'degraded',
      reason: (s) =>
        `the cluster is whole but qnetd votes ${nacked(s)
          .map((c) => `NACK for ${nameOf(s, c.nodeId)}`)
          .join(' and ')}`,
    },
    {
      id: 'qd.ok',
      comment: 'qnetd answers with TLS, and both nodes are connected with verified certificates.',
      outcome: () => 'ok',
      reason: (s) => {
        const votes = (s.cluster?.clients ?? []).map(
          (c) => `${nameOf(s, c.nodeId)} ${c.lastAckNack ?? c.vote ?? 'no vote yet'}`,
        );
        return `qnetd serves cluster "${s.clusterName}" (${s.cluster?.algorithm ?? 'algorithm ?'}): both nodes connected with verified certificates, votes ${votes.join(', ')}`;
      },
    },
  ],
};

export function qdeviceHealth(s: QdeviceSnapshot): TableDecision<QdeviceHealth> {
  return decideBy(qdeviceTable, s);
}

/** Per-node view for status, MQTT and metrics. */
export interface NodeQdeviceView {
  name: string;
  id: number;
  connected: boolean;
  address: string | null;
  vote: string | null;
  heuristics: string | null;
  membership: string[];
  tls: string | null;
}

export function nodeViews(s: QdeviceSnapshot): NodeQdeviceView[] {
  return s.nodes.map((n) => {
    const c = clientOf(s, n);
    return {
      name: n.name,
      id: n.id,
      connected: c !== undefined,
      address: c?.address ?? null,
      // "No change (ACK)": the vote in force is the last ACK/NACK
      vote: c ? (c.lastAckNack ?? c.vote ?? null) : null,
      heuristics: c?.heuristics ?? null,
      membership: (c?.membership ?? []).map((id) => nameOf(s, id)),
      tls: c?.tls ?? null,
    };
  });
}

/** What changed between two observations, one sentence each (events log). */
export function qdeviceEvents(
  prev: QdeviceSnapshot | undefined,
  next: QdeviceSnapshot,
): Array<{ kind: string; sentence: string }> {
  const out: Array<{ kind: string; sentence: string }> = [];
  const a = prev ? new Map(nodeViews(prev).map((v) => [v.name, v])) : new Map<string, NodeQdeviceView>();
  for (const v of nodeViews(next)) {
    const p = a.get(v.name);
    if (!prev || !p) continue;
    if (p.connected !== v.connected) {
      out.push({
        kind: v.connected ? 'qdevice.node.connected' : 'qdevice.node.disconnected',
        sentence: v.connected
          ? `${v.name} connected to qnetd from ${v.address ?? '?'}.`
          : `${v.name} disconnected from qnetd.`,
      });
      continue;
    }
    if (!v.connected) continue;
    if (p.membership.join(',') !== v.membership.join(','))
      out.push({
        kind: 'qdevice.membership',
        sentence: `${v.name} reports membership ${v.membership.join(', ') || 'none'} (was ${p.membership.join(', ') || 'none'}).`,
      });
    if (p.vote !== v.vote)
      out.push({
        kind: 'qdevice.vote',
        sentence: `qnetd's vote for ${v.name}: ${p.vote ?? 'none'} → ${v.vote ?? 'none'}.`,
      });
    if (p.heuristics !== v.heuristics)
      out.push({
        kind: 'qdevice.heuristics',
        sentence: `${v.name}'s heuristics: ${p.heuristics ?? 'none'} → ${v.heuristics ?? 'none'}.`,
      });
  }
  return out;
}
