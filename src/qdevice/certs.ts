/**
 * The certificate side of the quorum device: checks of qnetd's NSS database (certutil -L), and the
 * corosync.conf quorum section and node steps `rackwitness qdevice init` prints. The flow is the
 * one pcs automates, run with the Debian tools themselves (corosync-qnetd-certutil on the box,
 * corosync-qdevice-net-certutil on the nodes); rackwitness only orchestrates and explains it.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { QdeviceConfig } from './config.js';

/** The nicknames corosync-qnetd-certutil gives the CA and qnetd's own certificate. */
export const CA_NICKNAME = 'QNet CA';
export const SERVER_NICKNAME = 'QNetd Cert';
/** Where corosync-qnetd-certutil works; it has no option to change it. */
export const CERTUTIL_DB = '/etc/corosync/qnetd/nssdb';

export interface Exec {
  code: number;
  stdout: string;
  stderr: string;
}

export function exec(cmd: string, args: string[], timeoutMs: number, input?: string): Promise<Exec> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { timeout: timeoutMs, killSignal: 'SIGKILL', env: { ...process.env, LC_ALL: 'C' } },
      (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { killed?: boolean }) | null;
        const code = !e ? 0 : typeof e.code === 'number' ? e.code : e.code === 'ENOENT' ? 127 : 1;
        resolve({
          code,
          stdout: String(stdout),
          stderr: String(stderr) || (e?.killed ? `timed out after ${timeoutMs} ms` : e ? e.message : ''),
        });
      },
    );
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input ?? '');
  });
}

/**
 * Whether qnetd's database holds the CA and the server certificate. Undefined when fine (or when
 * the database cannot be read by this user: then nothing is claimed), else one clause.
 */
export async function checkQnetdDb(dir: string, timeoutMs: number): Promise<string | undefined> {
  if (!existsSync(dir)) return `no certificate database at ${dir}`;
  if (!existsSync(join(dir, 'cert9.db')) && !existsSync(join(dir, 'cert8.db')))
    return `${dir} holds no NSS certificate database (cert9.db)`;
  for (const nick of [CA_NICKNAME, SERVER_NICKNAME]) {
    const r = await exec('certutil', ['-L', '-d', dir, '-n', nick], timeoutMs);
    if (r.code === 127) return 'certutil is not installed (apt install libnss3-tools)';
    if (r.code !== 0) {
      if (/permission|SEC_ERROR_READ_ONLY|Permission denied/i.test(r.stderr)) return undefined;
      return `the "${nick}" certificate is missing from ${dir}`;
    }
  }
  return undefined;
}

/** The CA certificate in PEM, exported from the database (the nodes import it). */
export async function exportCa(dir: string, timeoutMs: number): Promise<string> {
  const r = await exec('certutil', ['-L', '-d', dir, '-n', CA_NICKNAME, '-a'], timeoutMs);
  if (r.code !== 0 || !r.stdout.includes('BEGIN CERTIFICATE'))
    throw new Error(
      `cannot export the "${CA_NICKNAME}" certificate from ${dir}: ${r.stderr.trim() || `certutil exited ${r.code}`}`,
    );
  return r.stdout;
}

/** The node id a tie_breaker value means in corosync.conf. */
function tieBreaker(c: QdeviceConfig): string {
  return c.tie_breaker;
}

/**
 * corosync.conf's quorum section for the nodes: votequorum with the box as quorum device, TLS on,
 * and (with ffsplit) the PostgreSQL-aware heuristics. No two_node: corosync refuses it with a
 * quorum device; the device's vote replaces it (expected votes 3, quorum 2).
 */
export function quorumSection(c: QdeviceConfig, host: string): string {
  const h = c.heuristics;
  const timeoutMs = Math.round(h.timeout_s * 1000);
  const exec = [h.command, h.args.trim(), `--timeout-ms ${Math.max(200, timeoutMs - 1000)}`].filter((x) => x).join(' ');
  const heur =
    h.enabled && c.algorithm === 'ffsplit'
      ? [
          '        heuristics {',
          '            mode: sync',
          `            timeout: ${timeoutMs}`,
          `            sync_timeout: ${timeoutMs}`,
          `            exec_pgsql: ${exec}`,
          '        }',
        ]
      : [];
  return [
    'quorum {',
    '    provider: corosync_votequorum',
    '    # no two_node here: corosync refuses two_node together with a quorum device;',
    '    # the device vote replaces it (expected votes 3, quorum 2)',
    '    device {',
    '        model: net',
    '        votes: 1',
    '        net {',
    `            host: ${host}`,
    `            port: ${c.port}`,
    `            algorithm: ${c.algorithm}`,
    `            tie_breaker: ${tieBreaker(c)}`,
    '            tls: on',
    '        }',
    ...heur,
    '    }',
    '}',
    '',
  ].join('\n');
}

/** The shell steps for the nodes (and the one step back on the box), in order. */
export function nodeSteps(c: QdeviceConfig, host: string): string {
  const [first, second] = c.nodes;
  const a = first?.name ?? 'node-a';
  const b = second?.name ?? 'node-b';
  const crq = '/etc/corosync/qdevice/net/nssdb/qdevice-net-node.crq';
  const p12 = '/etc/corosync/qdevice/net/nssdb/qdevice-net-node.p12';
  return [
    `# Quorum device for cluster "${c.cluster_name}": what each node needs (written by rackwitness qdevice init).`,
    '# Run each block on the machine it names, as root, in order. Package on the nodes: corosync-qdevice.',
    '',
    `# 1. on ${a} AND ${b}: copy qnetd-cacert.crt from the box, then create the node database with the box's CA`,
    'corosync-qdevice-net-certutil -i -c qnetd-cacert.crt',
    '',
    `# 2. on ${a}: a certificate request for the cluster (the name must equal totem.cluster_name)`,
    `corosync-qdevice-net-certutil -r -n ${c.cluster_name}`,
    `#    copy ${crq} to the box`,
    '',
    `# 3. on the box (${host}): sign it`,
    `#    rackwitness qdevice sign --request qdevice-net-node.crq --out cluster-${c.cluster_name}.crt`,
    `#    copy cluster-${c.cluster_name}.crt back to ${a}`,
    '',
    `# 4. on ${a}: import the signed certificate (creates ${p12})`,
    `corosync-qdevice-net-certutil -M -c cluster-${c.cluster_name}.crt`,
    `#    copy ${p12} to ${b} (it holds the cluster's private key: scp, mode 0600)`,
    '',
    `# 5. on ${b}: import the cluster certificate and key`,
    'corosync-qdevice-net-certutil -m -c qdevice-net-node.p12',
    '',
    '# 6. on both: put the quorum section (corosync.conf.quorum) into /etc/corosync/corosync.conf,',
    '#    remove two_node, then: corosync-cfgtool -R (or restart corosync), and',
    '#    systemctl enable --now corosync-qdevice   # it must start after corosync on every boot',
    '',
  ].join('\n');
}

/**
 * What one node does, in order (the first node makes the cluster certificate, the second imports
 * it). `<staging root>/<node>/STEPS.txt` holds this next to the files it names.
 */
export function stepsFor(c: QdeviceConfig, host: string, node: string): string {
  const [first, second] = c.nodes;
  const a = first?.name ?? 'node-a';
  const b = second?.name ?? 'node-b';
  const db = '/etc/corosync/qdevice/net/nssdb';
  const head = [
    `# ${node}: joining the quorum device of cluster "${c.cluster_name}" at ${host}:${c.port} (written by rackwitness qdevice init).`,
    '# As root, in order. Package: corosync-qdevice. The files named here are in this directory.',
    '',
    '# 1. the node database, trusting the box CA',
    'corosync-qdevice-net-certutil -i -c qnetd-cacert.crt',
    '',
  ];
  const middle =
    node === a
      ? [
          `# 2. a certificate request for the cluster (the name must equal totem.cluster_name)`,
          `corosync-qdevice-net-certutil -r -n ${c.cluster_name}`,
          `#    copy ${db}/qdevice-net-node.crq to the box, and there run:`,
          '#    rackwitness qdevice sign --request qdevice-net-node.crq',
          `#    then copy cluster-${c.cluster_name}.crt back here`,
          '',
          '# 3. import the signed certificate (makes the cluster key and certificate, qdevice-net-node.p12)',
          `corosync-qdevice-net-certutil -M -c cluster-${c.cluster_name}.crt`,
          `#    copy ${db}/qdevice-net-node.p12 to ${b} (it holds the cluster's private key: scp, mode 0600)`,
          '',
        ]
      : [
          `# 2. import the cluster key and certificate made on ${a} (${db}/qdevice-net-node.p12 there)`,
          'corosync-qdevice-net-certutil -m -c qdevice-net-node.p12',
          '',
        ];
  return [
    ...head,
    ...middle,
    '# last: replace the quorum section of /etc/corosync/corosync.conf by corosync.conf.quorum (two_node',
    '#    goes away), the same on both nodes, then reload corosync (corosync-cfgtool -R) and start',
    '#    qdevice on every boot after corosync:',
    'systemctl enable --now corosync-qdevice',
    '',
  ].join('\n');
}
