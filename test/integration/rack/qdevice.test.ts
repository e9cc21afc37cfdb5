/**
 * Partitions of the PostgreSQL rack with the box as corosync's quorum device, live (issue #11):
 * Debian's corosync-qnetd in the box namespace, corosync-qdevice on both nodes with the quorum
 * section and certificates `rackwitness qdevice init`/`sign` made, ffsplit with the
 * PostgreSQL-aware heuristics, and the box's fence arbitration behind it. In a split the
 * heuristics give the box's vote to the primary's half; the other half loses quorum, stops its
 * resources and cannot fence; the quorate half fences it through the box.
 *
 * The scenarios share one lab and run in order; each starts from a healthy rack and leaves one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSENSUS_MS, LAN, type NodeName, POWER_TIMEOUT_S, TOKEN_MS } from '../../fixtures/rack-lab/index.js';
import { fencedSince, lostAcks, type PgLab, startPgLab, switchoverTo } from '../../fixtures/rack-lab/pgsql.js';
import { doubleWritable, type Sample } from '../../fixtures/rack-load.js';
import { roleOf } from '../../fixtures/rack-pg.js';

const timings: Record<string, number | number[]> = {};
const since = (t0: number) => Math.round((Date.now() - t0) / 100) / 10;
const other = (n: NodeName): NodeName => (n === 'node1' ? 'node2' : 'node1');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function quorum(lab: PgLab, node: NodeName): Promise<{ quorate: boolean; votes: number }> {
  const r = await lab.exec(node, 'corosync-quorumtool', ['-s'], { timeoutMs: 5000 });
  return {
    quorate: /Quorate:\s+Yes/.test(r.stdout),
    votes: Number(/Total votes:\s+(\d+)/.exec(r.stdout)?.[1] ?? 0),
  };
}

async function qdeviceHealth(lab: PgLab): Promise<{ state: string; reason?: string }> {
  const st = await lab.boxStatus();
  const q = st.services.find((s) => s.name === 'qdevice');
  if (!q) throw new Error('the box runs no qdevice service');
  return q.health;
}

/** Both nodes quorate with the device's vote (3 of 3), the box's qdevice service ok. */
async function waitVotes(lab: PgLab, what: string): Promise<void> {
  await lab.waitFor(
    async () => {
      for (const n of ['node1', 'node2'] as const) if ((await quorum(lab, n)).votes !== 3) return false;
      return (await qdeviceHealth(lab)).state === 'ok';
    },
    { timeoutMs: 90_000, what },
  );
}

describe.sequential('partitions of the PostgreSQL rack with the box as quorum device (qdevice + heuristics)', () => {
  let lab: PgLab;
  beforeAll(async () => {
    const t0 = Date.now();
    lab = await startPgLab({ quorum: 'qdevice' });
    timings.bringUpS = since(t0);
  });
  afterAll(async () => {
    await lab?.stop();
    console.log(`rack qdevice timings (s): ${JSON.stringify(timings)}`);
  });

  it('both nodes vote through the box’s corosync-qnetd with verified certificates; the box reports it ok', async () => {
    await waitVotes(lab, 'both nodes with the quorum device vote, the box’s qdevice service ok');
    const st = await lab.boxStatus();
    const q = st.services.find((s) => s.name === 'qdevice');
    expect(q?.snapshot).toMatchObject({ qnetd: { up: true, connected_clients: 2 } });
  });

  it('a partition with the primary on either node: the heuristics give the vote to the primary’s half, the other half loses quorum and is fenced; at most one writable primary, 0 acknowledged commits lost', async () => {
    const writer = lab.writer('ledger_qd_partitions');
    const probe = lab.probe();
    let samples: Sample[] = [];
    const fencedS: number[] = [];
    const primaries: NodeName[] = [];
    try {
      await writer.waitAckAfter(Date.now(), 20_000);
      for (let i = 0; i < 2; i++) {
        const v = await lab.waitHealthy(150_000, `healthy before qdevice partition ${i + 1}`);
        await waitVotes(lab, `the device vote on both nodes before partition ${i + 1}`);
        const standby = other(v.primary);
        primaries.push(v.primary);
        const from = lab.journal().length;
        const t0 = Date.now();
        await lab.partition();
        try {
          // the standby's half has one vote of three: no quorum, so it neither runs nor fences
          await lab.waitFor(async () => !(await quorum(lab, standby)).quorate, {
            timeoutMs: 60_000,
            what: `${standby} (the standby's half) losing quorum`,
          });
          expect((await quorum(lab, v.primary)).quorate, `${v.primary} keeps quorum`).toBe(true);
          const fence = await lab.waitFor(() => fencedSince(lab, from, standby)[0], {
            timeoutMs: 60_000,
            what: `${v.primary} fencing ${standby} through the box`,
          });
          fencedS.push(since(t0));
          expect(fence.requester?.addr).toBe(LAN[v.primary]);
          expect(await roleOf(lab.sh, v.primary)).toBe('primary');
        } finally {
          await lab.heal();
        }
        expect(fencedSince(lab, from, v.primary)).toEqual([]);
        const back = await lab.waitHealthy(150_000, `${standby} back after qdevice partition ${i + 1}`);
        expect(back.primary).toBe(v.primary);
        // the next split with the primary on the other node
        if (i === 0) await switchoverTo(lab, standby);
      }
      const ledger = await writer.stop();
      const v = await lab.view();
      expect(await lostAcks(lab, v.primary as NodeName, 'ledger_qd_partitions', ledger)).toEqual([]);
    } finally {
      await lab.heal();
      await writer.stop();
      samples = await probe.stop();
      timings.qdPartitionFencedS = fencedS;
    }
    expect(primaries).toEqual(expect.arrayContaining(['node1', 'node2']));
    expect(doubleWritable(samples), 'samples where both nodes accepted a write').toEqual([]);
  }, 600_000);

  it('the primary’s node cut off from its peer and from the box: its peer keeps the box’s vote, fences it through the box and takes over; it stops serving within the documented bound', async () => {
    const v = await lab.waitHealthy(150_000, 'healthy before the cut');
    await waitVotes(lab, 'the device vote on both nodes before the cut');
    const cut = v.primary;
    const survivor = other(cut);
    const from = lab.journal().length;
    const probe = lab.probe();
    let samples: Sample[] = [];
    let t0 = 0;
    try {
      await sleep(1000);
      t0 = Date.now();
      await lab.cutNode(cut);
      const fence = await lab.waitFor(() => fencedSince(lab, from, cut)[0], {
        timeoutMs: 90_000,
        what: `${survivor} fencing the cut-off ${cut} through the box`,
      });
      await lab.uncutNode(cut);
      timings.qdCutFencedS = Math.round((Date.parse(fence.finished ?? '') - t0) / 100) / 10;
      expect(fence.requester?.addr).toBe(LAN[survivor]);
      await lab.waitFor(async () => (await roleOf(lab.sh, survivor)) === 'primary', {
        timeoutMs: 60_000,
        what: `${survivor} promoted after the fence`,
      });
    } finally {
      await lab.uncutNode(cut);
      samples = await probe.stop();
    }
    // the cut node stopped taking writes by itself (no quorum) before the box powered it off
    const cutIdx = cut === 'node1' ? 0 : 1;
    const lastOnCut = samples.filter((s) => s.accepted[cutIdx]).at(-1);
    timings.qdCutStoppedServingS = lastOnCut ? Math.round((lastOnCut.t - t0) / 100) / 10 : 0;
    // documented bound (docs/partitions.md): token + consensus + hold_s + power_timeout_s
    expect((lastOnCut?.t ?? t0) - t0).toBeLessThanOrEqual(
      TOKEN_MS + CONSENSUS_MS + (5 + POWER_TIMEOUT_S) * 1000 + 2000,
    );
    expect(doubleWritable(samples), 'samples where both nodes accepted a write').toEqual([]);
    const back = await lab.waitHealthy(150_000, `${cut} rejoining after the cut`);
    expect(back.primary).toBe(survivor);
  }, 400_000);

  it('qnetd down, then a partition: the box says so first; in the split neither half has quorum, nothing is fenced, nothing is writable; the rack comes back when the link heals', async () => {
    const v = await lab.waitHealthy(150_000, 'healthy before qnetd goes down');
    await waitVotes(lab, 'the device vote on both nodes before qnetd goes down');
    const from = lab.journal().length;
    const writer = lab.writer('ledger_qnetd_down');
    const probe = lab.probe();
    let samples: Sample[] = [];
    try {
      await writer.waitAckAfter(Date.now(), 20_000);
      await lab.stopQnetd('SIGKILL');
      // the box reports the lost vote at once, one sentence
      await lab.waitFor(async () => /^qnetd does not answer/.test((await qdeviceHealth(lab)).reason ?? ''), {
        timeoutMs: 20_000,
        what: 'the box reporting qnetd down',
      });
      // without the split, two votes of three keep both nodes quorate: writes go on
      await lab.waitFor(async () => (await quorum(lab, v.primary)).votes === 2, {
        timeoutMs: 60_000,
        what: 'the device vote gone',
      });
      expect((await quorum(lab, v.primary)).quorate).toBe(true);
      await writer.waitAckAfter(Date.now(), 10_000);
      const t0 = Date.now();
      await lab.partition();
      try {
        await lab.waitFor(async () => !(await quorum(lab, 'node1')).quorate && !(await quorum(lab, 'node2')).quorate, {
          timeoutMs: 60_000,
          what: 'both halves without quorum',
        });
        // no quorum: Pacemaker stops PostgreSQL on both; nobody can be fenced
        await lab.waitFor(
          async () => (await roleOf(lab.sh, 'node1')) === 'down' && (await roleOf(lab.sh, 'node2')) === 'down',
          { timeoutMs: 90_000, what: 'PostgreSQL stopped on both nodes' },
        );
        timings.qnetdDownStoppedS = since(t0);
        await sleep(5000);
        expect(lab.journal().slice(from)).toEqual([]);
      } finally {
        await lab.heal();
      }
      await lab.startQnetd();
      const back = await lab.waitHealthy(180_000, 'the rack back after the split without qnetd');
      timings.qnetdDownRecoveredS = since(t0);
      await waitVotes(lab, 'the device vote back on both nodes');
      const ledger = await writer.stop();
      expect(await lostAcks(lab, back.primary, 'ledger_qnetd_down', ledger)).toEqual([]);
    } finally {
      await lab.heal();
      await writer.stop();
      samples = await probe.stop();
    }
    expect(doubleWritable(samples), 'samples where both nodes accepted a write').toEqual([]);
    expect(lab.journal().slice(from)).toEqual([]);
  }, 500_000);
});
