/**
 * The PostgreSQL rack, live: real corosync + Pacemaker on node1/node2 run PostgreSQL 15 under
 * ocf:rackwitness:pgsqlms (promotable clone, notify), a VIP and a pooler stand-in follow the
 * primary, and the box fences through the BMCs whose power is the nodes' power. A writer through
 * the VIP records every acknowledged COMMIT; each scenario asserts what a user relies on:
 * promotion, lossless switchovers, failover only after a verified fence, rejoin with no human
 * step, at most one writable primary at any time.
 *
 * The scenarios share one lab and run in order; each starts from a healthy rack and leaves one.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAN, type NodeName } from '../../fixtures/rack-lab/index.js';
import { fencedSince, lostAcks, type PgLab, startPgLab } from '../../fixtures/rack-lab/pgsql.js';
import { type Ledger, longestGap } from '../../fixtures/rack-load.js';
import { isStreaming, roleOf } from '../../fixtures/rack-pg.js';

const timings: Record<string, number | number[]> = {};
const since = (t0: number) => Math.round((Date.now() - t0) / 100) / 10;
const other = (n: NodeName): NodeName => (n === 'node1' ? 'node2' : 'node1');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Successful operations of a resource on each node, from each node's own Pacemaker log. */
function opCount(lab: PgLab, rsc: string, op: 'start' | 'stop'): number {
  let n = 0;
  for (const node of ['node1', 'node2'] as const) {
    const log = readFileSync(lab.logs.node(node).pacemaker, 'utf8');
    const re = new RegExp(`Result of ${op} operation for ${rsc} on ${node}: ok`, 'g');
    n += log.match(re)?.length ?? 0;
  }
  return n;
}

describe.sequential('PostgreSQL rack, live', () => {
  let lab: PgLab;
  beforeAll(async () => {
    const t0 = Date.now();
    lab = await startPgLab();
    timings.bringUpS = since(t0);
  });
  afterAll(async () => {
    await lab?.stop();
    console.log(`rack pgsql timings (s): ${JSON.stringify(timings)}`);
  });

  it('brings up a primary from two stopped instances: VIP and pooler on it, the standby streaming', async () => {
    const v = await lab.waitHealthy(60_000);
    expect(await roleOf(lab.sh, v.primary)).toBe('primary');
    const standby = other(v.primary);
    expect(v.standbys).toEqual([standby]);
    expect(await isStreaming(lab.sh, standby)).toBe(true);
    // the private coordination values never reach the CIB, so they abort no transition
    const cib = await lab.exec(v.primary, 'cibadmin', ['-Q', '-o', 'status']);
    expect(cib.stdout).not.toMatch(/lsn_location|nodes-pgsqld|cancel_switchover/);
    const aborted = readFileSync(lab.logs.node(v.primary).pacemaker, 'utf8').match(
      /Transition \d+ aborted by status-\d+-(lsn_location|nodes|cancel)/g,
    );
    expect(aborted).toBeNull();
  });

  it('controlled switchover 5 times under load: 0 acknowledged commits lost, the old primary streams again, the pooler moves once each time', async () => {
    const writer = lab.writer('ledger_switchover');
    const gaps: number[] = [];
    const unrelatedStarts = opCount(lab, 'unrelated', 'start');
    try {
      await writer.waitAckAfter(Date.now(), 20_000);
      for (let i = 0; i < 5; i++) {
        const v = await lab.waitHealthy(60_000, `healthy before switchover ${i + 1}`);
        const target = other(v.primary);
        const starts = opCount(lab, 'pooler', 'start');
        const stops = opCount(lab, 'pooler', 'stop');
        await sleep(500);
        const t0 = Date.now();
        const mv = await lab.exec(v.primary, 'crm_resource', [
          '--move',
          '--promoted',
          '-r',
          'pgsqld-clone',
          '-N',
          target,
        ]);
        expect(mv.code, mv.stderr).toBe(0);
        await lab.waitFor(
          async () => {
            const w = await lab.view();
            return w.primary === target && w.vipOn === target ? w : null;
          },
          { timeoutMs: 60_000, what: `switchover ${i + 1} to ${target}` },
        );
        // the write gap: from the command to the first commit acknowledged on a new connection (the
        // new primary), the longest time without any acknowledged commit
        const ack = await writer.waitAckAfterReconnect(t0, 30_000);
        gaps.push(longestGap(writer.ledger.acks, t0, ack.t));
        expect(ack.t - t0, 'command to the first write on the new primary').toBeLessThan(30_000);
        const clr = await lab.exec(target, 'crm_resource', ['--clear', '-r', 'pgsqld-clone']);
        expect(clr.code, clr.stderr).toBe(0);
        // the old primary streams from the new one by itself
        const healthy = await lab.waitHealthy(60_000, `old primary ${v.primary} streaming after switchover ${i + 1}`);
        expect(healthy.primary).toBe(target);
        // dependents moved once: one stop on the old node, one start on the new one
        expect(opCount(lab, 'pooler', 'stop') - stops).toBe(1);
        expect(opCount(lab, 'pooler', 'start') - starts).toBe(1);
      }
    } finally {
      // a failed iteration must not leave its move constraint to the scenarios after it
      await lab.exec('node1', 'crm_resource', ['--clear', '-r', 'pgsqld-clone']).catch(() => undefined);
      const ledger = await writer.stop();
      const v = await lab.view();
      if (v.primary) {
        const lost = await lostAcks(lab, v.primary, 'ledger_switchover', ledger);
        timings.switchoverAcked = ledger.acks.length;
        expect(lost, `acknowledged commits lost in switchovers: ${lost.slice(0, 20).join(',')}`).toEqual([]);
      }
    }
    timings.switchoverGapMs = gaps;
    expect(gaps.length).toBe(5);
    // resources that do not depend on the primary were never restarted
    expect(opCount(lab, 'unrelated', 'start')).toBe(unrelatedStarts);
  });

  /** Power loss of the primary's node under load: fence through the box, promote, VIP, rejoin. */
  async function primaryPowerLoss(label: string): Promise<{ crashed: NodeName; crashedAt: number; ledger: Ledger }> {
    const v = await lab.waitHealthy(90_000, `healthy before ${label}`);
    const crashed = v.primary;
    const survivor = other(crashed);
    const from = lab.journal().length;
    const table = `ledger_${label.replace(/\W+/g, '_')}`;
    const writer = lab.writer(table);
    await writer.waitAckAfter(Date.now(), 20_000);
    await lab.powerOff(crashed);
    const t0 = Date.now();
    expect(lab.pids(crashed)).toEqual([]);
    // the survivor fences the crashed node through the box before anything is promoted
    const fence = await lab.waitFor(() => fencedSince(lab, from, crashed)[0], {
      timeoutMs: 60_000,
      what: `${survivor} fencing the crashed ${crashed} through the box (${label})`,
    });
    expect(fence.requester?.addr).toBe(LAN[survivor]);
    expect(fence.verified_by).toMatch(new RegExp(`^read off: bmc-${crashed}/chassis`));
    const ack = await writer.waitAckAfterReconnect(t0, 60_000);
    timings[`${label}FailoverS`] = Math.round((ack.t - t0) / 100) / 10;
    // never a write on the survivor before the box verified the crashed node off (NaN fails too)
    expect(Date.parse(fence.finished ?? ''), 'the fence finished before writes resumed').toBeLessThanOrEqual(ack.t);
    const w = await lab.view(survivor);
    expect(w.primary).toBe(survivor);
    expect(w.vipOn).toBe(survivor);
    // the box powers the crashed node on after the boot delay; it rejoins as a standby by itself
    const back = await lab.waitHealthy(120_000, `${crashed} rejoining as a standby by itself (${label})`);
    timings[`${label}RejoinS`] = since(t0);
    expect(back.primary).toBe(survivor);
    expect(back.standbys).toEqual([crashed]);
    const ledger = await writer.stop();
    return { crashed, crashedAt: t0, ledger };
  }

  it('primary-node power loss: fenced through the BMC (verified off), standby promoted, VIP moved, the crashed node rejoins by itself', async () => {
    const { ledger, crashedAt } = await primaryPowerLoss('loss1');
    timings.loss1At = crashedAt;
    const v = await lab.view();
    const lost = await lostAcks(lab, v.primary as NodeName, 'ledger_loss1', ledger);
    timings.loss1Lost = lost.length;
    timings.loss1Acked = ledger.acks.length;
  });

  it('a second primary-node power loss the other way round within two minutes: the node fenced first can fence now', async () => {
    const first = timings.loss1At as number;
    const { ledger, crashed, crashedAt } = await primaryPowerLoss('loss2');
    // the case: the second power loss comes within two minutes of the first
    expect(crashedAt - first).toBeLessThan(120_000);
    // the survivor of this loss is the node the box fenced in the first one
    const fences = lab.journal().filter((h) => h.action === 'reboot' && h.result === 'success');
    expect(fences.map((h) => h.target).slice(-2)).toEqual([other(crashed), crashed]);
    expect(lab.journal().filter((h) => h.result === 'refused')).toEqual([]);
    const lost = await lostAcks(lab, other(crashed), 'ledger_loss2', ledger);
    timings.loss2Lost = lost.length;
  });

  it('standby-node power loss: the primary keeps serving, the standby is fenced and rejoins', async () => {
    const v = await lab.waitHealthy(90_000, 'healthy before the standby loss');
    const standby = other(v.primary);
    const from = lab.journal().length;
    const writer = lab.writer('ledger_standby_loss');
    await writer.waitAckAfter(Date.now(), 20_000);
    const t0 = Date.now();
    await lab.powerOff(standby);
    await lab.waitFor(() => fencedSince(lab, from, standby)[0], {
      timeoutMs: 60_000,
      what: `the crashed standby ${standby} fenced through the box`,
    });
    const back = await lab.waitHealthy(120_000, `${standby} rejoining after its power loss`);
    timings.standbyRejoinS = since(t0);
    expect(back.primary).toBe(v.primary);
    const ledger = await writer.stop();
    // the primary never stopped: writes continued (async replication does not wait for a standby)
    timings.standbyLossGapMs = longestGap(ledger.acks, t0, ledger.acks.at(-1)?.t ?? t0);
    expect(timings.standbyLossGapMs).toBeLessThan(5000);
    expect(await lostAcks(lab, v.primary, 'ledger_standby_loss', ledger)).toEqual([]);
  });

  it('box unreachable: the cluster keeps serving; a failure that needs fencing waits and never promotes unfenced', async () => {
    const v = await lab.waitHealthy(90_000, 'healthy before the box is cut off');
    const crashed = v.primary;
    const survivor = other(crashed);
    const from = lab.journal().length;
    let cutAt = Date.now();
    const writer = lab.writer('ledger_box_cut');
    await writer.waitAckAfter(Date.now(), 20_000);
    await lab.isolateBox();
    try {
      const t0 = Date.now();
      await sleep(8000);
      expect(writer.ledger.acks.filter((a) => a.t > t0).length, 'writes continue without the box').toBeGreaterThan(20);
      await lab.powerOff(crashed);
      const cut = Date.now();
      cutAt = cut;
      // the survivor cannot fence: for 15 s nothing is promoted and nothing is written
      const end = Date.now() + 15_000;
      while (Date.now() < end) {
        expect(await roleOf(lab.sh, survivor)).toBe('standby');
        await sleep(500);
      }
      expect(writer.ledger.acks.filter((a) => a.t > cut + 1000)).toEqual([]);
      expect(lab.journal().slice(from)).toEqual([]);
    } finally {
      await lab.reconnectBox();
    }
    // with the box back, the retried fence succeeds and only then the survivor is promoted
    const fence = await lab.waitFor(() => fencedSince(lab, from, crashed)[0], {
      timeoutMs: 90_000,
      what: `the fence of ${crashed} succeeding once the box is reachable again`,
    });
    const ack = await writer.waitAckAfterReconnect(cutAt, 60_000);
    expect(ack.t).toBeGreaterThanOrEqual(Date.parse(fence.finished as string));
    await writer.stop();
    await lab.waitHealthy(150_000, `${crashed} rejoining after the box came back`);
  });

  it('box daemon killed in the middle of a fence: the operation reads interrupted, the retry is served, never a false success', async () => {
    const v = await lab.waitHealthy(90_000, 'healthy before the box restart');
    const standby = other(v.primary);
    const from = lab.journal().length;
    // a BMC that accepts off but does not act keeps the box polling while it is killed
    lab.bmc(standby).setStuck(true);
    try {
      const fencing = lab.exec(v.primary, 'stonith_admin', ['--reboot', standby, '--timeout', '60'], {
        timeoutMs: 90_000,
      });
      await lab.waitFor(
        () =>
          lab
            .journal()
            .slice(from)
            .find((h) => h.target === standby && !h.finished),
        {
          timeoutMs: 20_000,
          what: 'the box starting the fence',
          stepMs: 50,
        },
      );
      await lab.stopBox('SIGKILL');
      lab.bmc(standby).setStuck(false);
      await lab.startBox();
      const r = await fencing;
      expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
      // answered at the verified off: the power-on follows after the boot delay
      expect(lab.power(standby)).toBe('off');
      const ops = lab
        .journal()
        .slice(from)
        .filter((h) => h.target === standby && h.action === 'reboot');
      expect(ops[0]?.result).toBe('interrupted');
      expect(ops.filter((h) => h.result === 'success').map((h) => h.verified_by)).toEqual([
        expect.stringMatching(/^read off: /),
      ]);
    } finally {
      lab.bmc(standby).setStuck(false);
    }
    await lab.waitHealthy(150_000, `${standby} rejoining after the fence across the box restart`);
  });
});
