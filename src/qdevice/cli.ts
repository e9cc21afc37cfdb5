/**
 * `rackwitness qdevice init` and `rackwitness qdevice sign`: the certificate flow of the corosync
 * quorum device for people without pcs, carried out with Debian's own tools. init sets up qnetd's
 * certificate database on the box (corosync-qnetd-certutil -i, once) and prints, or writes below
 * --write-root, exactly what the nodes need: the box's CA certificate, corosync.conf's quorum
 * section, and the node steps in order. sign signs a node's certificate request for the rack's
 * cluster after checking that the request names that cluster.
 */
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { type ConfigOpts, withConfigOption } from '../cli/config-source.js';
import { CERTUTIL_DB, checkQnetdDb, exec, exportCa, nodeSteps, quorumSection, stepsFor } from './certs.js';
import type { QdeviceConfig } from './config.js';

const TIMEOUT_MS = 60_000;

async function qdeviceSection(opts: ConfigOpts): Promise<QdeviceConfig> {
  const { loadFor } = await import('../cli/config-source.js');
  const { config } = await loadFor(opts, { skipFileChecks: true });
  if (!config.qdevice) throw new Error('the config has no qdevice section (cluster_name, nodes, host)');
  return config.qdevice;
}

/** Creates qnetd's database when there is none; refuses a database that lacks its certificates. */
export async function ensureQnetdDb(certutilCmd = 'corosync-qnetd-certutil'): Promise<'created' | 'kept'> {
  const problem = await checkQnetdDb(CERTUTIL_DB, TIMEOUT_MS);
  if (problem === undefined) return 'kept';
  const hasDb = existsSync(join(CERTUTIL_DB, 'cert9.db')) || existsSync(join(CERTUTIL_DB, 'cert8.db'));
  if (hasDb)
    throw new Error(
      `${problem}: the database exists but is incomplete; move ${CERTUTIL_DB} aside and run rackwitness qdevice init again (the nodes then need the new CA)`,
    );
  const r = await exec(certutilCmd, ['-i'], TIMEOUT_MS);
  if (r.code !== 0)
    throw new Error(
      `${certutilCmd} -i failed (exit ${r.code}): ${(r.stderr.trim() || r.stdout.trim()).split('\n').pop()}`,
    );
  const after = await checkQnetdDb(CERTUTIL_DB, TIMEOUT_MS);
  if (after) throw new Error(`${certutilCmd} -i ran but ${after}`);
  return 'created';
}

export interface InitResult {
  database: 'created' | 'kept';
  caPem: string;
  quorum: string;
  steps: string;
  files: string[];
}

export async function qdeviceInit(
  c: QdeviceConfig,
  o: { host?: string; writeRoot?: string; certutil?: string },
): Promise<InitResult> {
  const host = o.host ?? c.host;
  if (!host) throw new Error('qdevice.host is not set: give the address the nodes reach the box at with --host');
  const database = await ensureQnetdDb(o.certutil);
  const caPem = await exportCa(CERTUTIL_DB, TIMEOUT_MS);
  const quorum = quorumSection(c, host);
  const steps = nodeSteps(c, host);
  const files: string[] = [];
  if (o.writeRoot) {
    const root = resolve(o.writeRoot);
    mkdirSync(root, { recursive: true, mode: 0o755 });
    const put = (name: string, text: string) => {
      const p = join(root, name);
      writeFileSync(p, text, { mode: 0o644 });
      files.push(p);
    };
    put('qnetd-cacert.crt', caPem);
    put('corosync.conf.quorum', quorum);
    put('NODE-STEPS.txt', steps);
    // what each node needs, in a directory of its own to copy over as is
    for (const n of c.nodes) {
      mkdirSync(join(root, n.name), { recursive: true, mode: 0o755 });
      put(join(n.name, 'qnetd-cacert.crt'), caPem);
      put(join(n.name, 'corosync.conf.quorum'), quorum);
      put(join(n.name, 'STEPS.txt'), stepsFor(c, host, n.name));
    }
  }
  return { database, caPem, quorum, steps, files };
}

/** The CN of a certificate request (DER or PEM), via openssl; undefined when it cannot be read. */
async function requestCluster(file: string): Promise<string | undefined> {
  for (const form of ['DER', 'PEM']) {
    const r = await exec('openssl', ['req', '-inform', form, '-in', file, '-noout', '-subject'], TIMEOUT_MS);
    const m = /CN\s*=\s*([^,/\n]+)/.exec(r.stdout);
    if (r.code === 0 && m) return (m[1] as string).trim();
  }
  return undefined;
}

export async function qdeviceSign(
  c: QdeviceConfig,
  o: { request: string; out?: string; certutil?: string },
): Promise<string> {
  const req = resolve(o.request);
  if (!existsSync(req)) throw new Error(`certificate request ${req} does not exist`);
  const cn = await requestCluster(req);
  if (cn === undefined) throw new Error(`${req} is not a certificate request openssl can read`);
  if (cn !== c.cluster_name)
    throw new Error(
      `the request is for cluster "${cn}" but qdevice.cluster_name is "${c.cluster_name}" (both must equal totem.cluster_name)`,
    );
  const problem = await checkQnetdDb(CERTUTIL_DB, TIMEOUT_MS);
  if (problem) throw new Error(`${problem}; run rackwitness qdevice init first`);
  const certutil = o.certutil ?? 'corosync-qnetd-certutil';
  const r = await exec(certutil, ['-s', '-c', req, '-n', c.cluster_name], TIMEOUT_MS);
  const signed = join(CERTUTIL_DB, `cluster-${c.cluster_name}.crt`);
  if (r.code !== 0 || !existsSync(signed))
    throw new Error(
      `${certutil} -s failed (exit ${r.code}): ${(r.stderr.trim() || r.stdout.trim()).split('\n').pop()}`,
    );
  const out = resolve(o.out ?? basename(signed));
  if (out !== signed) copyFileSync(signed, out);
  return out;
}

export function registerQdeviceCli(program: Command): void {
  const q = program
    .command('qdevice')
    .description('The box as the corosync quorum device (Debian corosync-qnetd): certificates and node setup.');
  withConfigOption(
    q
      .command('init')
      .description(
        "Set up qnetd's certificate database (once) and print what each node needs: the CA, corosync.conf's quorum section, the steps.",
      )
      .option('--host <addr>', 'address the nodes reach qnetd at (default: qdevice.host)')
      .option(
        '--write-root <dir>',
        'write qnetd-cacert.crt, corosync.conf.quorum and NODE-STEPS.txt there instead of printing them',
      ),
  ).action(async (o: ConfigOpts & { host?: string; writeRoot?: string }) => {
    const c = await qdeviceSection(o);
    const r = await qdeviceInit(c, o);
    const db =
      r.database === 'created'
        ? `Created qnetd's certificate database ${CERTUTIL_DB} (CA "QNet CA", server certificate "QNetd Cert").`
        : `Kept qnetd's certificate database ${CERTUTIL_DB} (CA and server certificate present).`;
    if (o.writeRoot) {
      process.stdout.write(`${db}\nWrote:\n${r.files.map((f) => `  ${f}`).join('\n')}\n`);
      return;
    }
    process.stdout.write(
      `${db}\n\n# ---- qnetd-cacert.crt (copy to every node) ----\n${r.caPem}\n# ---- corosync.conf: the quorum section (both nodes) ----\n${r.quorum}\n# ---- the steps ----\n${r.steps}`,
    );
  });
  withConfigOption(
    q
      .command('sign')
      .description("Sign a node's certificate request (qdevice-net-node.crq) for the rack's cluster.")
      .requiredOption('--request <file>', 'the request from corosync-qdevice-net-certutil -r')
      .option('--out <file>', 'where to put the signed certificate (default: ./cluster-<name>.crt)'),
  ).action(async (o: ConfigOpts & { request: string; out?: string }) => {
    const c = await qdeviceSection(o);
    const out = await qdeviceSign(c, o);
    process.stdout.write(`Signed the request for cluster "${c.cluster_name}": ${out}\n`);
  });
}
