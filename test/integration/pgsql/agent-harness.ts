/**
 * Drives rackwitness-pgsqlms the way Pacemaker does, without a cluster: OCF env vars, the
 * OCF_RESKEY_CRM_meta_notify_* variables of a switchover/failover/recovery transition, and a
 * stand-in attribute store (a fake crm_attribute, attrd_updater and crm_node first on PATH, tests
 * only) that records attributes as files, so the two "nodes" of the rack share it as Pacemaker's
 * CIB and attrd would.
 *
 * NOT EVIDENCE: these stand-ins emulate what Pacemaker 2.1.5 was seen to do on a real two-node
 * cluster (see src/agents/pgsql/attrs.ts), nothing more. They cannot show that a transition is or is
 * not aborted, how the scheduler reacts to a score, or how fencing and probes interleave. The live
 * rack lab (real corosync + pacemaker) is the test of that; a stand-in like this one hid the defect
 * of private values written as CIB attributes.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { installAgents } from '../../../src/agents/install.js';
import type { PgRack, PgRackNode } from '../../fixtures/pg-rack.js';
import { onCleanup } from '../../fixtures/proc.js';

export const RESOURCE = 'pgsqld';
/** The installed agent (wrapper around the compiled agent) this test file runs (set by ensureAgentBuilt). */
export let AGENT_JS = '';

/**
 * Compiles the project into a private dist under node_modules/.cache (so packages resolve) and
 * returns it: tests run the compiled agent, as Pacemaker does, and a concurrent `npm run build` by
 * someone else cannot swap files under a running test. Removed at the end of the test file.
 */
export function ensureAgentBuilt(): string {
  const out = join(process.cwd(), 'node_modules/.cache', `rwpg-dist-${process.pid}`);
  if (!existsSync(join(out, 'agents/pgsql/main.js'))) {
    try {
      execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json', '--outDir', out, '--sourceMap', 'false'], {
        stdio: 'ignore',
        timeout: 240_000,
      });
    } catch {
      // type errors elsewhere in the tree do not stop tsc from emitting
    }
    onCleanup(() => rmSync(out, { recursive: true, force: true }));
  }
  const js = join(out, 'agents/pgsql/main.js');
  if (!existsSync(js)) throw new Error(`${js} was not built`);
  // run it the way Pacemaker does: through the wrapper install-agents writes
  AGENT_JS = installAgents({ root: join(out, 'root'), dist: out })[0]?.path ?? js;
  return out;
}

/** Stand-in for Pacemaker's crm_attribute (tests only, not evidence), in sh like the real one is in
 * C (cheap to start): one file per attribute under $RW_FAKE_ATTRD/<lifetime>/<node>/<name> (the
 * "CIB": every write here would abort a transition in a real cluster). */
const FAKE_CRM_ATTRIBUTE = `#!/bin/sh
name= node= lifetime=reboot value= op=query
while [ $# -gt 0 ]; do
  case "$1" in
    --promotion=*) name="master-\${1#--promotion=}";;
    --promotion) name="master-$OCF_RESOURCE_INSTANCE";;
    --name|-n) shift; name=$1;;
    --node|-N) shift; node=$1;;
    --lifetime|-l) shift; lifetime=$1;;
    --update|-U|-v) shift; op=update; value=$1;;
    --update=*) op=update; value=\${1#--update=};;
    --delete|-D) op=delete;;
    --query|-G) op=query;;
  esac
  shift
done
if [ -z "$RW_FAKE_ATTRD" ] || [ -z "$name" ] || [ -z "$node" ]; then echo "fake crm_attribute: missing --name/--node" >&2; exit 2; fi
dir="$RW_FAKE_ATTRD/$lifetime/$node"
f="$dir/$name"
printf '%s %s %s %s %s\\n' "$op" "$lifetime" "$node" "$name" "$value" >> "$RW_FAKE_ATTRD/calls.log"
case $op in
  update) mkdir -p "$dir" && printf '%s' "$value" > "$f.tmp.$$" && mv "$f.tmp.$$" "$f"; exit $?;;
  delete) rm -f "$f"; exit 0;;
esac
if [ -f "$f" ]; then cat "$f"; echo; exit 0; fi
echo "Error performing operation: No such device or address" >&2
exit 6
`;

/**
 * Stand-in for Pacemaker 2.1.5's attrd_updater (tests only; not evidence, see the file header).
 * Emulated: only --private values are accepted (the agent never writes any other kind); they live
 * in $RW_FAKE_ATTRD/private/<node>/<name>, apart from the crm_attribute store (the "CIB"), so a test
 * can see that nothing private reaches it; `-Q -N node` prints `name="N" host="H" value="V"`; `-Q`
 * without -N lists every node; an unknown name is rc 78 "attribute does not exist"; -D sets "";
 * updates are asynchronous: the writer's own node sees a value after RW_FAKE_ATTRD_LOCAL_MS (20),
 * other nodes (the reader's node is OCF_RESKEY_CRM_meta_on_node) after RW_FAKE_ATTRD_REMOTE_MS (80),
 * until then they read the previous value.
 */
const FAKE_ATTRD_UPDATER = `#!/bin/sh
name= node= op= value= private=0
while [ $# -gt 0 ]; do
  case "$1" in
    --name|-n) shift; name=$1;;
    --name=*) name=\${1#--name=};;
    --node|-N) shift; node=$1;;
    --node=*) node=\${1#--node=};;
    --update|-U) shift; op=update; value=$1;;
    --update=*) op=update; value=\${1#--update=};;
    --delete|-D) op=delete;;
    --query|-Q) op=query;;
    --private|-p) private=1;;
    --all|-A) ;;
    *) echo "fake attrd_updater: unsupported option $1" >&2; exit 64;;
  esac
  shift
done
[ -n "$RW_FAKE_ATTRD" ] && [ -n "$name" ] && [ -n "$op" ] || { echo "fake attrd_updater: missing -n or command" >&2; exit 64; }
me=\${OCF_RESKEY_CRM_meta_on_node:-localnode}
now() { date +%s%3N; }
printf 'attrd_updater %s %s %s %s private=%s\\n' "$op" "\${node:-*}" "$name" "$value" "$private" >> "$RW_FAKE_ATTRD/calls.log"
case $op in
  update|delete)
    [ "$private" = 1 ] || { echo "fake attrd_updater: only --private values are emulated" >&2; exit 64; }
    n=\${node:-$me}; d="$RW_FAKE_ATTRD/private/$n"; f="$d/$name"; mkdir -p "$d"
    [ "$op" = delete ] && value=
    if [ -f "$f" ]; then cp "$f" "$f.prev"; else rm -f "$f.prev"; fi
    printf '%s' "$value" > "$f.tmp.$$" && mv "$f.tmp.$$" "$f" && now > "$f.at"
    exit 0;;
esac
found=1
for d in "$RW_FAKE_ATTRD"/private/*; do
  [ -d "$d" ] || continue
  h=\${d##*/}
  [ -z "$node" ] || [ "$h" = "$node" ] || continue
  f="$d/$name"
  [ -f "$f" ] || continue
  lag=\${RW_FAKE_ATTRD_REMOTE_MS:-80}; [ "$h" = "$me" ] && lag=\${RW_FAKE_ATTRD_LOCAL_MS:-20}
  if [ $(( $(now) - $(cat "$f.at") )) -lt "$lag" ]; then
    [ -f "$f.prev" ] || continue
    v=$(cat "$f.prev")
  else
    v=$(cat "$f")
  fi
  printf 'name="%s" host="%s" value="%s"\\n' "$name" "$h" "$v"; found=0
done
[ $found = 0 ] && exit 0
echo "attrd_updater: Could not query value of $name: attribute does not exist" >&2
exit 78
`;

/** Stand-in for crm_node (tests only, not evidence): the partition is $RW_FAKE_PARTITION; the known
 * nodes (-l, "id name state" as 2.1.5 prints) $RW_FAKE_NODES (default: the partition); no name (-n fails). */
const FAKE_CRM_NODE = `#!/bin/sh
for a in "$@"; do
  case "$a" in
    --partition|-p) [ -n "$RW_FAKE_PARTITION" ] || exit 1; echo "$RW_FAKE_PARTITION"; exit 0;;
    --list|-l) all=\${RW_FAKE_NODES:-$RW_FAKE_PARTITION}; [ -n "$all" ] || exit 1; i=0
      for n in $all; do i=$((i+1)); s=lost; case " $RW_FAKE_PARTITION " in *" $n "*) s=member;; esac; echo "$i $n $s"; done; exit 0;;
  esac
done
exit 1
`;

export interface AttrStore {
  bin: string;
  dir: string;
  /** A private (attrd_updater --private) value. */
  get(node: string, name: string): string | null;
  /** A CIB attribute written by crm_attribute. */
  cib(node: string, name: string, lifetime?: string): string | null;
  /** Sets a private value as if attrd had replicated it long ago. */
  put(node: string, name: string, value: string): void;
  /** The promotion score (crm_attribute --promotion, lifetime reboot). */
  score(node: string): number | null;
  /** Every stand-in call so far, one line each. */
  calls(): string;
}

/** Writes the fake crm_attribute/attrd_updater/crm_node into <dir>/bin and returns a reader of the store. */
export function installFakeCrm(dir: string): AttrStore {
  const bin = join(dir, 'bin');
  const store = join(dir, 'attrd');
  mkdirSync(bin, { recursive: true });
  mkdirSync(store, { recursive: true });
  for (const [n, body] of [
    ['crm_attribute', FAKE_CRM_ATTRIBUTE],
    ['attrd_updater', FAKE_ATTRD_UPDATER],
    ['crm_node', FAKE_CRM_NODE],
  ] as const) {
    const f = join(bin, n);
    writeFileSync(f, body);
    chmodSync(f, 0o755);
  }
  const read = (f: string) => {
    try {
      return readFileSync(f, 'utf8');
    } catch {
      return null;
    }
  };
  /** A private (attrd) value as every node sees it once replicated; '' (deleted) reads as null. */
  const get = (node: string, name: string) => {
    const v = read(join(store, 'private', node, name));
    return v === '' ? null : v;
  };
  return {
    bin,
    dir: store,
    get,
    cib: (node, name, lifetime = 'reboot') => read(join(store, lifetime, node, name)),
    put: (node, name, value) => {
      mkdirSync(join(store, 'private', node), { recursive: true });
      const f = join(store, 'private', node, name);
      writeFileSync(f, value);
      writeFileSync(`${f}.at`, '0');
    },
    score: (node) => {
      const v = read(join(store, 'reboot', node, `master-${RESOURCE}`));
      return v === null ? null : Number(v);
    },
    calls: () => read(join(store, 'calls.log')) ?? '',
  };
}

export interface AgentRun {
  rc: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface Harness {
  rack: PgRack;
  attrs: AttrStore;
  env(node: PgRackNode, extra?: Record<string, string>): NodeJS.ProcessEnv;
  agent(action: string, node: PgRackNode, extra?: Record<string, string>, timeoutMs?: number): Promise<AgentRun>;
  /** Pacemaker's switchover transition: notify pre/post demote, demote, notify pre/post promote, promote. */
  switchover(
    from: PgRackNode,
    to: PgRackNode,
  ): Promise<{ steps: Record<string, number>; promote: AgentRun; demote: AgentRun; prePromote: AgentRun[] }>;
  /** Pacemaker's failover transition (primary lost): notify pre-promote on the survivor, promote, post-promote. */
  failover(lost: PgRackNode, to: PgRackNode): Promise<{ steps: Record<string, number>; promote: AgentRun }>;
}

export function notifyVars(
  type: string,
  operation: string,
  sets: Partial<Record<'active' | 'inactive' | 'start' | 'stop' | 'master' | 'slave' | 'promote' | 'demote', string[]>>,
): Record<string, string> {
  const env: Record<string, string> = {
    OCF_RESKEY_CRM_meta_notify_type: type,
    OCF_RESKEY_CRM_meta_notify_operation: operation,
  };
  for (const k of ['active', 'inactive', 'start', 'stop', 'master', 'slave', 'promote', 'demote'] as const) {
    const nodes = sets[k] ?? [];
    env[`OCF_RESKEY_CRM_meta_notify_${k}_uname`] = nodes.join(' ');
    env[`OCF_RESKEY_CRM_meta_notify_${k}_resource`] = nodes.map((_, i) => `${RESOURCE}:${i}`).join(' ');
  }
  return env;
}

export function createHarness(rack: PgRack, attrs: AttrStore, base: Record<string, string> = {}): Harness {
  const env = (node: PgRackNode, extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    PATH: `${attrs.bin}:${process.env.PATH}`,
    RW_FAKE_ATTRD: attrs.dir,
    OCF_ROOT: '/usr/lib/ocf',
    OCF_RESOURCE_INSTANCE: `${RESOURCE}:${rack.nodes.indexOf(node)}`,
    OCF_RESKEY_bindir: rack.bindir,
    OCF_RESKEY_pgdata: node.pgdata,
    OCF_RESKEY_pghost: rack.socketDir,
    OCF_RESKEY_pgport: String(node.port),
    OCF_RESKEY_system_user: rack.osUser,
    OCF_RESKEY_logfile: node.logfile,
    OCF_RESKEY_CRM_meta_on_node: node.name,
    OCF_RESKEY_CRM_meta_timeout: '30000',
    OCF_RESKEY_CRM_meta_notify: 'true',
    OCF_RESKEY_CRM_meta_clone_max: '2',
    OCF_RESKEY_CRM_meta_promoted_max: '1',
    OCF_RESKEY_CRM_meta_master_max: '1',
    ...base,
    ...extra,
  });
  const agent: Harness['agent'] = (action, node, extra = {}, timeoutMs = 60_000) =>
    new Promise((resolve) => {
      const t0 = performance.now();
      execFile(
        AGENT_JS,
        [action],
        { env: env(node, extra), timeout: timeoutMs, cwd: '/tmp' },
        (err, stdout, stderr) => {
          const e = err as { code?: unknown } | null;
          resolve({
            rc: !e ? 0 : typeof e.code === 'number' ? e.code : -1,
            stdout: String(stdout),
            stderr: String(stderr),
            ms: performance.now() - t0,
          });
        },
      );
    });
  const both = (fn: (n: PgRackNode) => Promise<AgentRun>) => Promise.all(rack.nodes.map(fn));
  const timed = async <T>(steps: Record<string, number>, name: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const r = await fn();
    steps[name] = performance.now() - t0;
    return r;
  };
  return {
    rack,
    attrs,
    env,
    agent,
    async switchover(from, to) {
      const steps: Record<string, number> = {};
      const sets = {
        active: [from.name, to.name],
        master: [from.name],
        slave: [to.name],
        demote: [from.name],
        promote: [to.name],
      };
      await timed(steps, 'pre_demote_notify', () => both((n) => agent('notify', n, notifyVars('pre', 'demote', sets))));
      const demote = await timed(steps, 'demote', () => agent('demote', from));
      await timed(steps, 'post_demote_notify', () =>
        both((n) => agent('notify', n, notifyVars('post', 'demote', sets))),
      );
      const prePromote = await timed(steps, 'pre_promote_notify', () =>
        both((n) => agent('notify', n, notifyVars('pre', 'promote', sets))),
      );
      const promote = await timed(steps, 'promote', () => agent('promote', to));
      await timed(steps, 'post_promote_notify', () =>
        both((n) => agent('notify', n, notifyVars('post', 'promote', sets))),
      );
      return { steps, promote, demote, prePromote };
    },
    async failover(lost, to) {
      const steps: Record<string, number> = {};
      const sets = { active: [to.name], inactive: [lost.name], slave: [to.name], promote: [to.name] };
      await timed(steps, 'pre_promote_notify', () => agent('notify', to, notifyVars('pre', 'promote', sets)));
      const promote = await timed(steps, 'promote', () => agent('promote', to));
      await timed(steps, 'post_promote_notify', () => agent('notify', to, notifyVars('post', 'promote', sets)));
      return { steps, promote };
    },
  };
}

/**
 * A writer that records every acknowledged commit: its own connection to whichever node is the
 * writable primary, inserting unique ids one at a time; an id counts only once COMMIT returned.
 */
export interface Writer {
  /** Commits acknowledged so far (the writer keeps going). */
  ackedCount(): number;
  stop(): Promise<{ acked: number[]; inDoubt: number[]; errors: number }>;
}

export async function startWriter(rack: PgRack, primary: PgRackNode, table = 'zl'): Promise<Writer> {
  const pg = (await import('pg')).default;
  await rack.sql(
    primary,
    `DROP TABLE IF EXISTS ${table}; CREATE TABLE ${table} (id bigint primary key, t timestamptz default now())`,
  );
  const acked: number[] = [];
  const inDoubt: number[] = [];
  let errors = 0;
  let running = true;
  let next = 1;
  const loop = (async () => {
    let client: InstanceType<typeof pg.Client> | null = null;
    while (running) {
      if (!client) {
        for (const n of rack.nodes) {
          const c = new pg.Client({
            host: '127.0.0.1',
            port: n.port,
            user: 'postgres',
            database: 'postgres',
            connectionTimeoutMillis: 1000,
          });
          c.on('error', () => {});
          try {
            await c.connect();
            const r = await c.query('SELECT pg_is_in_recovery() AS r');
            if (!r.rows[0]?.r) {
              client = c;
              break;
            }
          } catch {
            // not there
          }
          await c.end().catch(() => {});
        }
        if (!client) {
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
      }
      const id = next++;
      try {
        await client.query(`INSERT INTO ${table}(id) VALUES ($1)`, [id]);
        acked.push(id);
      } catch {
        errors++;
        inDoubt.push(id);
        await client.end().catch(() => {});
        client = null;
      }
    }
    await client?.end().catch(() => {});
  })();
  return {
    ackedCount: () => acked.length,
    async stop() {
      running = false;
      await loop;
      return { acked, inDoubt, errors };
    },
  };
}
