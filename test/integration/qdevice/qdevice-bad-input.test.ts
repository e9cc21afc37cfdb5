/**
 * The quorum device's bad inputs against the real Debian tools, without the namespace lab: qnetd
 * on loopback with its own directories (its database made by the real corosync-qnetd-certutil in
 * a private mount namespace, over its hard-coded /etc/corosync/qnetd), a database without
 * certificates, qnetd without any client, and qnetd gone. Each is one sentence.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EventLog } from '../../../src/daemon/events.js';
import type { Service } from '../../../src/daemon/service.js';
import { createQdeviceService } from '../../../src/qdevice/service.js';
import { CLI, runCli, startDaemon } from '../../fixtures/cli.js';
import { promtoolCheckMetrics } from '../../fixtures/monitoring.js';
import { cleanupDir, freePort, onCleanup, type Spawned, spawnProc, tempDir, waitFor } from '../../fixtures/proc.js';
import { inQnetdNs, serviceCtx, sh } from '../../fixtures/qdevice-lab.js';

function service(qdevice: Record<string, unknown>): { svc: Service; events: EventLog } {
  const { ctx, events } = serviceCtx(qdevice);
  return { svc: createQdeviceService(ctx), events };
}

const BASE = {
  cluster_name: 'rwqdbad',
  nodes: [
    { name: 'node-a', id: 1 },
    { name: 'node-b', id: 2 },
  ],
  poll_interval_s: 0.2,
};

describe('quorum device bad input, real qnetd tools', () => {
  let dir = '';
  let good = '';
  beforeAll(async () => {
    dir = cleanupDir(tempDir('rwqd-bad-'));
    good = join(dir, 'good');
    mkdirSync(good);
    const r = await inQnetdNs(good, 'corosync-qnetd-certutil -i');
    expect(r.code, r.stderr).toBe(0);
  });

  it('qdevice init refuses a database without its certificates, in one sentence', async () => {
    const bad = join(dir, 'bad');
    mkdirSync(join(bad, 'nssdb'), { recursive: true });
    writeFileSync(join(bad, 'nssdb', 'pwdfile.txt'), '');
    // a database with no certificates in it (what a half-done setup leaves)
    expect((await sh('certutil', ['-N', '-d', join(bad, 'nssdb'), '-f', join(bad, 'nssdb', 'pwdfile.txt')])).code).toBe(
      0,
    );
    const cfg = join(dir, 'rw.yaml');
    writeFileSync(cfg, JSON.stringify({ status: { enabled: false }, qdevice: { ...BASE, host: '192.0.2.1' } }));
    const r = await inQnetdNs(
      bad,
      `exec ${process.execPath} ${CLI} qdevice init -c ${cfg} --write-root ${join(dir, 'out')}`,
    );
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      'rackwitness: the "QNet CA" certificate is missing from /etc/corosync/qnetd/nssdb: the database exists but is incomplete; move /etc/corosync/qnetd/nssdb aside and run rackwitness qdevice init again (the nodes then need the new CA)',
    );
    expect(existsSync(join(dir, 'out'))).toBe(false);

    // a good database is kept, and without --write-root everything goes to stdout
    const shown = await inQnetdNs(good, `exec ${process.execPath} ${CLI} qdevice init -c ${cfg}`);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/^Kept qnetd's certificate database \/etc\/corosync\/qnetd\/nssdb/);
    expect(shown.stdout).toContain('# ---- qnetd-cacert.crt (copy to every node) ----\n-----BEGIN CERTIFICATE-----');
    expect(shown.stdout).toContain('host: 192.0.2.1');
    expect(shown.stdout).toContain('corosync-qdevice-net-certutil -r -n rwqdbad');
    // no address for the nodes: one sentence naming the key and the flag
    const noHost = join(dir, 'nohost.yaml');
    writeFileSync(noHost, JSON.stringify({ status: { enabled: false }, qdevice: BASE }));
    const r2 = await inQnetdNs(good, `exec ${process.execPath} ${CLI} qdevice init -c ${noHost}`);
    expect(r2.code).toBe(1);
    expect(r2.stderr.trim()).toBe(
      'rackwitness: qdevice.host is not set: give the address the nodes reach the box at with --host',
    );
  });

  it('missing certificates, no client, and qnetd gone: each a degraded state with one sentence', async () => {
    const socket = join(dir, 'qnetd.sock');
    // no database at all, and no qnetd yet: the certificates come first
    const none = service({ ...BASE, socket, nssdb_dir: join(dir, 'nowhere') });
    await none.svc.start();
    expect(none.svc.health()).toEqual({
      state: 'degraded',
      reason: `qnetd certificates: no certificate database at ${join(dir, 'nowhere')}; the nodes cannot connect with TLS (run rackwitness qdevice init)`,
    });
    await none.svc.stop();

    const port = await freePort();
    const qnetd: Spawned = spawnProc('corosync-qnetd', [
      '-f',
      '-l',
      '127.0.0.1',
      '-p',
      String(port),
      '-s',
      'on',
      '-c',
      'on',
      '-S',
      `nss_db_dir=${join(good, 'nssdb')},lock_file=${join(dir, 'qnetd.pid')},local_socket_file=${socket}`,
    ]);
    onCleanup(() => qnetd.kill('SIGKILL'));
    await waitFor('qnetd socket', () => existsSync(socket), 10_000);
    const { svc, events } = service({ ...BASE, socket, nssdb_dir: join(good, 'nssdb') });
    await svc.start();
    try {
      expect(svc.health()).toEqual({
        state: 'degraded',
        reason:
          'no node of cluster "rwqdbad" is connected to qnetd (corosync-qdevice down, unreachable, or its certificate not signed by this box)',
      });
      expect(svc.snapshot()).toMatchObject({
        qnetd: { up: true, address: `127.0.0.1:${port}`, certificates: 'ok', connected_clients: 0 },
      });
      // the same through the real daemon: rackwitness status and /metrics
      const http = await freePort();
      const file = join(dir, 'daemon.yaml');
      writeFileSync(
        file,
        JSON.stringify({
          box: { name: 'rwqd', state_dir: join(dir, 'state') },
          control: { socket: join(dir, 'control.sock') },
          status: { mqtt: { enabled: false }, http: { host: '127.0.0.1', port: http } },
          qdevice: { ...BASE, socket, nssdb_dir: join(good, 'nssdb') },
        }),
      );
      const daemon = await startDaemon(['--config', file]);
      try {
        const st = await runCli(['status', '--json', '-c', file]);
        const q = (
          JSON.parse(st.stdout) as { services: Array<{ name: string; health: unknown; snapshot: unknown }> }
        ).services.find((x) => x.name === 'qdevice');
        expect(q?.health).toEqual(svc.health());
        expect(q?.snapshot).toMatchObject({ cluster_name: 'rwqdbad', qnetd: { up: true, connected_clusters: 0 } });
        const metrics = await (await fetch(`http://127.0.0.1:${http}/metrics`)).text();
        expect(metrics).toMatch(/^rackwitness_qdevice_qnetd_up 1$/m);
        expect(metrics).toMatch(/^rackwitness_qdevice_node_connected\{node="node-a"\} 0$/m);
        expect(promtoolCheckMetrics(metrics)).toEqual({ code: 0, output: '' });
      } finally {
        await daemon.kill('SIGTERM');
      }

      await qnetd.kill('SIGKILL');
      await waitFor('qnetd down', () => (svc.snapshot() as { row: string }).row === 'qd.qnetd-down', 5000);
      // a poll that was mid-answer when qnetd died reads "closed its socket"; the next one is refused
      await waitFor('connection refused', () => /Connection refused/.test(svc.health().reason ?? ''), 5000);
      expect(svc.health().reason).toBe(
        "qnetd does not answer (Can't connect to qnetd socket (is QNetd running?): Connection refused): the rack has no quorum-device vote and a split now stops both nodes",
      );
      // the same row again when only the clause changed (a torn answer, then refused)
      expect([...new Set(events.list().map((e) => e.kind))]).toEqual(['qdevice.no-cluster', 'qdevice.qnetd-down']);
    } finally {
      await svc.stop();
    }
  });
});
