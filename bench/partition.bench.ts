/**
 * Partitions of the live rack, three recipes side by side in one run (issue #11): the same rack lab
 * (real corosync + Pacemaker on two nodes, ipmi_sim BMCs whose power is the nodes' power,
 * PostgreSQL 15 under ocf:rackwitness:pgsqlms, fence_rackwitness through the box, a writer through
 * the VIP and a write probe on both nodes), the node1–node2 link cut while both reach the box:
 *   - qdevice: the box as corosync's quorum device (corosync-qnetd, ffsplit, the PostgreSQL-aware
 *     heuristics), fence arbitration on;
 *   - arbitration: two_node, the box's fence arbitration reading its PostgreSQL observer;
 *   - static: two_node with the usual static delay (pcmk_delay_base "node1:5s;node2:0s": node1 is
 *     the one kept) and first-come fencing on the box (arbitration off, no observer).
 * Each recipe runs RW_PARTITIONS splits (default 4), the primary on node1 and node2 in turn. Per
 * split: the time from the cut to the loser verified off, the longest time without an
 * acknowledged commit through the VIP, whether the primary's node was the one fenced, commits
 * acknowledged and lost, samples where both nodes took a write. Medians. Writes
 * bench/results/rack-partitions.json; runs only with RW_BENCH_RACK=1 (npm run bench:rack).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import type { NodeName } from '../test/fixtures/rack-lab/index.js';
import {
  fencedSince,
  firstFenceSince,
  lostAcks,
  type PgLab,
  type PgLabOptions,
  startPgLab,
  switchoverTo,
} from '../test/fixtures/rack-lab/pgsql.js';
import { doubleWritable, longestGap } from '../test/fixtures/rack-load.js';
import { median } from './lib.js';

type RecipeKey = 'qdevice' | 'arbitration' | 'static';
interface Recipe {
  key: RecipeKey;
  label: string;
  lab: PgLabOptions;
  /** pcmk_delay_base of the box's stonith resource, if any. */
  delayBase?: string;
}
const RECIPES: Record<RecipeKey, Recipe> = {
  qdevice: { key: 'qdevice', label: 'qdevice + heuristics (+ arbitration)', lab: { quorum: 'qdevice' } },
  arbitration: { key: 'arbitration', label: 'two_node + fence arbitration', lab: {} },
  static: {
    key: 'static',
    label: 'two_node + static delay (node1 kept), first come',
    lab: { observe: false, fencing: { arbitration: { enabled: false } } },
    delayBase: 'node1:5s;node2:0s',
  },
};
const PARTITIONS = process.env.RW_PARTITIONS ? Number(process.env.RW_PARTITIONS) : 4;
const KEYS = (process.env.RW_PARTITION_RECIPES ?? 'qdevice,arbitration,static').split(',') as RecipeKey[];

const other = (n: NodeName): NodeName => (n === 'node1' ? 'node2' : 'node1');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (...a: unknown[]) => console.log(`[partition-bench ${new Date().toISOString().slice(11, 23)}]`, ...a);

interface Split {
  primary: NodeName;
  fenced: NodeName;
  /** Cut → the loser verified off (ms). */
  toFenced: number;
  /** Longest time without an acknowledged commit through the VIP, from the cut until writes flow on the survivor. */
  gap: number;
  acked: number;
  lost: number;
  double: number;
}

async function oneSplit(lab: PgLab, i: number): Promise<Split> {
  await switchoverTo(lab, i % 2 === 0 ? 'node1' : 'node2');
  const v = await lab.waitHealthy(150_000, `healthy before split ${i + 1}`);
  const table = `ledger_split_${i}`;
  const writer = lab.writer(table);
  const probe = lab.probe();
  await writer.waitAckAfter(Date.now(), 20_000);
  await sleep(1000);
  const from = lab.journal().length;
  const t0 = Date.now();
  await lab.partition();
  let fencedAt = 0;
  let fenced: NodeName = 'node1';
  try {
    const f = await lab.waitFor(() => firstFenceSince(lab, from), {
      timeoutMs: 90_000,
      what: `a fence across split ${i + 1}`,
    });
    fenced = f.target as NodeName;
    fencedAt = Date.parse(f.finished ?? '');
  } finally {
    await lab.heal();
  }
  const survivor = other(fenced);
  // writes flow on the survivor: the first ack after the fence on a connection to it
  const ack =
    fenced === v.primary ? await writer.waitAckAfterReconnect(t0, 90_000) : await writer.waitAckAfter(fencedAt, 30_000);
  const back = await lab.waitHealthy(180_000, `healthy after split ${i + 1}`);
  const ledger = await writer.stop();
  const samples = await probe.stop();
  const lost = await lostAcks(lab, back.primary, table, ledger);
  const s: Split = {
    primary: v.primary,
    fenced,
    toFenced: fencedAt - t0,
    gap: longestGap(ledger.acks, t0, ack.t),
    acked: ledger.acks.length,
    lost: lost.length,
    double: doubleWritable(samples).length,
  };
  if (fencedSince(lab, from, survivor).length) throw new Error(`split ${i + 1}: both nodes fenced`);
  log(`split ${i + 1}:`, JSON.stringify(s));
  return s;
}

async function runRecipe(r: Recipe): Promise<Split[]> {
  log(`recipe ${r.key}: bring-up`);
  const lab = await startPgLab(r.lab);
  try {
    if (r.delayBase) {
      const d = await lab.exec('node1', 'crm_resource', [
        '-r',
        'witness',
        '--set-parameter',
        'pcmk_delay_base',
        '--parameter-value',
        r.delayBase,
      ]);
      if (d.code !== 0) throw new Error(`pcmk_delay_base: ${d.stderr}`);
    }
    const out: Split[] = [];
    for (let i = 0; i < PARTITIONS; i++) out.push(await oneSplit(lab, i));
    return out;
  } finally {
    await lab.stop();
  }
}

const sec = (ms: number | null) => (ms === null ? null : Math.round(ms / 100) / 10);

function rows(results: Partial<Record<RecipeKey, Split[]>>) {
  const out: Array<Record<string, unknown>> = [];
  for (const k of KEYS) {
    const s = results[k];
    if (!s?.length) continue;
    const label = RECIPES[k].label;
    const primaryFenced = s.filter((x) => x.fenced === x.primary).length;
    out.push(
      {
        name: `${label}: cut → loser verified off (s, median)`,
        ours: sec(median(s.map((x) => x.toFenced))),
        runs: s.length,
      },
      {
        name: `${label}: longest write gap through the VIP (s, median / max)`,
        ours: `${sec(median(s.map((x) => x.gap)))} / ${sec(Math.max(...s.map((x) => x.gap)))}`,
        runs: s.length,
      },
      {
        name: `${label}: primary's node fenced`,
        ours: `${primaryFenced}/${s.length}`,
        target: k === 'static' ? '' : '0',
        ...(k === 'static' ? {} : { met: primaryFenced === 0 }),
        runs: s.length,
      },
      {
        name: `${label}: acknowledged commits lost / acknowledged; samples with two writable nodes`,
        ours: `${s.reduce((a, x) => a + x.lost, 0)}/${s.reduce((a, x) => a + x.acked, 0)}; ${s.reduce((a, x) => a + x.double, 0)}`,
        runs: s.length,
      },
    );
  }
  return out;
}

it('rack partitions: qdevice + heuristics vs fence arbitration vs two_node with a static delay', async () => {
  const t0 = Date.now();
  const results: Partial<Record<RecipeKey, Split[]>> = {};
  for (const k of KEYS) results[k] = await runRecipe(RECIPES[k]);
  const out = {
    title: 'Rack partitions, live',
    generated: new Date().toISOString(),
    duration_s: Math.round((Date.now() - t0) / 1000),
    rows: rows(results),
    samples: results,
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/rack-partitions.json', `${JSON.stringify(out, null, 2)}\n`);
  console.table(out.rows.map((r) => ({ name: String(r.name).slice(0, 80), ours: r.ours })));
  expect(Object.keys(results).length).toBe(KEYS.length);
}, 3_600_000);
