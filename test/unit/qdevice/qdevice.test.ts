import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runRules } from '../../../src/config/rules.js';
import { configRules, configSchema } from '../../../src/config/schema.js';
import { checkTable, tableMarkdown } from '../../../src/decisions/table.js';
import { heuristicsTable } from '../../../src/pgsql/core/heuristics.js';
import { nodeSteps, quorumSection, stepsFor } from '../../../src/qdevice/certs.js';
import { parseList, parseStatus } from '../../../src/qdevice/qnetd-tool.js';
import {
  nodeViews,
  type QdeviceSnapshot,
  qdeviceEvents,
  qdeviceHealth,
  qdeviceTable,
} from '../../../src/qdevice/state.js';

/** corosync-qnetd-tool -s -v of qnetd 3.0.3 (tabs as it prints them). */
const STATUS = `QNetd address:\t\t\t10.79.0.100:5403
TLS:\t\t\t\tSupported (client certificate required)
Connected clients:\t\t2
Connected clusters:\t\t1
Maximum send/receive size:\t32768/32768 bytes
`;

/** corosync-qnetd-tool -l -v with both nodes of a whole cluster (shape of qnetd 3.0.3's output). */
const LIST = `Cluster "rwqd":
    Algorithm:\t\tFifty-Fifty split (KAP Tie-breaker)
    Tie-breaker:\tNode with lowest node ID
    Node ID 1:
        Client address:\t\t10.79.0.1:48566
        HB interval:\t\t8000ms
        Configured node list:\t1, 2
        Ring ID:\t\t1.9
        Membership node list:\t1, 2
        Heuristics:\t\tFail (membership: Fail, regular: Undefined)
        TLS active:\t\tYes (client certificate verified)
        Vote:\t\t\tACK (ACK)
    Node ID 2:
        Client address:\t\t10.79.0.2:40972
        HB interval:\t\t8000ms
        Configured node list:\t1, 2
        Ring ID:\t\t1.9
        Membership node list:\t1, 2
        Heuristics:\t\tPass (membership: Pass, regular: Undefined)
        TLS active:\t\tYes (client certificate verified)
        Vote:\t\t\tNo change (ACK)
`;

const NODES = [
  { name: 'node-a', id: 1 },
  { name: 'node-b', id: 2 },
];

describe('corosync-qnetd-tool output', () => {
  it('reads the server status', () => {
    expect(parseStatus(STATUS)).toEqual({
      address: '10.79.0.100:5403',
      tls: 'Supported (client certificate required)',
      clients: 2,
      clusters: 1,
    });
  });

  it('reads clusters, clients, votes and heuristics', () => {
    const [c] = parseList(LIST);
    expect(c?.name).toBe('rwqd');
    expect(c?.algorithm).toBe('Fifty-Fifty split (KAP Tie-breaker)');
    expect(c?.tieBreaker).toBe('Node with lowest node ID');
    expect(c?.clients).toEqual([
      {
        nodeId: 1,
        address: '10.79.0.1:48566',
        hbIntervalMs: 8000,
        configuredNodes: [1, 2],
        ringId: '1.9',
        membership: [1, 2],
        heuristics: 'Fail',
        heuristicsMembership: 'Fail',
        heuristicsRegular: 'Undefined',
        tls: 'Yes (client certificate verified)',
        vote: 'ACK',
        lastAckNack: 'ACK',
      },
      expect.objectContaining({ nodeId: 2, heuristics: 'Pass', vote: 'No change', lastAckNack: 'ACK' }),
    ]);
    expect(parseList('')).toEqual([]);
  });
});

const whole = (): QdeviceSnapshot => ({
  clusterName: 'rwqd',
  nodes: NODES,
  reachable: true,
  server: parseStatus(STATUS),
  cluster: parseList(LIST)[0],
});

const withClients = (f: (c: NonNullable<QdeviceSnapshot['cluster']>) => void): QdeviceSnapshot => {
  const s = whole();
  const c = structuredClone(s.cluster) as NonNullable<QdeviceSnapshot['cluster']>;
  f(c);
  return { ...s, cluster: c };
};

const cases: Record<string, QdeviceSnapshot> = {
  'qd.certificates': { ...whole(), certProblem: 'no certificate database at /etc/corosync/qnetd/nssdb' },
  'qd.qnetd-down': {
    clusterName: 'rwqd',
    nodes: NODES,
    reachable: false,
    error: "Can't connect to qnetd socket (is QNetd running?): No such file or directory",
  },
  'qd.tls-off': { ...whole(), server: { ...parseStatus(STATUS), tls: 'Unsupported' } },
  'qd.no-cluster': { ...whole(), cluster: undefined },
  'qd.stranger': withClients((c) => {
    (c.clients[1] as { nodeId: number }).nodeId = 7;
  }),
  'qd.node-disconnected': withClients((c) => {
    c.clients.pop();
  }),
  'qd.tls-unverified': withClients((c) => {
    (c.clients[0] as { tls: string }).tls = 'No';
  }),
  'qd.whole-nack': withClients((c) => {
    (c.clients[0] as { vote: string; lastAckNack?: string }).vote = 'NACK';
    delete (c.clients[0] as { lastAckNack?: string }).lastAckNack;
  }),
  'qd.ok': whole(),
};

describe('quorum device health table', () => {
  it('is well formed', () => {
    expect(checkTable(qdeviceTable)).toEqual([]);
  });

  it('every row has a case that lands on it, with one sentence', () => {
    expect(Object.keys(cases)).toEqual(qdeviceTable.rows.map((r) => r.id));
    for (const [row, s] of Object.entries(cases)) {
      const d = qdeviceHealth(s);
      expect(d.row, row).toBe(row);
      expect(d.outcome, row).toBe(row === 'qd.ok' ? 'ok' : 'degraded');
      expect(d.reason, row).not.toMatch(/undefined|NaN|\.\s+[A-Z]/);
    }
    expect(qdeviceHealth(cases['qd.node-disconnected'] as QdeviceSnapshot).reason).toBe(
      'node-b (node id 2) is not connected to qnetd (corosync-qdevice down or unreachable there, or its certificate not signed by this box)',
    );
    expect(qdeviceHealth(whole()).reason).toBe(
      'qnetd serves cluster "rwqd" (Fifty-Fifty split (KAP Tie-breaker)): both nodes connected with verified certificates, votes node-a ACK, node-b ACK',
    );
  });

  it('a split where qnetd NACKs one half is healthy (that is its job)', () => {
    const split = withClients((c) => {
      (c.clients[0] as { membership: number[]; vote: string; lastAckNack: string }).membership = [1];
      (c.clients[0] as { vote: string }).vote = 'NACK';
      (c.clients[0] as { lastAckNack?: string }).lastAckNack = 'NACK';
      (c.clients[1] as { membership: number[] }).membership = [2];
    });
    expect(qdeviceHealth(split).row).toBe('qd.ok');
    expect(nodeViews(split).map((v) => v.vote)).toEqual(['NACK', 'ACK']);
  });

  it('reports changes as one sentence each', () => {
    const before = whole();
    const after = withClients((c) => {
      (c.clients[0] as { vote: string; lastAckNack: string }).lastAckNack = 'NACK';
      (c.clients[0] as { membership: number[] }).membership = [1];
      c.clients.pop();
    });
    expect(qdeviceEvents(before, after)).toEqual([
      { kind: 'qdevice.membership', sentence: 'node-a reports membership node-a (was node-a, node-b).' },
      { kind: 'qdevice.vote', sentence: "qnetd's vote for node-a: ACK → NACK." },
      { kind: 'qdevice.node.disconnected', sentence: 'node-b disconnected from qnetd.' },
    ]);
    expect(qdeviceEvents(undefined, before)).toEqual([]);
  });
});

describe('what qdevice init prints for the nodes', () => {
  const cfg = configSchema.parse({
    qdevice: { cluster_name: 'rack1', nodes: NODES, host: '10.0.0.9', heuristics: { args: '--pgport 5433' } },
  }).qdevice;

  it('a quorum section with the device, TLS, ffsplit and the heuristics; never two_node', () => {
    if (!cfg) throw new Error('no qdevice section');
    const q = quorumSection(cfg, '10.0.0.9');
    expect(q).toContain('provider: corosync_votequorum');
    expect(q).toMatch(/^\s+model: net$/m);
    expect(q).toMatch(/^\s+votes: 1$/m);
    expect(q).toMatch(/^\s+tls: on$/m);
    expect(q).toMatch(/^\s+algorithm: ffsplit$/m);
    expect(q).toMatch(/^\s+exec_pgsql: \/usr\/sbin\/rackwitness-qdevice-heuristics --pgport 5433 --timeout-ms 9000$/m);
    expect(q).toMatch(/^\s+timeout: 10000$/m);
    expect(q).toMatch(/^\s+sync_timeout: 10000$/m);
    expect(q).not.toMatch(/^\s*two_node/m);
    // lms has no use for the heuristics tie-break: no heuristics section
    expect(quorumSection({ ...cfg, algorithm: 'lms' }, 'h')).not.toContain('heuristics');
  });

  it('node steps name the cluster and the nodes in order', () => {
    if (!cfg) throw new Error('no qdevice section');
    const steps = nodeSteps(cfg, '10.0.0.9');
    const order = [
      '-i -c qnetd-cacert.crt',
      '-r -n rack1',
      'rackwitness qdevice sign',
      '-M -c cluster-rack1.crt',
      '-m -c',
    ];
    const at = order.map((o) => steps.indexOf(o));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
  });

  it('each node gets only its own steps: the first makes the cluster certificate, the second imports it', () => {
    if (!cfg) throw new Error('no qdevice section');
    const a = stepsFor(cfg, '10.0.0.9', 'node-a');
    const b = stepsFor(cfg, '10.0.0.9', 'node-b');
    expect(a).toContain('corosync-qdevice-net-certutil -r -n rack1');
    expect(a).toContain('corosync-qdevice-net-certutil -M -c cluster-rack1.crt');
    expect(a).not.toContain('-m -c');
    expect(b).toContain('corosync-qdevice-net-certutil -m -c qdevice-net-node.p12');
    expect(b).not.toContain(' -r -n ');
    for (const x of [a, b]) {
      expect(x).toContain('corosync-qdevice-net-certutil -i -c qnetd-cacert.crt');
      expect(x).toContain('systemctl enable --now corosync-qdevice');
    }
  });
});

describe('qdevice config', () => {
  const load = (q: Record<string, unknown>) => runRules(configSchema.parse({ qdevice: q }), configRules);
  it('refuses two nodes with the same id, and a tie-breaker that is no node', () => {
    expect(
      load({
        cluster_name: 'c',
        nodes: [
          { name: 'a', id: 1 },
          { name: 'b', id: 1 },
        ],
      }),
    ).toEqual([{ path: 'qdevice.nodes', message: 'both nodes have node id 1' }]);
    expect(load({ cluster_name: 'c', nodes: NODES, tie_breaker: '3' })).toEqual([
      { path: 'qdevice.tie_breaker', message: 'tie_breaker 3 is not the node id of node-a (1) or node-b (2)' },
    ]);
    expect(load({ cluster_name: 'c', nodes: NODES, tie_breaker: '2' })).toEqual([]);
    expect(
      runRules(
        configSchema.parse({ status: { http: { port: 5403 } }, qdevice: { cluster_name: 'c', nodes: NODES } }),
        configRules,
      ),
    ).toEqual([{ path: 'qdevice.port', message: 'port 5403 is also the status HTTP port (status.http.port)' }]);
    expect(() => configSchema.parse({ qdevice: { cluster_name: 'c', nodes: [NODES[0]] } })).toThrow(/exactly two/);
  });
});

describe('docs', () => {
  it('docs/partitions.md carries the qdevice and heuristics tables as the code has them', () => {
    const doc = readFileSync(new URL('../../../docs/partitions.md', import.meta.url), 'utf8');
    expect(doc).toContain(tableMarkdown(qdeviceTable));
    expect(doc).toContain(tableMarkdown(heuristicsTable));
  });
});
