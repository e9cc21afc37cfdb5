#!/usr/bin/env node
/**
 * `npm run package`: builds the two Debian packages into dist-pkg/ (no debhelper; dpkg-deb only):
 *
 *   rackwitness_<v>_all.deb         the box: daemon + CLI (one esbuild bundle for Node 20, split
 *                                   so each command loads only what it uses), unit, sysusers and
 *                                   udev files, board files, an example config (conffile)
 *   rackwitness-agents_<v>_all.deb  the cluster nodes: fence_rackwitness, ocf:rackwitness:pgsqlms
 *                                   (self-contained bundles for Node 18, Debian 12's nodejs; no
 *                                   node_modules), man pages
 *
 * Stable names for other builds (the SD-card image) are dist-pkg/rackwitness.deb and
 * dist-pkg/rackwitness-agents.deb (symlinks to the versioned files). Nothing is fetched and
 * nothing is built on the target: the packages carry plain JavaScript and data.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..');
process.chdir(ROOT);
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const VERSION = pkg.version;
const OUT = resolve(process.env.RW_PKG_OUT ?? 'dist-pkg');
const STAGE = join(OUT, 'stage');
/** Reproducible archives: file times from the last commit (or a fixed date outside git). */
const EPOCH = (() => {
  if (process.env.SOURCE_DATE_EPOCH) return Number(process.env.SOURCE_DATE_EPOCH);
  try {
    return Number(execFileSync('git', ['log', '-1', '--format=%ct'], { encoding: 'utf8' }).trim());
  } catch {
    return 1767225600;
  }
})();
const MAINTAINER = 'rackwitness maintainers <rackwitness@users.noreply.github.com>';
/** Minimum Node.js versions, checked by dpkg (Depends) before anything is unpacked. */
export const BOX_NODE = '20';
export const AGENTS_NODE = '18';

/** The node-side bundles (format cjs, target node18: run by Debian 12's /usr/bin/node 18).
 *  wrapper: a /bin/sh front (the OCF agent answers most notifies without starting Node). */
export const AGENT_BUNDLES = [
  { name: 'fence_rackwitness', entry: 'src/agents/fence/main.ts', install: '/usr/sbin/fence_rackwitness' },
  {
    name: 'pgsqlms',
    entry: 'src/agents/pgsql/main.ts',
    install: '/usr/lib/ocf/resource.d/rackwitness/pgsqlms',
    wrapper: true,
  },
  // the corosync-qdevice quorum heuristics command (quorum.device.heuristics.exec_pgsql)
  {
    name: 'rackwitness-qdevice-heuristics',
    entry: 'src/agents/pgsql/heuristics.ts',
    install: '/usr/sbin/rackwitness-qdevice-heuristics',
  },
];

const log = (m) => process.stderr.write(`package: ${m}\n`);

function sh(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], ...opts });
}

function write(file, text, mode = 0o644) {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  chmodSync(file, mode);
}

function gz(file, text) {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, gzipSync(Buffer.from(text), { level: 9 }));
  chmodSync(file, 0o644);
}

/** Files and directories below dir (relative, sorted). */
function walk(dir, base = dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = join(dir, e.name);
    out.push({ rel: relative(base, p), dir: e.isDirectory(), link: e.isSymbolicLink() });
    if (e.isDirectory()) out.push(...walk(p, base));
  }
  return out;
}

const agentsBanner = '#!/usr/bin/node';
const define = { __RW_VERSION__: JSON.stringify(VERSION) };

async function bundleAgents(into) {
  const built = [];
  for (const a of AGENT_BUNDLES) {
    if (!existsSync(a.entry)) {
      log(`skipping ${a.name}: ${a.entry} does not exist`);
      continue;
    }
    const outfile = join(into, `${a.name}.cjs`);
    const r = await build({
      entryPoints: [a.entry],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node18',
      minifySyntax: true,
      minifyWhitespace: true,
      legalComments: 'none',
      define,
      metafile: true,
      logLevel: 'error',
    });
    const external = Object.values(r.metafile.outputs).flatMap((o) =>
      o.imports.filter((i) => i.external && !i.path.startsWith('node:')),
    );
    if (external.length) throw new Error(`${a.name}: the node bundle must be self-contained, imports ${external}`);
    // Debian's node, whatever shebang the source has
    const code = readFileSync(outfile, 'utf8').replace(/^#![^\n]*\n/, '');
    writeFileSync(outfile, `${agentsBanner}\n${code}`);
    chmodSync(outfile, 0o755);
    built.push({ ...a, file: outfile, inputs: Object.keys(r.metafile.inputs) });
  }
  return built;
}

/** Packages the box bundle cannot carry as JavaScript: native bindings, loaded lazily. */
const BOX_EXTERNAL = ['serialport', 'onoff', 'pg-native'];

async function bundleBox(into) {
  const r = await build({
    entryPoints: { rackwitness: 'src/cli/main.ts' },
    outdir: into,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: `node${BOX_NODE}`,
    minifySyntax: true,
    minifyWhitespace: true,
    keepNames: false,
    legalComments: 'none',
    define,
    external: BOX_EXTERNAL,
    // bundled CommonJS packages require() node builtins: give every ESM chunk a require
    banner: {
      js: "import { createRequire as __rwCreateRequire } from 'node:module'; const require = __rwCreateRequire(import.meta.url);",
    },
    metafile: true,
    logLevel: 'error',
  });
  // run through /usr/bin/rackwitness (Debian's node, the unit's flags): no shebang of its own
  const main = join(into, 'rackwitness.mjs');
  writeFileSync(main, readFileSync(main, 'utf8').replace(/^#![^\n]*\n/, ''));
  chmodSync(main, 0o644);
  return r.metafile;
}

/** npm packages whose code ends up in a bundle (from esbuild's inputs), with their licenses. */
function bundledPackages(inputs) {
  const found = new Map();
  for (const i of inputs) {
    const m = i.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//g);
    if (!m) continue;
    const last = m[m.length - 1];
    const dir = i.slice(0, i.lastIndexOf(last) + last.length);
    const p = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    found.set(p.name, { name: p.name, version: p.version, license: p.license ?? 'see its LICENSE', dir });
  }
  return [...found.values()].sort((a, b) => a.name.localeCompare(b.name));
}

function copyLicenses(pkgs, into) {
  for (const p of pkgs) {
    const lic = readdirSync(p.dir).find((f) => /^(licen[cs]e|copying)/i.test(f));
    if (lic) {
      mkdirSync(into, { recursive: true });
      copyFileSync(join(p.dir, lic), join(into, `${p.name.replace('/', '__')}.${lic}`));
    }
  }
}

/** The runtime closure of an external package (its dependencies, recursively), trimmed. */
function copyNodeModule(name, into, seen = new Set()) {
  // build-time only (C++ headers for node-gyp): the binding comes prebuilt
  if (seen.has(name) || name === 'node-addon-api') return;
  seen.add(name);
  const src = join('node_modules', name);
  const p = JSON.parse(readFileSync(join(src, 'package.json'), 'utf8'));
  // a native addon's C++ sources and build tree are not needed: the binding comes prebuilt
  const native = existsSync(join(src, 'binding.gyp'));
  cpSync(src, join(into, name), {
    recursive: true,
    filter: (f) => {
      const rel = relative(src, f);
      if (rel === 'node_modules' || rel.startsWith('node_modules/')) return false;
      if (native && /^(src|build)$/.test(rel)) return false;
      if (/^(test|tests|docs|example|examples|\.github)$/.test(rel)) return false;
      if (/\.(md|map|ts|cc|h|gyp|gypi)$/.test(rel) && !/\.d\.ts$/.test(rel)) return /license/i.test(rel);
      if (/\.d\.ts$/.test(rel)) return false;
      // N-API prebuilds: keep Linux on the Pi and x86 boards; node-gyp-build picks one at runtime
      const pb = rel.match(/^prebuilds\/([^/]+)/);
      if (pb && !['linux-arm', 'linux-arm64', 'linux-x64'].includes(pb[1])) return false;
      if (pb && /musl/.test(rel)) return false;
      return true;
    },
  });
  for (const d of Object.keys(p.dependencies ?? {})) copyNodeModule(d, into, seen);
}

function copyrightFile(bundled, extraComment) {
  const lines = [
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
    'Upstream-Name: rackwitness',
    '',
    'Files: *',
    'Copyright: rackwitness contributors',
    'License: MIT',
  ];
  if (bundled.length) {
    lines.push(
      'Comment: The JavaScript bundles include these npm packages (name version license); their',
      ' license texts are in the third-party/ folder next to this file.',
      ...bundled.map((p) => ` ${p.name} ${p.version} ${p.license}`),
    );
  }
  if (extraComment) lines.push(...extraComment);
  lines.push('', 'License: MIT');
  const mit = readFileSync('LICENSE', 'utf8').split('\n').slice(2).join('\n').trim();
  lines.push(...mit.split('\n').map((l) => (l.trim() === '' ? ' .' : ` ${l}`)));
  return `${lines.join('\n')}\n`;
}

function changelog(name) {
  const date = new Date(EPOCH * 1000).toUTCString().replace('GMT', '+0000');
  return `${name} (${VERSION}) unstable; urgency=medium\n\n  * Release ${VERSION}; see the project's git log.\n\n -- ${MAINTAINER}  ${date}\n`;
}

/** Roff man page for the OCF agent, from its own meta-data. */
function ocfManpage(metaXml) {
  const unesc = (s) =>
    s
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&amp;/g, '&');
  const roff = (s) => unesc(s).replace(/\\/g, '\\\\').replace(/^\./gm, '\\&.').replace(/-/g, '\\-');
  const long = metaXml.match(/<longdesc[^>]*>([\s\S]*?)<\/longdesc>/)?.[1] ?? '';
  const params = [...metaXml.matchAll(/<parameter name="([^"]+)"([^>]*)>([\s\S]*?)<\/parameter>/g)].map((m) => ({
    name: m[1],
    required: /required="1"/.test(m[2]),
    desc: (m[3].match(/<longdesc[^>]*>([\s\S]*?)<\/longdesc>/)?.[1] ?? '').trim(),
    def: m[3].match(/<content[^>]*default="([^"]*)"/)?.[1],
  }));
  const actions = [...metaXml.matchAll(/<action name="([^"]+)"([^>]*)\/>/g)].map((m) => ({
    name: m[1],
    timeout: m[2].match(/timeout="([^"]+)"/)?.[1],
  }));
  const out = [
    `.TH OCF_RACKWITNESS_PGSQLMS 7 "${new Date(EPOCH * 1000).toISOString().slice(0, 10)}" "rackwitness ${VERSION}" "OCF resource agents"`,
    '.SH NAME',
    'ocf_rackwitness_pgsqlms \\- PostgreSQL promotable resource agent of the rackwitness rack',
    '.SH SYNOPSIS',
    '.B pcs resource create',
    '\\fIpgsqld\\fR ocf:rackwitness:pgsqlms [\\fIparameter\\fR=\\fIvalue\\fR ...] promotable notify=true',
    '.SH DESCRIPTION',
    roff(long.trim()),
    '.SH PARAMETERS',
  ];
  for (const p of params) {
    out.push('.TP', `.B ${p.name}${p.required ? ' (required)' : ''}`, roff(p.desc));
    if (p.def !== undefined && p.def !== '') out.push('.br', `Default: ${roff(p.def)}`);
  }
  out.push('.SH ACTIONS');
  for (const a of actions) out.push('.TP', `.B ${a.name}`, a.timeout ? `default timeout ${a.timeout}` : '');
  out.push('.SH FILES', '/usr/lib/ocf/resource.d/rackwitness/pgsqlms', '.SH SEE ALSO', '.BR fence_rackwitness (8)', '');
  return out
    .filter((l) => l !== '')
    .join('\n')
    .concat('\n');
}

function rackwitnessManpage(help) {
  const esc = (s) => s.replace(/\\/g, '\\\\').replace(/^\./gm, '\\&.').replace(/^'/gm, "\\&'").replace(/-/g, '\\-');
  return [
    `.TH RACKWITNESS 1 "${new Date(EPOCH * 1000).toISOString().slice(0, 10)}" "rackwitness ${VERSION}" "User Commands"`,
    '.SH NAME',
    'rackwitness \\- witness box of a two\\-node PostgreSQL rack (daemon and command line)',
    '.SH SYNOPSIS',
    '.B rackwitness',
    '\\fIcommand\\fR [\\fIoptions\\fR]',
    '.SH DESCRIPTION',
    'The daemon (\\fBrackwitness run\\fR, started by rackwitness.service) feeds the hardware watchdog,',
    'fences cluster nodes through IPMI, PDUs and relays, arbitrates booth tickets and reports the',
    "rack's state. The other commands inspect and operate it. Every command has \\fB\\-\\-help\\fR.",
    '.SH COMMANDS',
    '.nf',
    esc(help.trim()),
    '.fi',
    '.SH FILES',
    '.TP',
    '/etc/rackwitness/rackwitness.yaml',
    'the configuration (an example is installed; see /usr/share/doc/rackwitness/config.md)',
    '.TP',
    '/var/lib/rackwitness',
    'state: events log, fence journal',
    '.SH SEE ALSO',
    '.BR fence_rackwitness (8),',
    '.BR ocf_rackwitness_pgsqlms (7)',
    '',
  ].join('\n');
}

function installedSizeKb(root) {
  let bytes = 0;
  for (const e of walk(root)) {
    if (e.rel.startsWith('DEBIAN')) continue;
    bytes += e.dir || e.link ? 1024 : Math.ceil(statSync(join(root, e.rel)).size / 1024) * 1024;
  }
  return Math.ceil(bytes / 1024);
}

/** preinst: refuses before unpacking when /usr/bin/node is older than the package needs. */
function preinst(root, name, nodeMajor) {
  const text = readFileSync('packaging/preinst.in', 'utf8')
    .replaceAll('@PACKAGE@', name)
    .replaceAll('@NODE_MAJOR@', nodeMajor);
  write(join(root, 'DEBIAN/preinst'), text, 0o755);
}

function finish(root, control, conffiles = []) {
  const md5 = walk(root)
    .filter((e) => !e.dir && !e.link && !e.rel.startsWith('DEBIAN'))
    .map(
      (e) =>
        `${createHash('md5')
          .update(readFileSync(join(root, e.rel)))
          .digest('hex')}  ${e.rel}`,
    );
  write(join(root, 'DEBIAN/md5sums'), `${md5.join('\n')}\n`);
  if (conffiles.length) write(join(root, 'DEBIAN/conffiles'), `${conffiles.join('\n')}\n`);
  const fields = { ...control, 'Installed-Size': String(installedSizeKb(root)) };
  const text = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n');
  write(join(root, 'DEBIAN/control'), `${text}\n`);
  // directories 0755, files 0644 unless made executable above
  for (const e of walk(root)) {
    const p = join(root, e.rel);
    if (e.link) continue;
    if (e.dir) chmodSync(p, 0o755);
    else if ((statSync(p).mode & 0o111) === 0) chmodSync(p, 0o644);
  }
  sh('find', [root, '-newermt', `@${EPOCH}`, '-exec', 'touch', '--no-dereference', '-d', `@${EPOCH}`, '{}', '+']);
  const deb = join(OUT, `${control.Package}_${VERSION}_all.deb`);
  sh('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', root, deb], {
    env: { ...process.env, SOURCE_DATE_EPOCH: String(EPOCH) },
  });
  const stable = join(OUT, `${control.Package}.deb`);
  rmSync(stable, { force: true });
  symlinkSync(relative(OUT, deb), stable);
  log(`${deb} (stable name ${stable})`);
  return deb;
}

const DESCRIPTION_BOX = `witness box of a two-node PostgreSQL + Pacemaker rack
 rackwitness runs on a small box next to a two-node PostgreSQL cluster: it feeds
 the hardware watchdog, acts as the STONITH device (IPMI, PDUs, relays; it
 answers only after reading the power state back), arbitrates booth tickets,
 watches the PostgreSQL pair and reports over MQTT, Prometheus and a status
 page.
 .
 This package installs the daemon and the rackwitness command, the systemd
 unit (not enabled), the daemon user, udev rules, board files and an example
 configuration. Install rackwitness-agents on the cluster nodes.`;

const DESCRIPTION_AGENTS = `cluster-node agents of the rackwitness witness box
 The agents Pacemaker runs on the two nodes of a rack watched by a rackwitness
 box: the fence agent fence_rackwitness (stonith:fence_rackwitness, asks the box
 to switch a node's power and returns only after the box verified it) and the
 promotable PostgreSQL resource agent ocf:rackwitness:pgsqlms. Both are
 self-contained JavaScript files for Debian's nodejs; nothing else is needed.`;

/** Roff man page of the quorum heuristics command (it has no meta-data to generate one from). */
const HEURISTICS_MANPAGE = `.TH RACKWITNESS-QDEVICE-HEURISTICS 8 "" "rackwitness ${VERSION}" "System Administration"
.SH NAME
rackwitness-qdevice-heuristics \\- PostgreSQL-aware heuristics command for corosync-qdevice
.SH SYNOPSIS
.B rackwitness-qdevice-heuristics
[\\fB--pghost\\fR \\fIDIR|HOST\\fR] [\\fB--pgport\\fR \\fIN\\fR] [\\fB--bindir\\fR \\fIDIR\\fR] [\\fB--user\\fR \\fIOSUSER\\fR] [\\fB--timeout-ms\\fR \\fIN\\fR]
.SH DESCRIPTION
Run by corosync-qdevice from the heuristics section of corosync.conf
(\\fBexec_pgsql\\fR). It reads the local PostgreSQL once and exits 0 (pass) on the
writable primary, or on a standby whose primary is gone, and 1 (fail) otherwise,
printing the one-sentence verdict. A standby still streaming fails, so it never ties with
the primary in the first seconds of a split. Everything is bounded by \\fB--timeout-ms\\fR
(default 9000): a hang is a failed verdict.
.SH EXIT STATUS
0 pass, 1 fail, 2 bad options.
.SH SEE ALSO
.BR corosync-qdevice (8),
.BR fence_rackwitness (8)
`;

async function main() {
  if (!existsSync('LICENSE')) throw new Error('LICENSE is missing');
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(STAGE, { recursive: true });

  // ---- rackwitness-agents ----
  const A = join(STAGE, 'rackwitness-agents');
  const alib = join(A, 'usr/lib/rackwitness-agents');
  const agents = await bundleAgents(alib);
  const { AGENTS, agentWrapper } = await import(resolve('dist/agents/install.js'));
  for (const a of agents) {
    const dest = join(A, a.install);
    mkdirSync(dirname(dest), { recursive: true });
    const libPath = `/usr/lib/rackwitness-agents/${a.name}.cjs`;
    if (a.wrapper) {
      const def = AGENTS.find((x) => x.name === a.name);
      write(dest, agentWrapper(def, '/usr/bin/node', libPath, 'the rackwitness-agents package'), 0o755);
    } else {
      symlinkSync(relative(dirname(dest), join(A, libPath)), dest);
    }
  }
  const fenceBin = join(alib, 'fence_rackwitness.cjs');
  gz(join(A, 'usr/share/man/man8/fence_rackwitness.8.gz'), sh('node', [fenceBin, '-o', 'manpage']));
  gz(
    join(A, 'usr/share/man/man7/ocf_rackwitness_pgsqlms.7.gz'),
    ocfManpage(sh('node', [join(alib, 'pgsqlms.cjs'), 'meta-data'])),
  );
  gz(join(A, 'usr/share/man/man8/rackwitness-qdevice-heuristics.8.gz'), HEURISTICS_MANPAGE);
  const agentPkgs = bundledPackages(agents.flatMap((a) => a.inputs));
  write(join(A, 'usr/share/doc/rackwitness-agents/copyright'), copyrightFile(agentPkgs));
  copyLicenses(agentPkgs, join(A, 'usr/share/doc/rackwitness-agents/third-party'));
  gz(join(A, 'usr/share/doc/rackwitness-agents/changelog.gz'), changelog('rackwitness-agents'));
  preinst(A, 'rackwitness-agents', AGENTS_NODE);
  const agentsDeb = finish(A, {
    Package: 'rackwitness-agents',
    Version: VERSION,
    Architecture: 'all',
    Maintainer: MAINTAINER,
    Depends: `nodejs (>= ${AGENTS_NODE})`,
    Suggests: 'pacemaker, pacemaker-cli-utils, postgresql',
    Section: 'admin',
    Priority: 'optional',
    Description: DESCRIPTION_AGENTS,
  });

  // ---- rackwitness (the box) ----
  const B = join(STAGE, 'rackwitness');
  const lib = join(B, 'usr/lib/rackwitness');
  const meta = await bundleBox(join(lib, 'lib'));
  write(
    join(lib, 'package.json'),
    `${JSON.stringify({ name: 'rackwitness', version: VERSION, private: true, type: 'module' }, null, 2)}\n`,
  );
  for (const ext of ['serialport']) copyNodeModule(ext, join(lib, 'node_modules'));
  cpSync('board', join(lib, 'board'), { recursive: true });
  cpSync('demo', join(lib, 'demo'), { recursive: true });
  write(
    join(B, 'usr/bin/rackwitness'),
    [
      '#!/bin/sh',
      '# rackwitness command (the rackwitness package). The daemon (`rackwitness run`) gets the',
      "# unit's memory flags; short commands start without them (--optimize-for-size costs ~30 ms).",
      'if [ "$1" = run ]; then',
      '  exec /usr/bin/node --max-semi-space-size=1 --optimize-for-size /usr/lib/rackwitness/lib/rackwitness.mjs "$@"',
      'fi',
      'exec /usr/bin/node /usr/lib/rackwitness/lib/rackwitness.mjs "$@"',
      '',
    ].join('\n'),
    0o755,
  );
  const unit = readFileSync('systemd/rackwitness.service', 'utf8');
  write(join(B, 'lib/systemd/system/rackwitness.service'), unit);
  write(join(B, 'usr/lib/sysusers.d/rackwitness.conf'), readFileSync('systemd/rackwitness.sysusers.conf', 'utf8'));
  mkdirSync(join(B, 'lib/udev/rules.d'), { recursive: true });
  copyFileSync('board/udev/99-rackwitness.rules', join(B, 'lib/udev/rules.d/99-rackwitness.rules'));
  write(join(B, 'etc/rackwitness/rackwitness.yaml'), readFileSync('packaging/rackwitness.example.yaml', 'utf8'));
  const doc = join(B, 'usr/share/doc/rackwitness');
  mkdirSync(doc, { recursive: true });
  for (const f of readdirSync('docs').filter((f) => f.endsWith('.md'))) copyFileSync(join('docs', f), join(doc, f));
  copyFileSync('README.md', join(doc, 'README.md'));
  const boxPkgs = bundledPackages(Object.keys(meta.inputs));
  boxPkgs.push(
    ...walk(join(lib, 'node_modules'))
      .filter((e) => e.rel.endsWith('package.json') && e.rel.split('/').length <= 3)
      .map((e) => JSON.parse(readFileSync(join(lib, 'node_modules', e.rel), 'utf8')))
      .filter((p) => p.name && p.version)
      .map((p) => ({ name: p.name, version: p.version, license: p.license, dir: join('node_modules', p.name) })),
  );
  write(
    join(doc, 'copyright'),
    copyrightFile(
      [...new Map(boxPkgs.map((p) => [p.name, p])).values()],
      [
        ' /usr/lib/rackwitness/node_modules holds the serial port binding, which has native',
        ' code: N-API prebuilds for linux-arm, linux-arm64 and linux-x64, chosen at run time.',
      ],
    ),
  );
  copyLicenses(boxPkgs, join(doc, 'third-party'));
  gz(join(doc, 'changelog.gz'), changelog('rackwitness'));
  const help = sh('node', [join(lib, 'lib/rackwitness.mjs'), '--help']);
  gz(join(B, 'usr/share/man/man1/rackwitness.1.gz'), rackwitnessManpage(help));
  for (const s of ['postinst', 'postrm', 'prerm']) {
    write(join(B, 'DEBIAN', s), readFileSync(`packaging/rackwitness.${s}`, 'utf8'), 0o755);
  }
  preinst(B, 'rackwitness', BOX_NODE);
  mkdirSync(join(B, 'usr/share/lintian/overrides'), { recursive: true });
  copyFileSync('packaging/rackwitness.lintian-overrides', join(B, 'usr/share/lintian/overrides/rackwitness'));
  const boxDeb = finish(
    B,
    {
      Package: 'rackwitness',
      Version: VERSION,
      Architecture: 'all',
      Maintainer: MAINTAINER,
      // libc6: the serial port binding (glibc prebuilds) links against it
      Depends: `nodejs (>= ${BOX_NODE}), systemd, libc6`,
      Suggests: 'rackwitness-agents',
      Section: 'admin',
      Priority: 'optional',
      Description: DESCRIPTION_BOX,
    },
    ['/etc/rackwitness/rackwitness.yaml'],
  );
  rmSync(STAGE, { recursive: true, force: true });
  const manifest = { version: VERSION, box: relative(OUT, boxDeb), agents: relative(OUT, agentsDeb) };
  writeFileSync(join(OUT, 'packages.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  process.stdout.write(`${boxDeb}\n${agentsDeb}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(ROOT, 'scripts/package.mjs')) await main();
