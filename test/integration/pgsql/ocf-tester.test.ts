/**
 * resource-agents' ocf-tester against the agent as `rackwitness install-agents` installs it (shell
 * wrapper under a temp OCF root), on a throw-away single instance: no cluster, no notify, the
 * stand-in crm_attribute on PATH. Plus the role checks ocf-tester does not make (8 after promote,
 * 0 after demote, 9 for a killed primary) and the meta-data against ra-api-1.dtd with xmllint.
 */
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createPgRack, type PgRack } from '../../fixtures/pg-rack.js';
import { cleanupDir, tempDir, waitFor } from '../../fixtures/proc.js';
import { type AttrStore, createHarness, ensureAgentBuilt, type Harness, installFakeCrm } from './agent-harness.js';

const exec = (cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env, timeout = 120_000) =>
  new Promise<{ code: number; out: string }>((resolve) => {
    execFile(cmd, args, { env, timeout, cwd: '/tmp' }, (err, stdout, stderr) => {
      const e = err as { code?: unknown } | null;
      resolve({ code: !e ? 0 : typeof e.code === 'number' ? e.code : -1, out: `${stdout}${stderr}` });
    });
  });

let rack: PgRack;
let attrs: AttrStore;
let h: Harness;
let agentPath: string;
let agentRoot: string;

/** Orphaned backends of a killed postmaster linger ~1.5 s; until they exit a probe still says 9. */
async function waitProbe(node: Parameters<Harness['agent']>[1], rc: number): Promise<void> {
  let got = -1;
  for (let i = 0; i < 50 && got !== rc; i++) {
    got = (await h.agent('monitor', node)).rc;
    if (got !== rc) await new Promise((r) => setTimeout(r, 200)); // poll step of a bounded condition wait
  }
  expect(got).toBe(rc);
}

beforeAll(async () => {
  const dist = ensureAgentBuilt();
  rack = await createPgRack({ prefix: 'rwpg-ocft-', standby: false, slots: false });
  attrs = installFakeCrm(cleanupDir(tempDir('rwpg-crm-')));
  h = createHarness(rack, attrs);
  const root = cleanupDir(tempDir('rwpg-ocfroot-'));
  chmodSync(root, 0o755); // ocf-tester runs meta-data as nobody
  const r = await exec(process.execPath, [join(dist, 'cli/main.js'), 'install-agents', '--root', root, '--json']);
  expect(r.code, r.out).toBe(0);
  agentPath = join(root, 'usr/lib/ocf/resource.d/rackwitness/pgsqlms');
  agentRoot = root;
}, 120_000);

describe('ocf-tester and OCF conformance', () => {
  it('install-agents writes an executable wrapper that runs the agent', async () => {
    expect(existsSync(agentPath)).toBe(true);
    expect(statSync(agentPath).mode & 0o111).toBe(0o111);
    const r = await exec(agentPath, ['methods']);
    expect(r.out).toMatch(/promote\n/);
    // notifications other than pre-promote are answered by the wrapper without starting Node
    // (the agent would have failed validation on this bindir); post-promote too: it only clears
    // the private election values, in the background, so the VIP never waits for a Node start
    const env = {
      ...process.env,
      OCF_RESKEY_bindir: '/nonexistent',
      OCF_RESKEY_CRM_meta_notify_type: 'pre',
      OCF_RESKEY_CRM_meta_notify_operation: 'demote',
    };
    expect((await exec(agentPath, ['notify'], env)).code).toBe(0);
    const post = await exec(agentPath, ['notify'], {
      ...env,
      OCF_RESKEY_CRM_meta_notify_type: 'post',
      OCF_RESKEY_CRM_meta_notify_operation: 'promote',
    });
    expect([post.code, post.out]).toEqual([0, '']);
    const pre = await exec(agentPath, ['notify'], { ...env, OCF_RESKEY_CRM_meta_notify_operation: 'promote' });
    expect([pre.code, pre.out]).toEqual([5, expect.stringMatching(/pg_ctl is not executable in bindir=\/nonexistent/)]);
    // the fence agent goes where pacemaker-fenced looks for fence_* agents
    const fence = join(agentRoot, 'usr/sbin/fence_rackwitness');
    const meta = await exec(fence, ['-o', 'metadata']);
    expect(meta.code).toBe(0);
    expect(meta.out).toMatch(/<resource-agent name="fence_rackwitness"/);
  });

  it('meta-data is valid against ra-api-1.dtd', async () => {
    const dir = cleanupDir(tempDir('rwpg-dtd-'));
    copyFileSync('/usr/share/resource-agents/ra-api-1.dtd', join(dir, 'ra-api-1.dtd'));
    const md = await exec(agentPath, ['meta-data']);
    expect(md.code).toBe(0);
    writeFileSync(join(dir, 'md.xml'), md.out);
    const v = await exec('xmllint', ['--noout', '--valid', join(dir, 'md.xml')]);
    expect(v.code, v.out).toBe(0);
    for (const p of [
      'bindir',
      'pgdata',
      'datadir',
      'pghost',
      'pgport',
      'system_user',
      'start_opts',
      'maxlag',
      'recovery_template',
    ]) {
      expect(md.out).toContain(`<parameter name="${p}"`);
    }
  });

  it('ocf-tester passes all tests', async () => {
    const [a] = rack.nodes;
    const opts = {
      bindir: rack.bindir,
      pgdata: a.pgdata,
      pghost: rack.socketDir,
      pgport: String(a.port),
      system_user: rack.osUser,
      logfile: a.logfile,
      CRM_meta_on_node: a.name,
    };
    const args = ['-n', 'pgsqld', ...Object.entries(opts).flatMap(([k, v]) => ['-o', `${k}=${v}`]), agentPath];
    const r = await exec(
      'ocf-tester',
      args,
      { ...process.env, PATH: `${attrs.bin}:${process.env.PATH}`, RW_FAKE_ATTRD: attrs.dir },
      240_000,
    );
    expect(r.out).toMatch(/passed all tests/);
    expect(r.code, r.out).toBe(0);
    expect(await rack.role(a)).toBe('down'); // ocf-tester ends with stop
  }, 240_000);

  it('role codes ocf-tester does not check: 8 after promote, 0 after demote, 9 after kill -9, 7 stopped', async () => {
    const [a] = rack.nodes;
    expect((await h.agent('start', a)).rc).toBe(0);
    expect((await h.agent('monitor', a)).rc).toBe(0);
    // election through the attribute store: a more advanced peer wins (scores 1 / 1000, promote fails
    // so Pacemaker re-decides); the same peer marked diverged is never a candidate
    const put = (node: string, name: string, v: string) => attrs.put(node, `${name}-pgsqld`, v);
    put(a.name, 'nodes', `${a.name} ahead`);
    put('ahead', 'lsn_location', `99#${2n ** 40n}`);
    const lose = await h.agent('promote', a);
    expect([lose.rc, lose.stderr]).toEqual([
      1,
      expect.stringMatching(/not promoting node_a: ahead \(timeline 99, LSN 100\/0\) is more advanced/),
    ]);
    expect([attrs.score(a.name), attrs.score('ahead')]).toEqual([1, 1000]);
    expect(await rack.role(a)).toBe('standby');
    put('ahead', 'diverged', '1');
    put(a.name, 'nodes', `${a.name} ahead`);
    const win = await h.agent('promote', a);
    expect(win.rc, win.stderr).toBe(0);
    expect(win.stderr).toMatch(/election: node_a .* is at least as advanced as every other candidate/);
    expect((await h.agent('demote', a)).rc).toBe(0);
    // the election waits for a peer that never publishes its position only a bounded time (PAF#131
    // waited forever), then promotes without it; manage_slots creates a slot per other node (from the
    // pre-promote `nodes` list, else crm_node --partition)
    put(a.name, 'nodes', `${a.name} ghost`);
    const p = await h.agent('promote', a, { OCF_RESKEY_CRM_meta_timeout: '6000', OCF_RESKEY_manage_slots: 'true' });
    expect(p.rc, p.stderr).toBe(0);
    expect(p.stderr).toMatch(/ghost published no WAL position in time: it is not a candidate/);
    expect((await h.agent('monitor', a)).rc).toBe(8);
    expect(
      (await rack.sql(a, "SELECT slot_type FROM pg_replication_slots WHERE slot_name = 'ghost'"))[0]?.slot_type,
    ).toBe('physical');
    const post = await h.agent('notify', a, {
      OCF_RESKEY_CRM_meta_notify_type: 'post',
      OCF_RESKEY_CRM_meta_notify_operation: 'promote',
    });
    expect(post.rc).toBe(0);
    // the wrapper clears the private values in the background after answering
    await waitFor('post-promote clearing nodes-pgsqld', () => attrs.get(a.name, 'nodes-pgsqld') === null, 5000);
    expect(attrs.score(a.name)).toBe(1001);
    expect((await h.agent('demote', a)).rc).toBe(0);
    expect((await h.agent('monitor', a)).rc).toBe(0);
    expect((await h.agent('promote', a)).rc).toBe(0);
    await rack.kill9(a);
    // a recurring monitor reports the crashed primary (9) so Pacemaker recovers it; a probe (after a
    // reboot: nothing runs in the data directory) reports it not running (7), so start's rejoin runs
    expect((await h.agent('monitor', a, { OCF_RESKEY_CRM_meta_interval: '15000' })).rc).toBe(9);
    await waitProbe(a, 7);
    // the killed primary starts again as a standby only after the rejoin check (nothing to follow here)
    const s = await h.agent('start', a);
    expect(s.rc, s.stderr).toBe(0);
    expect(s.stderr).toMatch(/no primary answers/);
    expect((await h.agent('stop', a)).rc).toBe(0);
    expect((await h.agent('monitor', a)).rc).toBe(7);
  }, 120_000);
});
