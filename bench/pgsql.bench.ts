/**
 * PostgreSQL agent benchmark: per-step timings of a loaded controlled switchover and of a failover
 * promote, ours (rackwitness-pgsqlms driven as Pacemaker drives it: notify + demote + notify +
 * promote, stand-in attribute store) next to the same steps done the PAF way by hand in the same
 * run against the same rack (pg_ctl stop -m fast, shutdown-checkpoint check with pg_waldump,
 * pg_ctl promote, old primary started with standby.signal). Reference (manual PAF-way figures on a
 * 2 vCPU VM): switchover 0.9-2.9 s, failover promote 0.2-0.6 s.
 * Writes bench/results/pgsql.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPgRack, type PgRack, type PgRackNode } from '../test/fixtures/pg-rack.js';
import { cleanupDir, tempDir } from '../test/fixtures/proc.js';
import {
  createHarness,
  ensureAgentBuilt,
  type Harness,
  installFakeCrm,
  startWriter,
} from '../test/integration/pgsql/agent-harness.js';
import { median } from './lib.js';

const RUNS_SWITCHOVER = 5;
const RUNS_FAILOVER = 3;
const round = (n: number) => Math.round(n * 10) / 10;

/** Longest gap between two acknowledged commits (client-observed write outage). */
function longestGap(ackTimes: number[]): number {
  let g = 0;
  for (let i = 1; i < ackTimes.length; i++) g = Math.max(g, (ackTimes[i] as number) - (ackTimes[i - 1] as number));
  return g;
}

/** A writer like the test's, also recording when each commit was acknowledged. */
async function timedWriter(rack: PgRack, primary: PgRackNode, table: string) {
  const w = await startWriter(rack, primary, table);
  const times: number[] = [];
  const t = setInterval(() => {}, 1000);
  return {
    async stop() {
      clearInterval(t);
      const r = await w.stop();
      // acked ids are consecutive per success; the table's timestamps give the commit times
      const rows = await rack.sql<{ ms: string }>(
        await writable(rack),
        `SELECT (extract(epoch from t)*1000)::bigint AS ms FROM ${table} ORDER BY id`,
      );
      for (const row of rows) times.push(Number(row.ms));
      return { ...r, gapMs: longestGap(times) };
    },
  };
}

async function writable(rack: PgRack): Promise<PgRackNode> {
  for (const n of rack.nodes) if ((await rack.role(n)) === 'primary') return n;
  throw new Error('no primary');
}

async function pafSwitchover(rack: PgRack, from: PgRackNode, to: PgRackNode): Promise<Record<string, number>> {
  const steps: Record<string, number> = {};
  const t0 = performance.now();
  const stop = await rack.asPg(join(rack.bindir, 'pg_ctl'), [
    '-D',
    from.pgdata,
    '-m',
    'fast',
    '-w',
    '-t',
    '60',
    'stop',
  ]);
  if (stop.code !== 0) throw new Error(stop.stderr);
  steps.stop = performance.now() - t0;
  const t1 = performance.now();
  const cd = await rack.controldata(from);
  const ckpt = cd.get('Latest checkpoint location') as string;
  const tli = cd.get("Latest checkpoint's TimeLineID") as string;
  const dump = await rack.asPg(join(rack.bindir, 'pg_waldump'), [
    '--path',
    join(to.pgdata, 'pg_wal'),
    '--timeline',
    tli,
    '--start',
    ckpt,
    '--limit',
    '1',
  ]);
  if (!/CHECKPOINT_SHUTDOWN/.test(dump.stdout)) throw new Error(`PAF-way check failed: ${dump.stdout}${dump.stderr}`);
  steps.check = performance.now() - t1;
  const t2 = performance.now();
  const pr = await rack.asPg(join(rack.bindir, 'pg_ctl'), ['-D', to.pgdata, '-w', '-t', '60', 'promote']);
  if (pr.code !== 0) throw new Error(pr.stderr);
  steps.promote = performance.now() - t2;
  steps.promoted = performance.now() - t0;
  const t3 = performance.now();
  await rack.start(from, { standby: true });
  steps.old_primary_started = performance.now() - t3;
  steps.total = performance.now() - t0;
  return steps;
}

describe('pgsql agent vs PAF-way manual steps', () => {
  it('switchover (loaded) and failover promote', async () => {
    ensureAgentBuilt();
    const rack = await createPgRack({ prefix: 'rwpg-bench-' });
    const attrs = installFakeCrm(cleanupDir(tempDir('rwpg-crm-')));
    const h: Harness = createHarness(rack, attrs);
    let [primary, standby] = rack.nodes;
    const ours: Array<Record<string, number>> = [];
    const peer: Array<Record<string, number>> = [];
    let lost = 0;
    let acked = 0;
    for (let i = 0; i < RUNS_SWITCHOVER * 2; i++) {
      const mine = i % 2 === 0;
      const w = await timedWriter(rack, primary, `b${i}`);
      await new Promise((r) => setTimeout(r, 600));
      let steps: Record<string, number>;
      if (mine) {
        const t0 = performance.now();
        const so = await h.switchover(primary, standby);
        expect(so.promote.rc, so.promote.stderr).toBe(0);
        steps = { ...so.steps };
        steps.promoted =
          (steps.pre_demote_notify ?? 0) +
          (steps.demote ?? 0) +
          (steps.post_demote_notify ?? 0) +
          (steps.pre_promote_notify ?? 0) +
          (steps.promote ?? 0);
        steps.total = performance.now() - t0;
      } else {
        steps = await pafSwitchover(rack, primary, standby);
      }
      [primary, standby] = [standby, primary];
      await new Promise((r) => setTimeout(r, 400));
      const res = await w.stop();
      const got = new Set((await rack.sql<{ id: string }>(primary, `SELECT id FROM b${i}`)).map((r) => Number(r.id)));
      lost += res.acked.filter((id) => !got.has(id)).length;
      acked += res.acked.length;
      steps.write_gap = res.gapMs;
      (mine ? ours : peer).push(steps);
      await rack.waitStreaming(primary, standby);
    }
    expect(lost).toBe(0);

    const foOurs: number[] = [];
    const foPeer: number[] = [];
    const rejoin: number[] = [];
    for (let i = 0; i < RUNS_FAILOVER * 2; i++) {
      const mine = i % 2 === 0;
      await rack.sql(primary, `CREATE TABLE f${i} AS SELECT 1 AS id`);
      await rack.kill9(primary);
      const t0 = performance.now();
      if (mine) {
        const f = await h.failover(primary, standby);
        expect(f.promote.rc, f.promote.stderr).toBe(0);
        foOurs.push(performance.now() - t0);
      } else {
        const pr = await rack.asPg(join(rack.bindir, 'pg_ctl'), ['-D', standby.pgdata, '-w', '-t', '60', 'promote']);
        expect(pr.code, pr.stderr).toBe(0);
        foPeer.push(performance.now() - t0);
      }
      [primary, standby] = [standby, primary];
      const t1 = performance.now();
      const s = await h.agent('start', standby, { OCF_RESKEY_CRM_meta_timeout: '90000' });
      expect(s.rc, s.stderr).toBe(0);
      await rack.waitStreaming(primary, standby);
      rejoin.push(performance.now() - t1);
    }

    const col = (rows: Array<Record<string, number>>, k: string) => median(rows.map((r) => r[k] ?? Number.NaN));
    const row = (name: string, o: number, p: number, runs: number, note: string) => ({
      name,
      ours_ms: round(o),
      peer: 'PAF-way manual steps (pg_ctl, pg_waldump)',
      peer_ms: Number.isNaN(p) ? null : round(p),
      ratio: Number.isNaN(p) ? null : Number((p / o).toFixed(3)),
      runs,
      note,
    });
    const result = {
      title:
        'PostgreSQL agent: switchover (loaded) and failover promote, ours vs PAF-way manual steps, same rack, same run',
      reference:
        'manual PAF-way figures on a 2 vCPU VM (shared/reference/postgresql): switchover 0.9-2.9 s, failover promote 0.2-0.6 s',
      rows: [
        row(
          'switchover: demote / fast stop',
          col(ours, 'demote'),
          col(peer, 'stop'),
          RUNS_SWITCHOVER,
          'ours = demote action (fast stop + restart as standby); peer = pg_ctl stop -m fast',
        ),
        row(
          'switchover: safety check',
          col(ours, 'pre_promote_notify'),
          col(peer, 'check'),
          RUNS_SWITCHOVER,
          'ours = pre-promote notify on both nodes (check + position publish); peer = pg_controldata + pg_waldump -n 1',
        ),
        row(
          'switchover: promote',
          col(ours, 'promote'),
          col(peer, 'promote'),
          RUNS_SWITCHOVER,
          'ours = promote action (validate, election, pg_ctl promote, wait); peer = pg_ctl -w promote',
        ),
        row(
          'switchover: stop to promoted',
          col(ours, 'promoted'),
          col(peer, 'promoted'),
          RUNS_SWITCHOVER,
          'ours includes the pre/post demote notifies',
        ),
        row(
          'switchover: total',
          col(ours, 'total'),
          col(peer, 'total'),
          RUNS_SWITCHOVER,
          'ours: old primary already back as standby after demote; peer: + start old primary as standby',
        ),
        row(
          'switchover: client write gap',
          col(ours, 'write_gap'),
          col(peer, 'write_gap'),
          RUNS_SWITCHOVER,
          `longest gap between two acknowledged commits; ${acked} acked in all runs, ${lost} lost`,
        ),
        row(
          'failover: kill -9 to promoted',
          median(foOurs),
          median(foPeer),
          RUNS_FAILOVER,
          'without detection time; ours = pre-promote notify + promote + post-promote notify; peer = pg_ctl -w promote',
        ),
        row(
          'failover: rejoin of the ex-primary',
          median(rejoin),
          Number.NaN,
          RUNS_FAILOVER * 2,
          'ours: start action (rewind decision, pg_rewind when diverged) until streaming; reference manual: 0.7-1.4 s plain, 5.4-7.7 s with pg_rewind',
        ),
      ],
      steps: { ours, peer, failover_ours: foOurs, failover_peer: foPeer, rejoin },
    };
    mkdirSync('bench/results', { recursive: true });
    writeFileSync('bench/results/pgsql.json', `${JSON.stringify(result, null, 2)}\n`);
    console.table(result.rows.map((r) => ({ name: r.name, ours_ms: r.ours_ms, peer_ms: r.peer_ms, ratio: r.ratio })));
    await rack.destroy();
  }, 600_000);
});
