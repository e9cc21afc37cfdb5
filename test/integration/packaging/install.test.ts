/**
 * The Debian packages, installed as a user would: `npm run package`'s two .debs go into a fresh
 * Debian 12 root (mmdebstrap, cached: test/fixtures/debian-root.ts; the first run builds the
 * cache, a few minutes) with dpkg -i and no network, and are checked there:
 *   - rackwitness-agents runs on Debian 12's own nodejs 18: fence_rackwitness -o metadata
 *     validates against fence-agents' RelaxNG, the OCF agent's meta-data against ra-api-1.dtd
 *     (both schemas from the host's fence-agents and resource-agents packages);
 *   - rackwitness (the box, Node >= 20) is refused by its preinst on that nodejs 18 before
 *     anything is unpacked, naming the version needed;
 *   - with a Node 20 nodejs package (this test packs the Node 20 binary that runs it) the box
 *     installs: the user exists, nothing is enabled, `rackwitness config check` accepts the
 *     example config as the daemon user, `systemd-analyze verify` of the installed unit is silent;
 *   - purge (after the admin enabled the unit, added a key file and edited the config) leaves
 *     no file behind but the admin's own;
 *   - lintian (Debian's) reports no error for either package.
 */
import { execFile } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DebianRoot, freshDebianRoot } from '../../fixtures/debian-root.js';
import { cleanupDir, tempDir } from '../../fixtures/proc.js';

const pexec = promisify(execFile);
const BASE_PACKAGES = ['nodejs', 'systemd'];

async function sh(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv } = {}) {
  try {
    const r = await pexec(cmd, args, { maxBuffer: 64 << 20, timeout: 300_000, ...opts });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    if (typeof x.code !== 'number') throw e;
    return { code: x.code, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

/** Every path below root (files, links, directories), relative, except the package databases. */
function tree(root: string): Set<string> {
  const out = new Set<string>();
  const skip = /^(proc|sys|dev|run|tmp|var\/lib\/dpkg|var\/log|var\/cache\/debconf|var\/cache\/ldconfig)(\/|$)/;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const rel = relative(root, p);
      if (skip.test(rel)) continue;
      out.add(rel);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(root);
  return out;
}

/** A nodejs package carrying the Node 20 binary running this test: what the box image provides. */
function nodejs20Deb(into: string): string {
  const v = process.versions.node;
  const root = join(into, 'nodejs20');
  mkdirSync(join(root, 'DEBIAN'), { recursive: true });
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  writeFileSync(join(root, 'usr/bin/node'), readFileSync(process.execPath));
  chmodSync(join(root, 'usr/bin/node'), 0o755);
  writeFileSync(
    join(root, 'DEBIAN/control'),
    `Package: nodejs\nVersion: ${v}-rwtest1\nArchitecture: amd64\nMaintainer: test <test@example.org>\nDepends: libc6, libstdc++6\nDescription: Node.js ${v} for the package test\n`,
  );
  return root;
}

/** Whether a path exists in the root, without following links (their targets are absolute in the root). */
function present(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

let out: string;
let root: DebianRoot;
let box: string;
let agents: string;

beforeAll(async () => {
  out = cleanupDir(tempDir('rwpkg-out-'));
  // what `npm run package` runs after its build (global-setup keeps dist/ current), into a temp dir
  const debs = join(out, 'dist-pkg');
  const built = await sh('node', ['scripts/package.mjs'], { env: { ...process.env, RW_PKG_OUT: debs } });
  if (built.code !== 0) throw new Error(`npm run package failed:\n${built.stderr}`);
  const manifest = JSON.parse(readFileSync(join(debs, 'packages.json'), 'utf8')) as { box: string; agents: string };
  box = resolve(debs, manifest.box);
  agents = resolve(debs, manifest.agents);
  root = await freshDebianRoot(BASE_PACKAGES);
  mkdirSync(join(root.dir, 'tmp/debs'), { recursive: true });
  for (const f of [box, agents])
    writeFileSync(join(root.dir, 'tmp/debs', f.split('/').pop() as string), readFileSync(f));
}, 900_000);

afterAll(() => root?.remove());

const inRoot = (f: string) => `/tmp/debs/${f.split('/').pop()}`;

describe('Debian packages in a fresh Debian 12 root', { timeout: 180_000 }, () => {
  let before: Set<string>;

  it('rackwitness-agents installs offline on Debian 12 nodejs 18, and its agents answer there', async () => {
    const node = await root.run(['node', '--version']);
    expect(node.stdout).toMatch(/^v18\./);
    before = tree(root.dir);
    const inst = await root.run(['dpkg', '-i', inRoot(agents)]);
    expect(inst.stderr, inst.stdout).not.toMatch(/error/i);
    expect(inst.code).toBe(0);
    // no node_modules on the node: the agents are single files
    expect(existsSync(join(root.dir, 'usr/lib/rackwitness-agents/node_modules'))).toBe(false);
    for (const man of ['usr/share/man/man8/fence_rackwitness.8.gz', 'usr/share/man/man7/ocf_rackwitness_pgsqlms.7.gz'])
      expect(statSync(join(root.dir, man)).size).toBeGreaterThan(500);

    const meta = await root.run(['fence_rackwitness', '-o', 'metadata']);
    expect(meta.code, meta.stderr).toBe(0);
    const fenceXml = join(out, 'fence.xml');
    writeFileSync(fenceXml, meta.stdout);
    const rng = await sh('xmllint', ['--noout', '--relaxng', '/usr/share/cluster/relaxng/metadata.rng', fenceXml]);
    expect(rng.stderr).toMatch(/validates/);
    expect(rng.code).toBe(0);

    // a real action on Node 18: key file read, request signed and sent, and no network at all in
    // the root (a fresh network namespace, even loopback down)
    writeFileSync(join(root.dir, 'tmp/fence.key'), `${'cd'.repeat(32)}\n`, { mode: 0o600 });
    const mon = await root.run([
      'sh',
      '-c',
      'printf "action=monitor\\nip=127.0.0.1\\nipport=9\\nkey_file=/tmp/fence.key\\nkey_id=rack\\n" | fence_rackwitness',
    ]);
    expect(mon.stderr).toContain('ERROR: Failed: cannot reach the box at 127.0.0.1:9: ENETUNREACH');
    expect(mon.code).toBe(1);

    const ocf = await root.run(['/usr/lib/ocf/resource.d/rackwitness/pgsqlms', 'meta-data'], {
      env: { OCF_ROOT: '/usr/lib/ocf' },
    });
    expect(ocf.code, ocf.stderr).toBe(0);
    const ocfXml = join(out, 'ocf.xml');
    writeFileSync(ocfXml, ocf.stdout);
    // the meta-data names its DTD relatively (<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">)
    copyFileSync('/usr/share/resource-agents/ra-api-1.dtd', join(out, 'ra-api-1.dtd'));
    const dtd = await sh('xmllint', ['--noout', '--dtdvalid', '/usr/share/resource-agents/ra-api-1.dtd', ocfXml]);
    expect(dtd.stderr).toBe('');
    expect(dtd.code).toBe(0);
    expect(ocf.stdout).toContain('<resource-agent name="pgsqlms"');
  });

  it('rackwitness (the box) is refused on nodejs 18 before anything is unpacked, naming Node 20', async () => {
    const r = await root.run(['dpkg', '-i', inRoot(box)]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('rackwitness needs Node.js >= 20 (package nodejs (>= 20)); /usr/bin/node is 18.');
    expect(existsSync(join(root.dir, 'usr/lib/rackwitness'))).toBe(false);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a dpkg-query format, not a template
    const st = await root.run(['dpkg-query', '-W', '-f=${db:Status-Abbrev}', 'rackwitness']);
    // desired install, status not-installed: dpkg kept nothing of it
    expect(st.stdout.trim()).toMatch(/^.n/);
  });

  it('with Node 20 the box installs: user created, nothing enabled, config check and unit verify pass', async () => {
    const pkgRoot = nodejs20Deb(out);
    const nodeDeb = join(root.dir, 'tmp/debs/nodejs20.deb');
    const b = await sh('dpkg-deb', ['-Znone', '--root-owner-group', '--build', pkgRoot, nodeDeb]);
    expect(b.code, b.stderr).toBe(0);
    const preNode = tree(root.dir);
    expect((await root.run(['dpkg', '-i', '/tmp/debs/nodejs20.deb'])).code).toBe(0);
    expect((await root.run(['node', '--version'])).stdout).toMatch(/^v2\d\./);
    // the baseline for purge: the nodejs swap is the test's own doing, not the packages'
    const postNode = tree(root.dir);
    for (const p of postNode) if (!preNode.has(p)) before.add(p);
    for (const p of preNode) if (!postNode.has(p)) before.delete(p);

    const inst = await root.run(['dpkg', '-i', inRoot(box)]);
    expect(inst.code, `${inst.stdout}${inst.stderr}`).toBe(0);
    const pw = await root.run(['getent', 'passwd', 'rackwitness']);
    expect(pw.stdout).toMatch(/^rackwitness:x:\d+:\d+:[^:]*:\/var\/lib\/rackwitness:\/usr\/sbin\/nologin$/m);
    const groups = await root.run(['id', '-nG', 'rackwitness']);
    for (const g of ['watchdog', 'dialout', 'gpio']) expect(groups.stdout.split(/\s+/)).toContain(g);
    // enables nothing without the admin's say
    expect(present(join(root.dir, 'etc/systemd/system/multi-user.target.wants/rackwitness.service'))).toBe(false);
    const enabled = await root.run(['systemctl', 'is-enabled', 'rackwitness.service']);
    expect(enabled.stdout.trim()).toBe('disabled');
    expect(readFileSync(join(root.dir, 'var/lib/dpkg/info/rackwitness.conffiles'), 'utf8')).toBe(
      '/etc/rackwitness/rackwitness.yaml\n',
    );

    const check = await root.run(['rackwitness', 'config', 'check'], { user: 'rackwitness' });
    expect(check.stderr).toBe('');
    expect(check.stdout).toMatch(/^ok: \/etc\/rackwitness\/rackwitness\.yaml: box witness; services: status$/m);
    expect(check.code).toBe(0);
    // the serial PDU driver's native binding (a glibc prebuild) loads on Debian 12: the error is
    // the missing device, not a missing module
    writeFileSync(join(root.dir, 'tmp/pw'), 'x\n', { mode: 0o600 });
    const serial = await root.run([
      'rackwitness',
      'pdu',
      '--driver',
      'pdu-serial',
      '--device',
      '/dev/ttyRWNOPE',
      '--user',
      'apc',
      '--password-file',
      '/tmp/pw',
      'outlet',
      '1',
      'status',
    ]);
    expect(serial.stderr).toContain('cannot open /dev/ttyRWNOPE: Error: No such file or directory');
    expect(serial.code).toBe(1);
    const version = await root.run(['rackwitness', '--version']);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync('package.json', 'utf8')).version);

    // the daemon itself, as systemd would run it: the example config's services come up (embedded
    // MQTT broker, status page), READY, then an orderly stop on SIGTERM
    for (const d of ['var/lib/rackwitness', 'run/rackwitness']) mkdirSync(join(root.dir, d), { recursive: true });
    expect(
      (await root.run(['chown', 'rackwitness:rackwitness', '/var/lib/rackwitness', '/run/rackwitness'])).code,
    ).toBe(0);
    const daemon = await root.run(
      [
        'sh',
        '-c',
        [
          'rackwitness run --config /etc/rackwitness/rackwitness.yaml >/tmp/run.out 2>&1 & p=$!',
          'i=0; until grep -q "^READY" /tmp/run.out; do kill -0 $p 2>/dev/null || { cat /tmp/run.out; exit 3; }',
          '  i=$((i+1)); [ $i -le 600 ] || { cat /tmp/run.out; exit 4; }; sleep 0.05; done',
          'kill -TERM $p; wait $p; echo "exit=$?"; cat /tmp/run.out',
        ].join('\n'),
      ],
      { user: 'rackwitness', env: { RW_READY_LINE: '1' }, loopback: true },
    );
    expect(daemon.stdout, daemon.stdout).toMatch(/^exit=0$/m);
    expect(daemon.stdout).toMatch(/^READY \d+$/m);
    expect(daemon.stdout).not.toMatch(/"level":(50|60)/);
    expect(daemon.code).toBe(0);

    const verify = await root.run([
      'systemd-analyze',
      'verify',
      '--man=no',
      '--generators=no',
      '/lib/systemd/system/rackwitness.service',
    ]);
    expect(`${verify.stdout}${verify.stderr}`.trim()).toBe('');
    expect(verify.code).toBe(0);
    const exec = readFileSync(join(root.dir, 'lib/systemd/system/rackwitness.service'), 'utf8').match(
      /^ExecStart=\/usr\/bin\/node .* (\/usr\/lib\/rackwitness\/\S+) run /m,
    );
    expect(exec?.[1] && existsSync(join(root.dir, exec[1]))).toBe(true);
  });

  it('purge leaves nothing but what the admin added to /etc/rackwitness', async () => {
    // the admin enables the unit, adds a key, edits the config; the daemon left state behind
    expect((await root.run(['systemctl', 'enable', 'rackwitness.service'])).code).toBe(0);
    expect(present(join(root.dir, 'etc/systemd/system/multi-user.target.wants/rackwitness.service'))).toBe(true);
    writeFileSync(join(root.dir, 'etc/rackwitness/fence.key'), 'a'.repeat(64));
    writeFileSync(join(root.dir, 'etc/rackwitness/rackwitness.yaml'), 'box:\n  name: rack7\n');
    mkdirSync(join(root.dir, 'var/lib/rackwitness'), { recursive: true });
    writeFileSync(join(root.dir, 'var/lib/rackwitness/events.jsonl'), '{}\n');

    const purge = await root.run(['dpkg', '--purge', 'rackwitness', 'rackwitness-agents']);
    expect(purge.code, `${purge.stdout}${purge.stderr}`).toBe(0);
    const after = tree(root.dir);
    const added = [...after].filter((p) => !before.has(p)).sort();
    // user creation's backups of the account databases (shadow's convention) are not package files
    const accounts = new Set(['etc/passwd-', 'etc/group-', 'etc/shadow-', 'etc/gshadow-']);
    expect(added.filter((p) => !accounts.has(p))).toEqual(['etc/rackwitness', 'etc/rackwitness/fence.key']);
    const gone = [...before].filter((p) => !after.has(p));
    expect(gone).toEqual([]);
  });

  it('lintian (Debian 12) reports no error in either package', async () => {
    const r = await sh('lintian', ['--no-cfg', '--tag-display-limit', '0', box, agents]);
    const errors = `${r.stdout}${r.stderr}`.split('\n').filter((l) => /^E: /.test(l));
    expect(errors).toEqual([]);
  });
});
