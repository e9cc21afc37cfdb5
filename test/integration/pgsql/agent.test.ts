/**
 * rackwitness-pgsqlms against a real PostgreSQL 15 two-node rack, driven the way Pacemaker drives
 * it (OCF env, notify variables), with a stand-in attribute store. One rack for the whole file:
 * the scenarios run in order and each leaves the rack with one primary and one streaming standby.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createPgRack, type PgRack, type PgRackNode } from '../../fixtures/pg-rack.js';
import { cleanupDir, tempDir, waitFor } from '../../fixtures/proc.js';
import {
  type AttrStore,
  createHarness,
  ensureAgentBuilt,
  type Harness,
  installFakeCrm,
  notifyVars,
  RESOURCE,
  startWriter,
} from './agent-harness.js';

let rack: PgRack;
let h: Harness;
let attrs: AttrStore;
let primary: PgRackNode;
let standby: PgRackNode;

beforeAll(async () => {
  ensureAgentBuilt();
  rack = await createPgRack({ prefix: 'rwpg-agent-' });
  attrs = installFakeCrm(cleanupDir(tempDir('rwpg-crm-')));
  h = createHarness(rack, attrs);
  [primary, standby] = rack.nodes;
}, 120_000);

const rmScore = (node: string) => rmSync(join(attrs.dir, 'reboot', node, `master-${RESOURCE}`), { force: true });

/** Cuts (or restores) a standby's stream by overriding primary_conninfo on the standby and reloading. */
async function cutStream(node: PgRackNode, cut: boolean): Promise<void> {
  if (cut)
    await rack.sql(
      node,
      `ALTER SYSTEM SET primary_conninfo = 'host=127.0.0.1 port=1 user=postgres connect_timeout=1 application_name=${node.name}'`,
    );
  else await rack.sql(node, 'ALTER SYSTEM RESET primary_conninfo');
  await rack.sql(node, 'SELECT pg_reload_conf()');
}

/** Orphaned backends of a killed postmaster linger ~1.5 s; until they exit a probe still says 9. */
async function waitProbe(node: PgRackNode, rc: number, extra: Record<string, string> = {}): Promise<void> {
  let got = -1;
  for (let i = 0; i < 50 && got !== rc; i++) {
    got = (await h.agent('monitor', node, extra)).rc;
    if (got !== rc) await new Promise((r) => setTimeout(r, 200)); // poll step of a bounded condition wait
  }
  expect(got).toBe(rc);
}

const count = async (n: PgRackNode, table: string) =>
  Number((await rack.sql<{ c: string }>(n, `SELECT count(*) AS c FROM ${table}`))[0]?.c);

describe('roles and scores', () => {
  it('monitor says 8 on the primary and 0 on the standby; the primary publishes 1001/1000 with crm_attribute --promotion', async () => {
    expect((await h.agent('monitor', primary, { OCF_RESKEY_CRM_meta_interval: '15000' })).rc).toBe(8);
    expect((await h.agent('monitor', standby, { OCF_RESKEY_CRM_meta_interval: '16000' })).rc).toBe(0);
    expect(attrs.score(primary.name)).toBe(1001);
    expect(attrs.score(standby.name)).toBe(1000);
    expect((await h.agent('validate-all', primary)).rc).toBe(0);
  });

  it('a standby that does not replicate gets -1000 and a refused switchover never promotes it', async () => {
    await cutStream(standby, true);
    try {
      await rack.sql(primary, 'CREATE TABLE IF NOT EXISTS cut_rows (id int)');
      await rack.sql(primary, 'INSERT INTO cut_rows SELECT generate_series(1, 500)');
      expect(
        (
          await h.agent('monitor', primary, {
            OCF_RESKEY_CRM_meta_interval: '15000',
            RW_FAKE_PARTITION: `${primary.name} ${standby.name}`,
          })
        ).rc,
      ).toBe(8);
      expect(attrs.score(standby.name)).toBe(-1000);

      // Pacemaker tries a switchover anyway: the standby missed the old primary's WAL and refuses
      const so = await h.switchover(primary, standby);
      expect(so.demote.rc).toBe(0);
      expect(so.promote.rc, `${so.prePromote.map((r) => r.stderr).join('')}\n${so.promote.stderr}`).toBe(1);
      expect(so.promote.stderr).toMatch(/ocf-exit-reason:switchover refused: .*(shutdown checkpoint|not streaming)/);
      expect(await rack.role(standby)).toBe('standby');
      expect(await rack.role(primary)).toBe('standby'); // demoted: both standbys now, nothing lost yet

      // Pacemaker then promotes the old primary back (it has the best position): a failover-type transition
      const back = await h.failover(standby, primary);
      expect(back.promote.rc, back.promote.stderr).toBe(0);
      expect(await rack.role(primary)).toBe('primary');
      expect(await count(primary, 'cut_rows')).toBe(500);
    } finally {
      await cutStream(standby, false);
    }
    await rack.waitStreaming(primary, standby);
    await h.agent('monitor', primary, { OCF_RESKEY_CRM_meta_interval: '15000' });
    expect(attrs.score(standby.name)).toBe(1000);
  });
});

describe('controlled switchover under a concurrent writer', () => {
  it('loses no acknowledged commit across 5 loaded switchovers, and the old primary follows as a standby', async () => {
    for (let run = 1; run <= 5; run++) {
      const w = await startWriter(rack, primary, `zl${run}`);
      // the writer is under way before the switchover, and is writing to the new primary after it
      await waitFor(
        `run ${run}: the writer to commit 30 rows before the switchover`,
        () => w.ackedCount() >= 30,
        10_000,
      );
      const so = await h.switchover(primary, standby);
      const atSwitch = w.ackedCount();
      await waitFor(
        `run ${run}: the writer to commit 25 rows on the new primary after the switchover`,
        () => w.ackedCount() >= atSwitch + 25,
        15_000,
      );
      const res = await w.stop();
      expect(so.demote.rc, so.demote.stderr).toBe(0);
      expect(so.promote.rc, so.promote.stderr).toBe(0);
      expect(so.prePromote.map((r) => r.stderr).join('')).toMatch(
        /switchover check: the standby holds the old primary's shutdown checkpoint/,
      );
      [primary, standby] = [standby, primary];
      expect(await rack.role(primary)).toBe('primary');
      expect(res.acked.length).toBeGreaterThan(50);
      const got = new Set(
        (await rack.sql<{ id: string }>(primary, `SELECT id FROM zl${run}`)).map((r) => Number(r.id)),
      );
      const missing = res.acked.filter((id) => !got.has(id));
      expect(missing, `run ${run}: ${res.acked.length} acked, ${res.inDoubt.length} in doubt`).toEqual([]);
      await rack.waitStreaming(primary, standby);
      expect(attrs.get(primary.name, `lsn_location-${RESOURCE}`)).toBeNull(); // post-promote cleaned up
    }
  }, 180_000);
});

describe('probes publish scores (bring-up)', () => {
  const both = () => ({ RW_FAKE_PARTITION: `${primary.name} ${standby.name}` });
  it('a probe that finds a running primary publishes 1001 (and the standby 1000), so Pacemaker keeps it promoted', async () => {
    for (const n of [primary, standby]) rmScore(n.name);
    const pr = await h.agent('monitor', primary, both());
    expect(pr.rc, pr.stderr).toBe(8);
    expect([attrs.score(primary.name), attrs.score(standby.name)]).toEqual([1001, 1000]);
  });

  it('two cleanly stopped instances: the ex-primary gets a bootstrap score from its probe, is promoted, and the other follows it', async () => {
    // Pacemaker stopping the clone demotes first: both end "shut down in recovery"; a plain stop of
    // the primary leaves it "shut down". Both cases, one after the other.
    for (const demoteFirst of [false, true]) {
      if (demoteFirst) expect((await h.agent('demote', primary)).rc).toBe(0);
      await rack.stop(standby, 'fast');
      await rack.stop(primary, 'fast');
      for (const n of [primary, standby]) rmScore(n.name);
      expect((await h.agent('monitor', primary, both())).rc).toBe(7);
      expect((await h.agent('monitor', standby, both())).rc).toBe(7);
      const expected = demoteFirst ? [1, 1] : [2, 1];
      expect([attrs.score(primary.name), attrs.score(standby.name)]).toEqual(expected);
      // a standby alone (the other known node absent) gets nothing
      rmScore(standby.name);
      await h.agent('monitor', standby, {
        RW_FAKE_PARTITION: standby.name,
        RW_FAKE_NODES: `${primary.name} ${standby.name}`,
      });
      expect(attrs.score(standby.name)).toBeNull();
      const [a, b] = await Promise.all([h.agent('start', primary, both()), h.agent('start', standby, both())]);
      expect([a.rc, b.rc], `${a.stderr}\n${b.stderr}`).toEqual([0, 0]);
      // Pacemaker promotes the best score: a first promotion (failover kind), election over both
      const sets = {
        active: [primary.name, standby.name],
        slave: [primary.name, standby.name],
        promote: [primary.name],
      };
      await Promise.all(
        [primary, standby].map((n) => h.agent('notify', n, { ...both(), ...notifyVars('pre', 'promote', sets) })),
      );
      const p = await h.agent('promote', primary, both());
      expect(p.rc, p.stderr).toBe(0);
      await Promise.all(
        [primary, standby].map((n) => h.agent('notify', n, { ...both(), ...notifyVars('post', 'promote', sets) })),
      );
      await rack.waitStreaming(primary, standby);
      expect((await h.agent('monitor', primary, { ...both(), OCF_RESKEY_CRM_meta_interval: '15000' })).rc).toBe(8);
      expect([attrs.score(primary.name), attrs.score(standby.name)]).toEqual([1001, 1000]);
    }
  }, 120_000);

  it('no private coordination value ever went through crm_attribute (it would abort transitions)', () => {
    const crm = attrs
      .calls()
      .split('\n')
      .filter((l) => l && !l.startsWith('attrd_updater'));
    expect(crm.length).toBeGreaterThan(0);
    expect(crm.filter((l) => !l.includes(`master-${RESOURCE}`))).toEqual([]);
    expect(attrs.calls()).toMatch(/attrd_updater update \S+ lsn_location-pgsqld \S+ private=1/);
  });
});

describe('failover and rejoin', () => {
  it('a cleanly stopped ex-primary rejoins after a failover without pg_rewind', async () => {
    await rack.sql(primary, 'CREATE TABLE IF NOT EXISTS clean_rows AS SELECT generate_series(1, 100) AS id');
    await rack.stop(primary, 'fast');
    expect((await h.agent('monitor', primary)).rc).toBe(7);
    const f = await h.failover(primary, standby);
    expect(f.promote.rc, f.promote.stderr).toBe(0);
    const old = primary;
    [primary, standby] = [standby, old];
    const s = await h.agent('start', standby);
    expect(s.rc, s.stderr).toBe(0);
    expect(s.stderr).toMatch(/no rewind is needed/);
    await rack.waitStreaming(primary, standby);
  });

  it('after kill -9 of the primary: 9, failover promotes the standby; the diverged ex-primary refuses without rewind, is rewound with it', async () => {
    // make the old primary diverge: its standby stops receiving, it writes, then dies
    await cutStream(standby, true);
    await rack.sql(primary, 'CREATE TABLE lost_rows AS SELECT generate_series(1, 2000) AS id');
    const lost = primary;
    await rack.kill9(lost);
    // a recurring monitor reports the crashed primary (9: Pacemaker recovers it); a probe (the node
    // came back after a fence) sees nothing in the data directory and reports 7, so no fence loop;
    // a stop then succeeds (nothing runs), the rejoin check belongs to start
    expect((await h.agent('monitor', lost, { OCF_RESKEY_CRM_meta_interval: '15000' })).rc).toBe(9);
    await waitProbe(lost, 7);
    const st = await h.agent('stop', lost);
    expect([st.rc, st.stderr]).toEqual([0, expect.stringMatching(/no process works in the data directory/)]);
    await cutStream(standby, false);
    const f = await h.failover(lost, standby);
    expect(f.promote.rc, f.promote.stderr).toBe(0);
    [primary, standby] = [standby, lost];
    expect(await rack.role(primary)).toBe('primary');
    await rack.sql(primary, 'CREATE TABLE after_failover AS SELECT 1 AS id');

    const refused = await h.agent('start', standby, { OCF_RESKEY_rewind: 'false' });
    expect(refused.rc).toBe(1);
    expect(refused.stderr).toMatch(/ocf-exit-reason:the node diverged \(.*\) and rewind is disabled/);
    expect(attrs.get(standby.name, `diverged-${RESOURCE}`)).toBe('1');
    expect(await rack.role(standby)).toBe('down');
    // demote of the crashed primary (Pacemaker's recovery of a 9) runs the same rejoin check and
    // fails the same way; the stop after it succeeds: nothing to fence
    const dm = await h.agent('demote', standby, { OCF_RESKEY_rewind: 'false' });
    expect([dm.rc, dm.stderr]).toEqual([1, expect.stringMatching(/and rewind is disabled/)]);
    expect((await h.agent('stop', standby)).rc).toBe(0);
    // a diverged node is never promoted, whatever Pacemaker asks
    const p = await h.agent('promote', standby);
    expect([p.rc, p.stderr]).toEqual([
      1,
      expect.stringMatching(/ocf-exit-reason:cannot promote: .*the primary crashed/),
    ]);
    expect(await rack.role(standby)).toBe('down');

    const rw = await h.agent('start', standby, { OCF_RESKEY_CRM_meta_timeout: '60000' });
    expect(rw.rc, rw.stderr).toBe(0);
    expect(rw.stderr).toMatch(/rewound .* with pg_rewind/);
    await rack.waitStreaming(primary, standby);
    expect(attrs.get(standby.name, `diverged-${RESOURCE}`)).toBeNull();
    // the standby now serves the new primary's data, not the lost rows
    await rack.sql(primary, 'INSERT INTO after_failover VALUES (2)');
    // replication is asynchronous: wait for the row to be replayed on the standby
    await waitFor(
      'the standby to replay the second after_failover row',
      async () => (await count(standby, 'after_failover')) >= 2,
      10_000,
    );
    expect(await count(standby, 'after_failover')).toBe(2);
    expect((await rack.sql(standby, "SELECT to_regclass('lost_rows') AS r"))[0]?.r).toBeNull();
  }, 120_000);
});

describe('bad input fails with OCF_ERR_* and a clear message, never a promotion', () => {
  it('wrong pgdata, wrong bindir, wrong port, a missing binary, a bad parameter', async () => {
    const bad = async (action: string, extra: Record<string, string>) => h.agent(action, standby, extra);
    let r = await bad('validate-all', { OCF_RESKEY_pgdata: '/nonexistent/data' });
    expect([r.rc, r.stderr]).toEqual([
      2,
      expect.stringMatching(/ocf-exit-reason:datadir=\/nonexistent\/data is not a PostgreSQL data directory/),
    ]);
    expect((await bad('start', { OCF_RESKEY_pgdata: '/nonexistent/data' })).rc).toBe(2);
    expect((await bad('promote', { OCF_RESKEY_pgdata: '/nonexistent/data' })).rc).toBe(2);
    r = await bad('validate-all', { OCF_RESKEY_bindir: '/nonexistent/bin' });
    expect([r.rc, r.stderr]).toEqual([
      5,
      expect.stringMatching(/pg_ctl is not executable in bindir=\/nonexistent\/bin/),
    ]);
    r = await bad('promote', { OCF_RESKEY_bindir: '/nonexistent/bin' });
    expect(r.rc).toBe(5);
    r = await bad('validate-all', { OCF_RESKEY_pgport: String(primary.port) });
    expect([r.rc, r.stderr]).toEqual([
      2,
      expect.stringMatching(
        new RegExp(`pgport=${primary.port} but the server .* is configured with port ${standby.port}`),
      ),
    ]);
    expect((await bad('promote', { OCF_RESKEY_pgport: String(primary.port) })).rc).toBe(2);
    r = await bad('validate-all', { OCF_RESKEY_maxlag: 'lots' });
    expect([r.rc, r.stderr]).toEqual([6, expect.stringMatching(/maxlag="lots" is not a non-negative integer/)]);
    r = await bad('validate-all', { OCF_RESKEY_CRM_meta_notify: 'false' });
    expect([r.rc, r.stderr]).toEqual([6, expect.stringMatching(/notify=true/)]);
    r = await bad('validate-all', { OCF_RESKEY_CRM_meta_on_node: 'elsewhere' });
    expect([r.rc, r.stderr]).toEqual([
      2,
      expect.stringMatching(/application_name=elsewhere .*it has application_name=/),
    ]);

    // a bindir without pg_waldump (the switchover proof needs it)
    const bin = cleanupDir(tempDir('rwpg-bin-'));
    const { symlinkSync, readdirSync } = await import('node:fs');
    for (const f of readdirSync(rack.bindir)) if (f !== 'pg_waldump') symlinkSync(join(rack.bindir, f), join(bin, f));
    r = await bad('validate-all', { OCF_RESKEY_bindir: bin });
    expect([r.rc, r.stderr]).toEqual([5, expect.stringMatching(/pg_waldump is not executable/)]);
    expect(await rack.role(standby)).toBe('standby');
  });

  it('a second primary: start on a running primary fails; promoting a standby while a primary answers is refused', async () => {
    const s = await h.agent('start', primary);
    expect([s.rc, s.stderr]).toEqual([1, expect.stringMatching(/already running as a primary/)]);
    const p = await h.agent('promote', standby);
    expect([p.rc, p.stderr]).toEqual([
      1,
      expect.stringMatching(
        /another primary answers at 127\.0\.0\.1:\d+; refusing to create a second writable primary/,
      ),
    ]);
    expect(await rack.role(standby)).toBe('standby');
    // a notify without promotion is a no-op success
    expect((await h.agent('notify', standby, notifyVars('pre', 'start', { start: [standby.name] }))).rc).toBe(0);
  });
});
