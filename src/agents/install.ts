/**
 * `rackwitness install-agents`: installs the agents Pacemaker runs on the cluster nodes, as small
 * shell wrappers that exec this Node on the installed dist files:
 *   <root>/usr/lib/ocf/resource.d/rackwitness/pgsqlms   the OCF resource agent (ocf:rackwitness:pgsqlms)
 *   <root>/usr/sbin/fence_rackwitness                   the fence agent (pacemaker-fenced looks in /usr/sbin)
 *   <root>/usr/sbin/rackwitness-qdevice-heuristics      corosync-qdevice's heuristics command (docs/partitions.md)
 * --root installs into a staging root (tests, packaging); --prefix changes the OCF root itself.
 */
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';

export interface InstalledAgent {
  name: string;
  path: string;
  target: string;
}

/** shellPrelude: runs before Node starts (Pacemaker calls notify on every node for every transition;
 *  the agent acts only on pre-promote, so the wrapper answers the others without a Node start).
 *  post-promote only clears this node's private election values; the services that follow the
 *  primary (the VIP) wait for this notify, so the wrapper clears them in the background and answers
 *  at once (every pre-promote clears and republishes them before any promote reads them anyway). */
export const AGENTS: ReadonlyArray<{
  name: string;
  kind: 'ocf' | 'fence' | 'tool';
  dist: string;
  shellPrelude?: string;
}> = [
  {
    name: 'pgsqlms',
    kind: 'ocf',
    dist: 'agents/pgsql/main.js',
    shellPrelude: [
      'if [ "$1" = notify ] || { [ -z "$1" ] && [ "$__OCF_ACTION" = notify ]; }; then',
      '  case "$OCF_RESKEY_CRM_meta_notify_type-$OCF_RESKEY_CRM_meta_notify_operation" in',
      '    pre-promote) ;;',
      '    post-promote)',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, not a template
      '      r=${OCF_RESOURCE_INSTANCE%%:*}',
      '      for k in lsn_location nodes cancel_switchover cancel_reason recover_primary; do',
      '        setsid attrd_updater --private --name "$k-$r" --delete </dev/null >/dev/null 2>&1 &',
      '      done',
      '      exit 0 ;;',
      '    *) exit 0 ;;',
      '  esac',
      'fi',
      '',
    ].join('\n'),
  },
  { name: 'fence_rackwitness', kind: 'fence', dist: 'agents/fence/main.js' },
  { name: 'rackwitness-qdevice-heuristics', kind: 'tool', dist: 'agents/pgsql/heuristics.js' },
];

/** The /bin/sh front of an agent: its prelude, then exec Node on the agent's JavaScript
 *  (also used by scripts/package.mjs for the rackwitness-agents package). */
export function agentWrapper(
  a: { name: string; kind: 'ocf' | 'fence' | 'tool'; shellPrelude?: string },
  node: string,
  target: string,
  by: string,
): string {
  const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
  const what = a.kind === 'fence' ? 'fence agent' : a.kind === 'tool' ? 'node tool' : 'OCF agent';
  return `#!/bin/sh\n# rackwitness ${what} ${a.name} (installed by ${by})\n${a.shellPrelude ?? ''}exec ${q(node)} ${q(target)} "$@"\n`;
}

/** dist/ of this installation (this file is dist/agents/install.js once built). */
export function distDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..');
}

export function installAgents(opts: {
  root?: string;
  ocfRoot?: string;
  /** Where fence agents go (pacemaker-fenced finds fence_* there). */
  sbinDir?: string;
  dist?: string;
  node?: string;
}): InstalledAgent[] {
  const ocfRoot = opts.ocfRoot ?? '/usr/lib/ocf';
  const dir = join(opts.root ?? '/', ocfRoot, 'resource.d', 'rackwitness');
  const sbin = join(opts.root ?? '/', opts.sbinDir ?? '/usr/sbin');
  const dist = opts.dist ?? distDir();
  const node = opts.node ?? process.execPath;
  const out: InstalledAgent[] = [];
  for (const a of AGENTS) {
    const target = join(dist, a.dist);
    if (!existsSync(target))
      throw new Error(
        `${target} does not exist: in a clone, build first (npm run build); on the cluster nodes, install the rackwitness-agents package instead`,
      );
    const into = a.kind === 'ocf' ? dir : sbin;
    mkdirSync(into, { recursive: true, mode: 0o755 });
    const path = join(into, a.name);
    writeFileSync(path, agentWrapper(a, node, target, 'rackwitness install-agents'));
    chmodSync(path, 0o755);
    out.push({ name: a.name, path, target });
  }
  return out;
}

export function registerInstallAgentsCli(program: Command): void {
  program
    .command('install-agents')
    .description(
      'Install the agents for the cluster nodes: ocf:rackwitness:pgsqlms, fence_rackwitness and rackwitness-qdevice-heuristics.',
    )
    .option('--root <dir>', 'install below this staging root instead of /', '/')
    .option('--prefix <dir>', 'the OCF root (OCF_ROOT)', '/usr/lib/ocf')
    .option('--json', 'print what was installed as JSON')
    .action((o: { root: string; prefix: string; json?: boolean }) => {
      const done = installAgents({ root: o.root, ocfRoot: o.prefix });
      if (o.json) process.stdout.write(`${JSON.stringify(done, null, 2)}\n`);
      else for (const a of done) process.stdout.write(`${a.path} -> ${a.target}\n`);
    });
}
