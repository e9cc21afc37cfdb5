/**
 * The box as the corosync quorum device, against the real thing (test/fixtures/qdevice-lab.ts):
 * Debian's corosync-qnetd in the box's namespace, real corosync 3 + corosync-qdevice (TLS on,
 * ffsplit) on two nodes in theirs, and rackwitness-qdevice-heuristics driven by a real PG15 pair
 * (test/fixtures/pg-rack.ts) from qdevice's heuristics exec. Node id 1 ("node-a") runs the
 * heuristics against the STANDBY, node id 2 ("node-b") against the PRIMARY, so that the ffsplit
 * tie-breaker (lowest node id) alone would pick the wrong side.
 *
 * In order: `rackwitness qdevice init` sets up qnetd's database with the real
 * corosync-qnetd-certutil and writes what the nodes need; the nodes run the real
 * corosync-qdevice-net-certutil flow with `rackwitness qdevice sign` on the box (a request for
 * another cluster is refused); the observer sees both nodes connected with verified TLS and ACK
 * votes; a partition of the inter-node link leaves only the primary's node quorate; with the
 * primary's node isolated (power loss) the standby's half wins alone although its heuristics
 * fail; a node
 * without qdevice, a node whose certificate a foreign CA signed (it never connects), and qnetd
 * down are each a degraded state with one sentence.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { EventLog } from '../../../src/daemon/events.js';
import type { Service } from '../../../src/daemon/service.js';
import { createQdeviceService } from '../../../src/qdevice/service.js';
import { CLI } from '../../fixtures/cli.js';
import { createPgRack, type PgRack } from '../../fixtures/pg-rack.js';
import { type Spawned, waitFor } from '../../fixtures/proc.js';
import {
  createQdeviceLab,
  inQnetdNs,
  type LabNs,
  QD,
  type QdeviceLab,
  serviceCtx,
  sh,
  writeCorosyncConf,
} from '../../fixtures/qdevice-lab.js';

const CLUSTER = 'rwqd';
const HEURISTICS_JS = join(import.meta.dirname, '../../../dist/agents/pgsql/heuristics.js');

describe('quorum device: qnetd on the box, corosync + qdevice nodes, PostgreSQL-aware heuristics', () => {
  let rack: PgRack;
  let lab: QdeviceLab;
  let cfgFile = '';
  let out = '';
  let svc: Service | undefined;
  let events: EventLog;
  let metricsText: () => Promise<string>;
  const daemons: Record<string, Spawned> = {};
  /** The daemons' last output lines, for a failure message. */
  const dump = () =>
    Object.entries(daemons)
      .map(([k, d]) => `--- ${k}\n${d.output().split('\n').slice(-25).join('\n')}`)
      .join('\n');

  const cli = (ns: LabNs, args: string[]) => lab.exec(ns, process.execPath, [CLI, ...args, '-c', cfgFile]);
  /** corosync-quorumtool -s inside a node: quorate, and how many nodes its membership has. */
  const quorum = async (ns: LabNs) => {
    const out = (await lab.exec(ns, 'corosync-quorumtool', ['-s'], 5000)).stdout;
    return { quorate: /Quorate:\s+Yes/.test(out), nodes: Number(/Nodes:\s+(\d+)/.exec(out)?.[1] ?? 0) };
  };
  const quorate = async (ns: LabNs) => (await quorum(ns)).quorate;
  const snap = () => svc?.snapshot() as Record<string, unknown> & { nodes: Array<Record<string, unknown>> };

  beforeAll(async () => {
    rack = await createPgRack({ prefix: 'rwqd-pg-' });
    await rack.waitStreaming(rack.nodes[0], rack.nodes[1]);
    lab = await createQdeviceLab();
    out = join(lab.dir, 'out');
    cfgFile = join(lab.dir, 'rackwitness.yaml');
    writeFileSync(
      cfgFile,
      JSON.stringify({
        box: { state_dir: join(lab.dir, 'state') },
        status: { enabled: false },
        qdevice: {
          cluster_name: CLUSTER,
          nodes: [
            { name: 'node-a', id: 1 },
            { name: 'node-b', id: 2 },
          ],
          host: QD.addr[QD.box],
          heuristics: {
            command: process.execPath,
            args: `${HEURISTICS_JS} --pghost ${rack.socketDir} --bindir ${rack.bindir} --pgport PGPORT`,
          },
        },
      }),
    );
  }, 120_000);

  afterAll(async () => {
    await svc?.stop();
  });

  it('qdevice init creates the qnetd database with corosync-qnetd-certutil and writes what the nodes need', async () => {
    const r = await cli(QD.box, ['qdevice', 'init', '--write-root', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Created qnetd's certificate database \/etc\/corosync\/qnetd\/nssdb/);
    expect(existsSync(join(lab.etc(QD.box), 'qnetd/nssdb/cert9.db'))).toBe(true);
    const ca = readFileSync(join(out, 'qnetd-cacert.crt'), 'utf8');
    expect(ca).toContain('-----BEGIN CERTIFICATE-----');
    const quorum = readFileSync(join(out, 'corosync.conf.quorum'), 'utf8');
    expect(quorum).toContain(`host: ${QD.addr[QD.box]}`);
    expect(quorum).toContain('algorithm: ffsplit');
    expect(quorum).toContain('tls: on');
    expect(quorum).not.toMatch(/^\s*two_node/m);
    expect(quorum).toMatch(/exec_pgsql: .*heuristics\.js .* --timeout-ms 9000$/m);
    expect(readFileSync(join(out, 'NODE-STEPS.txt'), 'utf8')).toContain(
      `corosync-qdevice-net-certutil -r -n ${CLUSTER}`,
    );
    // and per node, a directory to copy over as is
    for (const n of ['node-a', 'node-b']) {
      expect(readFileSync(join(out, n, 'qnetd-cacert.crt'), 'utf8')).toBe(ca);
      expect(readFileSync(join(out, n, 'corosync.conf.quorum'), 'utf8')).toBe(quorum);
    }
    expect(readFileSync(join(out, 'node-a', 'STEPS.txt'), 'utf8')).toContain(`-M -c cluster-${CLUSTER}.crt`);
    expect(readFileSync(join(out, 'node-b', 'STEPS.txt'), 'utf8')).toContain('-m -c qdevice-net-node.p12');
    // a second run keeps the database (the nodes' certificates stay valid)
    const again = await cli(QD.box, ['qdevice', 'init', '--write-root', out]);
    expect(again.stdout).toMatch(/^Kept qnetd's certificate database/);
    expect(readFileSync(join(out, 'qnetd-cacert.crt'), 'utf8')).toBe(ca);
  });

  it('the nodes follow the steps with the real corosync-qdevice-net-certutil; sign refuses a request for another cluster', async () => {
    // each node uses its own directory of what init wrote (node-a is rwqd-n1, node-b rwqd-n2)
    for (const [ns, node] of [
      [QD.n1, 'node-a'],
      [QD.n2, 'node-b'],
    ] as const) {
      const r = await lab.exec(ns, 'corosync-qdevice-net-certutil', ['-i', '-c', join(out, node, 'qnetd-cacert.crt')]);
      expect(r.code, r.stderr).toBe(0);
    }
    const crq = join(lab.etc(QD.n1), 'qdevice/net/nssdb/qdevice-net-node.crq');
    // a request for the wrong cluster name: refused in one sentence, nothing signed
    expect((await lab.exec(QD.n1, 'corosync-qdevice-net-certutil', ['-r', '-n', 'othercluster'])).code).toBe(0);
    const wrong = await cli(QD.box, ['qdevice', 'sign', '--request', crq, '--out', join(lab.dir, 'wrong.crt')]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr.trim()).toBe(
      `rackwitness: the request is for cluster "othercluster" but qdevice.cluster_name is "${CLUSTER}" (both must equal totem.cluster_name)`,
    );
    expect(existsSync(join(lab.dir, 'wrong.crt'))).toBe(false);

    expect((await lab.exec(QD.n1, 'corosync-qdevice-net-certutil', ['-r', '-n', CLUSTER])).code).toBe(0);
    const signed = join(lab.dir, `cluster-${CLUSTER}.crt`);
    const s = await cli(QD.box, ['qdevice', 'sign', '--request', crq, '--out', signed]);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stdout.trim()).toBe(`Signed the request for cluster "${CLUSTER}": ${signed}`);
    expect((await lab.exec(QD.n1, 'corosync-qdevice-net-certutil', ['-M', '-c', signed])).code).toBe(0);
    const p12 = join(lab.etc(QD.n1), 'qdevice/net/nssdb/qdevice-net-node.p12');
    expect((await lab.exec(QD.n2, 'corosync-qdevice-net-certutil', ['-m', '-c', p12])).code).toBe(0);
    for (const ns of [QD.n1, QD.n2] as const) {
      const l = await sh('certutil', ['-L', '-d', join(lab.etc(ns), 'qdevice/net/nssdb')]);
      expect(l.stdout).toMatch(/Cluster Cert/);
      expect(l.stdout).toMatch(/QNet CA/);
    }
  });

  it('the observer sees qnetd serve both nodes with verified TLS, votes, heuristics and the algorithm', async () => {
    daemons.qnetd = lab.spawn(QD.box, 'corosync-qnetd', [
      '-f',
      '-l',
      QD.addr[QD.box] as string,
      '-p',
      String(QD.port),
      '-s',
      'on',
      '-c',
      'on',
      '-S',
      `local_socket_file=${lab.socket}`,
    ]);
    await waitFor('qnetd socket', () => existsSync(lab.socket), 10_000);
    const quorum = readFileSync(join(out, 'node-a', 'corosync.conf.quorum'), 'utf8');
    // node-a (id 1) judges the standby, node-b (id 2) the primary
    const [primary, standby] = rack.nodes;
    writeCorosyncConf(lab.etc(QD.n1), CLUSTER, quorum.replace('PGPORT', String(standby.port)));
    writeCorosyncConf(lab.etc(QD.n2), CLUSTER, quorum.replace('PGPORT', String(primary.port)));
    for (const ns of [QD.n1, QD.n2] as const) daemons[`corosync-${ns}`] = lab.spawn(ns, 'corosync', ['-f']);
    await waitFor(
      'corosync up on both nodes',
      async () => (await quorate(QD.n1)) && (await quorate(QD.n2)),
      30_000,
      200,
    );
    for (const ns of [QD.n1, QD.n2] as const)
      daemons[`qdevice-${ns}`] = lab.spawn(ns, 'corosync-qdevice', ['-f', '-d']);

    const t = serviceCtx({
      ...JSON.parse(readFileSync(cfgFile, 'utf8')).qdevice,
      socket: lab.socket,
      nssdb_dir: join(lab.etc(QD.box), 'qnetd/nssdb'),
      poll_interval_s: 0.3,
    });
    events = t.events;
    metricsText = () => t.metrics.metrics();
    svc = createQdeviceService(t.ctx);
    await svc.start();
    await waitFor(
      'both nodes connected with ACK votes',
      () => svc?.health().state === 'ok' && snap().nodes.every((n) => n.vote === 'ACK'),
      40_000,
      200,
    ).catch((e) => {
      throw new Error(`${(e as Error).message}\n${JSON.stringify(snap(), null, 1)}\n${dump()}`);
    });
    const s = snap();
    expect(s.summary).toBe(
      `qnetd serves cluster "${CLUSTER}" (Fifty-Fifty split (KAP Tie-breaker)): both nodes connected with verified certificates, votes node-a ACK, node-b ACK`,
    );
    expect(s.qnetd).toMatchObject({
      up: true,
      tls: 'Supported (client certificate required)',
      connected_clients: 2,
      connected_clusters: 1,
      certificates: 'ok',
    });
    expect(s.tie_breaker).toBe('Node with lowest node ID');
    for (const n of s.nodes) {
      expect(n).toMatchObject({
        connected: true,
        tls: 'Yes (client certificate verified)',
        membership: ['node-a', 'node-b'],
      });
    }
    // heuristics ran through qdevice's exec against PostgreSQL: the standby's node fails, the primary's passes
    await waitFor(
      'heuristics results',
      () => snap().nodes.every((n) => n.heuristics !== null && n.heuristics !== 'Undefined'),
      20_000,
      200,
    );
    expect(snap().nodes.map((n) => [n.name, n.heuristics])).toEqual([
      ['node-a', 'Fail'],
      ['node-b', 'Pass'],
    ]);
    const m = await metricsText();
    expect(m).toMatch(/^rackwitness_qdevice_qnetd_up 1$/m);
    expect(m).toMatch(/^rackwitness_qdevice_node_connected\{node="node-a"\} 1$/m);
    expect(m).toMatch(/^rackwitness_qdevice_node_heuristics_pass\{node="node-b"\} 1$/m);
    const ents = svc.entities?.() ?? [];
    expect(ents.map((e) => e.topic)).toEqual(['qdevice/qnetd', 'qdevice/node-a', 'qdevice/node-b']);
    expect(events.list().some((e) => e.kind === 'qdevice.ok')).toBe(true);
  }, 120_000);

  it('a partition of the inter-node link leaves only the primary’s node quorate (not the tie-breaker’s)', async () => {
    /** [ms since the cut, node-a quorate, node-b quorate, both see only themselves] every ~100 ms */
    const samples: Array<[number, boolean, boolean, boolean]> = [];
    let t0 = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const [a, b] = await Promise.all([quorum(QD.n1), quorum(QD.n2)]);
        if (t0 > 0) samples.push([performance.now() - t0, a.quorate, b.quorate, a.nodes === 1 && b.nodes === 1]);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    t0 = performance.now();
    await lab.partition();
    onTestFinished(() => lab.heal());
    await waitFor(
      'node-b alone quorate',
      async () => !(await quorate(QD.n1)) && (await quorate(QD.n2)),
      30_000,
      200,
    ).catch(async (e) => {
      sampling = false;
      const list = (await sh('corosync-qnetd-tool', ['-l', '-v', '-p', lab.socket])).stdout;
      throw new Error(`${(e as Error).message}\n${list}\n${dump()}`);
    });
    const decidedS = (performance.now() - t0) / 1000;
    // it stays so: node-a (lowest node id, the tie-breaker's pick) never gets the vote while cut
    await new Promise((r) => setTimeout(r, 3000));
    sampling = false;
    await sampler;
    expect(await quorate(QD.n1)).toBe(false);
    expect(await quorate(QD.n2)).toBe(true);
    // until corosync notices the cut (token + consensus) both keep the old two-node membership;
    // once both see only themselves no sample has both quorate, and after the decision node-a never is
    expect(samples.filter(([, , , split]) => split).length).toBeGreaterThan(10);
    expect(samples.filter(([, a, b, split]) => split && a && b)).toEqual([]);
    expect(samples.filter(([t, a]) => t > decidedS * 1000 + 200 && a)).toEqual([]);
    await waitFor(
      'qnetd NACKs node-a',
      () => snap().nodes.find((n) => n.name === 'node-a')?.vote === 'NACK',
      10_000,
      200,
    );
    expect(snap().nodes.find((n) => n.name === 'node-b')?.vote).toBe('ACK');
    expect(events.list().some((e) => e.kind === 'qdevice.vote' && /node-a: ACK → NACK/.test(e.sentence))).toBe(true);
    process.stdout.write(
      `[qdevice-lab] partition → node-b alone quorate in ${decidedS.toFixed(1)} s (token 1000 ms)\n`,
    );

    await lab.heal();
    await waitFor('both quorate again', async () => (await quorate(QD.n1)) && (await quorate(QD.n2)), 30_000, 200);
  }, 90_000);

  it('the primary’s node lost (isolated like a power loss): the standby’s half wins alone, its heuristics failing', async () => {
    const t0 = performance.now();
    await sh('ip', ['-n', QD.sw, 'link', 'set', 'q2', 'down']);
    try {
      // node-a's heuristics still fail (its standby streams), yet once qnetd drops node-b's
      // silent client the lone half gets the vote: ffsplit prefers a half with a client to none
      await waitFor(
        'node-a alone quorate',
        async () => {
          const q = await quorum(QD.n1);
          return q.quorate && q.nodes === 1;
        },
        60_000,
        250,
      );
      const s = (performance.now() - t0) / 1000;
      // the observer polls every 0.3 s: its next view shows node-b dropped and node-a's ACK
      await waitFor(
        'the box sees node-b dropped',
        () => snap().nodes.find((n) => n.name === 'node-b')?.connected === false,
        5000,
        100,
      );
      expect(snap().nodes.find((n) => n.name === 'node-a')).toMatchObject({
        connected: true,
        vote: 'ACK',
        heuristics: 'Fail',
      });
      process.stdout.write(`[qdevice-lab] node-b isolated → node-a alone quorate in ${s.toFixed(1)} s\n`);
    } finally {
      await sh('ip', ['-n', QD.sw, 'link', 'set', 'q2', 'up']);
    }
    await waitFor(
      'both quorate and connected again',
      async () => (await quorate(QD.n1)) && (await quorate(QD.n2)) && snap().nodes.every((n) => n.connected),
      60_000,
      250,
    );
  }, 150_000);

  it('a node whose certificate another CA signed never connects, and qnetd down: each degraded with one sentence', async () => {
    await daemons[`qdevice-${QD.n1}`]?.kill('SIGKILL');
    await waitFor(
      'node-a disconnected',
      () => {
        const s = snap();
        // a throw is what waitFor reports when the time runs out: say what the box saw instead
        if (s.row !== 'qd.node-disconnected') throw new Error(`row ${String(s.row)}: ${svc?.health().reason}`);
        return true;
      },
      30_000,
      200,
    );
    expect(svc?.health()).toEqual({
      state: 'degraded',
      reason:
        'node-a (node id 1) is not connected to qnetd (corosync-qdevice down or unreachable there, or its certificate not signed by this box)',
    });
    expect(events.list().some((e) => e.kind === 'qdevice.node.disconnected')).toBe(true);

    // node-a gets a cluster certificate from a foreign CA (another qnetd's), with the real tools
    const foreign = join(lab.dir, 'foreign');
    mkdirSync(foreign);
    const inForeign = (script: string) => inQnetdNs(foreign, script);
    expect((await inForeign('corosync-qnetd-certutil -i')).code).toBe(0);
    const nssdb = join(lab.etc(QD.n1), 'qdevice/net/nssdb');
    renameSync(nssdb, `${nssdb}.box`);
    const n1 = (args: string[]) => lab.exec(QD.n1, 'corosync-qdevice-net-certutil', args);
    expect((await n1(['-i', '-c', join(foreign, 'nssdb/qnetd-cacert.crt')])).code).toBe(0);
    expect((await n1(['-r', '-n', CLUSTER])).code).toBe(0);
    expect((await inForeign(`corosync-qnetd-certutil -s -c ${nssdb}/qdevice-net-node.crq -n ${CLUSTER}`)).code).toBe(0);
    expect((await n1(['-M', '-c', join(foreign, `nssdb/cluster-${CLUSTER}.crt`)])).code).toBe(0);
    const mismatched = lab.spawn(QD.n1, 'corosync-qdevice', ['-f', '-d']);
    daemons.mismatched = mismatched;
    // it tries, the TLS handshake fails (qdevice 3.0.3 logs only "Unhandled error when reading from
    // server"), it retries; the box keeps saying node-a is not connected
    const why = await mismatched.waitFor(/^.*Unhandled error when reading from server.*$/m, 20_000).catch((e) => {
      throw new Error(`${(e as Error).message}\n${dump()}`);
    });
    process.stdout.write(`[qdevice-lab] node-a with a foreign certificate: ${why[0].trim()}\n`);
    await new Promise((r) => setTimeout(r, 2000));
    expect(snap().row).toBe('qd.node-disconnected');
    expect(snap().nodes.find((n) => n.name === 'node-a')?.connected).toBe(false);

    await daemons.qnetd?.kill('SIGKILL');
    await waitFor('qnetd down', () => snap().row === 'qd.qnetd-down', 10_000, 200);
    expect(svc?.health().reason).toMatch(
      /^qnetd does not answer \(.+\): the rack has no quorum-device vote and a split now stops both nodes$/,
    );
    expect(await metricsText()).toMatch(/^rackwitness_qdevice_qnetd_up 0$/m);
  }, 60_000);
});
