/**
 * The whole rack, live: real corosync + Pacemaker on node1/node2, a real ipmi_sim BMC per node
 * whose power is the node's power, and the real rackwitness daemon as the fence device. What a
 * user relies on: the cluster comes up with the box as its STONITH device; a fence through the
 * box really kills the node (every process gone while the BMC reads off) and it comes back by
 * itself; a crash is fenced by the survivor on its own; a BMC that never powers off is a failed
 * fence, never a reported one; and the lab leaves nothing behind.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAN, type Lab, REBOOT_TIMEOUT_S, startLab } from '../../fixtures/rack-lab/index.js';
import { pidAlive, procName } from '../../fixtures/rack-lab/sh.js';

const timings: Record<string, number> = {};

/** No netns, lab directory or mount of the run with this prefix is left on the host. */
function expectNothingLeft(prefix: string): void {
  const netns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  expect(netns.split('\n').filter((l) => l.startsWith(`${prefix}-`))).toEqual([]);
  const dirs = readdirSync(tmpdir()).filter((d) => d.startsWith(`${prefix}-`));
  expect(dirs).toEqual([]);
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  expect(mounts.filter((l) => l.split(' ')[4]?.startsWith(`${tmpdir()}/${prefix}-`))).toEqual([]);
}
const since = (t0: number) => Math.round((Date.now() - t0) / 100) / 10;

describe('rack lab: two Pacemaker nodes fenced by the box through their BMCs', () => {
  let lab: Lab;

  beforeAll(async () => {
    const t0 = Date.now();
    lab = await startLab();
    timings.bringUpS = since(t0);
  });

  afterAll(async () => {
    await lab?.stop();
    console.log(`rack lab timings (s): ${JSON.stringify(timings)}`);
  });

  it('comes up: both nodes online, a DC elected, the fence_rackwitness device started', async () => {
    const m = await lab.crmMon('node1');
    expect(m.online).toEqual(['node1', 'node2']);
    expect(m.members).toEqual(['node1', 'node2']);
    expect(m.dc).toMatch(/^node[12]$/);
    expect(m.quorate).toBe(true);
    const witness = m.resources.find((r) => r.id === 'witness');
    expect(witness).toMatchObject({ agent: 'stonith:fence_rackwitness', role: 'Started', failed: false });
    expect(timings.bringUpS).toBeLessThan(60);
    // each node is its own host: own hostname, own /run
    expect((await lab.exec('node2', 'hostname', [])).stdout.trim()).toBe('node2');
    expect((await lab.exec('node1', 'ls', ['/run/crm'])).code).toBe(0);
  });

  it('stonith_admin --reboot node2 from node1: every process of node2 dies while the BMC reads off, node2 rejoins by itself', async () => {
    const before = lab.journal().length;
    const victims = lab.pids('node2');
    expect(victims.length).toBeGreaterThan(5); // corosync, pacemakerd and its daemons
    const t0 = Date.now();
    const fence = lab.exec('node1', 'stonith_admin', ['--reboot', 'node2', '--timeout', String(REBOOT_TIMEOUT_S)], {
      timeoutMs: (REBOOT_TIMEOUT_S + 20) * 1000,
    });
    // during the box's boot delay: the rail reads off and no process of node2 is left
    await lab.waitFor(() => lab.power('node2') === 'off' && lab.pids('node2').length === 0, {
      timeoutMs: 30_000,
      what: 'node2 powered off with no process left',
      stepMs: 50,
    });
    timings.rebootPowerOffS = since(t0);
    expect(victims.filter(pidAlive)).toEqual([]);
    const r = await fence;
    timings.rebootFenceS = since(t0);
    expect(r.code, `${r.stdout}${r.stderr}\n${await lab.diagnose()}`).toBe(0);
    // Pacemaker learnt "fenced" at the verified off: the power-on (after the boot delay) is still to come
    expect(lab.power('node2')).toBe('off');

    const op = lab
      .journal()
      .slice(before)
      .find((h) => h.target === 'node2' && h.action === 'reboot');
    expect(op).toMatchObject({ result: 'success', power: 'off', requester: { via: 'api', addr: LAN.node1 } });
    expect(op?.verified_by).toMatch(/^read off: bmc-node2\/chassis \(ipmi\)/);
    // the power-on follow-up is journaled as its own operation that follows the reboot
    const on = await lab.waitFor(
      () => lab.journal().find((h) => h.action === 'power-on' && h.follows === op?.id && h.result === 'success'),
      { timeoutMs: 30_000, what: "the box powering node2 back on after the reboot's boot delay" },
    );
    expect(on.power).toBe('on');
    expect(lab.bmc('node2').chassisLog().slice(-2)).toEqual(['set power 0', 'set power 1']);

    await lab.waitOnline(['node1', 'node2'], 90_000);
    timings.rebootBackOnlineS = since(t0);
    // it came back for good: it did not receive its own fencing notice and stop
    expect(readFileSync(lab.logs.node('node2').pacemaker, 'utf8')).not.toMatch(/allegedly just fenced/);
    const fresh = lab.pids('node2');
    expect(fresh.length).toBeGreaterThan(5);
    expect(fresh.some((p) => victims.includes(p))).toBe(false);
  });

  it('a crash of node2 (power lost, no IPMI) is fenced by node1 through the box on its own; node2 comes back', async () => {
    const before = lab.journal().length;
    const t0 = Date.now();
    await lab.powerOff('node2');
    expect(lab.power('node2')).toBe('off');
    expect(lab.pids('node2')).toEqual([]);
    const op = await lab.waitFor(
      () =>
        lab
          .journal()
          .slice(before)
          .find((h) => h.target === 'node2' && h.requester?.addr === LAN.node1 && h.result === 'success'),
      { timeoutMs: 60_000, what: "node1's Pacemaker fencing the crashed node2 through the box" },
    );
    timings.crashFencedS = since(t0);
    expect(op.action).toBe('reboot');
    // the BMC already read off: the box verified it without sending off; the power-on follows
    expect(op.verified_by).toMatch(/^read off: bmc-node2\/chassis/);
    await lab.waitOnline(['node1', 'node2'], 90_000);
    timings.crashBackOnlineS = since(t0);
  });

  it('a BMC that never powers off: the fence fails (stonith_admin non-zero, journal failed) and node2 is never reported fenced', async () => {
    const before = lab.journal().length;
    // the node's long-lived daemons (agents and tools come and go)
    const daemons = lab.pids('node2').filter((p) => /^(corosync|pacemaker)/.test(procName(p)));
    expect(daemons.length).toBeGreaterThan(5);
    lab.bmc('node2').setStuck(true);
    try {
      const t0 = Date.now();
      const r = await lab.exec('node1', 'stonith_admin', ['--fence', 'node2', '--timeout', '30'], {
        timeoutMs: 60_000,
      });
      timings.stuckFenceFailedS = since(t0);
      expect(r.code, `${r.stdout}${r.stderr}`).not.toBe(0);
      const ops = lab
        .journal()
        .slice(before)
        .filter((h) => h.target === 'node2');
      expect(ops.length).toBeGreaterThan(0);
      expect(ops.every((h) => h.action === 'off' && h.result === 'failed')).toBe(true);
      expect(lab.bmc('node2').chassisLog()).toContain('set power 0 ignored (stuck)');
      // node2 really still runs, and nobody claims it was fenced
      expect(lab.power('node2')).toBe('on');
      expect(daemons.filter((p) => !pidAlive(p))).toEqual([]);
      const hist = await lab.exec('node1', 'stonith_admin', ['--history', 'node2', '--verbose']);
      expect(hist.stdout).not.toMatch(/was able to turn off node node2/);
      expect((await lab.crmMon('node1')).online).toEqual(['node1', 'node2']);
    } finally {
      lab.bmc('node2').setStuck(false);
    }
  });

  it('fault controls: partition cuts only node1–node2, isolateBox cuts only the box’s LAN, the box restarts', async () => {
    // kept well under token + consensus, so the membership does not change
    await lab.partition();
    try {
      expect(await lab.reachable('node1', LAN.node2)).toBe(false);
      expect(await lab.reachable('node1', LAN.box)).toBe(true);
      expect(await lab.reachable('node2', LAN.box)).toBe(true);
    } finally {
      await lab.heal();
    }
    expect(await lab.reachable('node1', LAN.node2)).toBe(true);
    await lab.isolateBox();
    try {
      expect(await lab.reachable('node1', LAN.box)).toBe(false);
      expect(await lab.reachable('node1', LAN.node2)).toBe(true);
      expect((await lab.bmc('node1').ipmitool(['chassis', 'power', 'status'])).stdout).toMatch(/Chassis Power is on/);
    } finally {
      await lab.reconnectBox();
    }
    const pid = lab.boxPid();
    await lab.restartBox();
    expect(lab.boxPid()).not.toBe(pid);
    const st = await lab.exec('node1', 'fence_rackwitness', [], {
      input: `action=status\nip=${LAN.box}\nkey_file=${lab.keyFile}\nplug=node2\n`,
    });
    expect([st.code, st.stdout]).toEqual([0, 'Status: ON\n']);
  });

  it('teardown leaves no namespace, mount or process', async () => {
    const pids = [...lab.pids('node1'), ...lab.pids('node2'), ...lab.pids('box')];
    expect(pids.length).toBeGreaterThan(10);
    const t0 = Date.now();
    await lab.stop();
    timings.teardownS = since(t0);
    expectNothingLeft(lab.names.prefix);
    expect(pids.filter(pidAlive)).toEqual([]);
    expect(existsSync(lab.dir)).toBe(false);
  });
});

describe('rack lab: bad input fails with the cause, never hangs', () => {
  it('a node whose corosync never starts: start() names the node and shows its log, and leaves nothing', async () => {
    const t0 = Date.now();
    const err = await startLab({ corosyncConf: { node2: 'totem {\n  this is not corosync\n' }, bootTimeoutMs: 12_000 })
      .then(() => null)
      .catch((e: unknown) => (e instanceof Error ? e.message : String(e)));
    timings.badNodeS = since(t0);
    expect(err).toMatch(/node2 never joined the cluster within 12000 ms: corosync not answering/);
    expect(err).toMatch(/--- node2 corosync output\n.*(parse|error)/is);
    expectNothingLeft(err?.match(/^rack lab (rwl\d+) /)?.[1] ?? 'missing-prefix');
  });

  it('a box config the daemon refuses: start() fails with the daemon’s reason', async () => {
    const err = await startLab({ fencing: { boot_delay_s: 1 } })
      .then(() => null)
      .catch((e: unknown) => (e instanceof Error ? e.message : String(e)));
    expect(err).toMatch(/box daemon was not ready/);
    expect(err).toMatch(/boot_delay_s \(1\) must exceed corosync token \+ consensus/);
    expectNothingLeft(err?.match(/^rack lab (rwl\d+) /)?.[1] ?? 'missing-prefix');
  });
});
