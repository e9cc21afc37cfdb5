/**
 * fence_rackwitness → fencing API → native IPMI driver → the real OpenIPMI ipmi_sim. The effect
 * is read back from the simulated power rail and with the real ipmitool, never from our code.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type IpmiSim, startIpmiSim } from '../../fixtures/ipmi-sim.js';
import { until } from '../../fixtures/proc.js';
import { type Harness, startFencing } from './fencing-harness.js';

describe('fence_rackwitness with a real ipmi_sim BMC', () => {
  let sim: IpmiSim;
  let h: Harness;

  beforeAll(async () => {
    sim = await startIpmiSim({ power: 'on' });
    h = await startFencing(`  corosync_token_ms: 100
  corosync_consensus_ms: 120
  boot_delay_s: 1
  power_timeout_s: 3
  poll_interval_ms: 100
  command_timeout_s: 2
  devices:
    - {driver: ipmi, name: bmc-a, host: ${sim.host}, port: ${sim.port}, username: ${sim.users.operator.name}, password_file: ${sim.users.operator.passwordFile}, cipher: 3}
  targets:
    node-a:
      levels:
        - {plugs: [{device: bmc-a, plug: chassis}]}`);
  });

  it('off, status, reboot (off verified → boot delay → on, never "cycle"), as pacemaker-fenced sends them', async () => {
    let r = await h.agent(`action=off\n${h.base()}port=node-a\nnodename=node-a\n`, {
      PCMK_service: 'pacemaker-fenced',
    });
    expect([r.code, r.stdout]).toEqual([0, 'Success: Powered OFF\n']);
    expect(sim.powerState()).toBe('off');
    expect((await sim.ipmitool(['chassis', 'power', 'status'])).stdout).toContain('Chassis Power is off');
    r = await h.agent(`action=status\n${h.base()}port=node-a\n`);
    expect([r.code, r.stdout]).toEqual([2, 'Status: OFF\n']);
    sim.setPower('on');
    const before = sim.chassisLog().length;
    r = await h.agent(`action=reboot\n${h.base()}port=node-a\n`);
    expect([r.code, r.stdout]).toEqual([0, 'Success: Rebooted\n']);
    // answered at the verified off: the rail still reads off, the power-on follows in the box
    expect(sim.powerState()).toBe('off');
    const reboot = h.journal().findLast((x) => x.action === 'reboot');
    expect(reboot).toMatchObject({ result: 'success', power: 'off', verified_by: 'read off: bmc-a/chassis (ipmi)' });
    await until(() => sim.powerState() === 'on', 15_000, 50);
    expect(sim.chassisLog().slice(before)).toEqual(['set power 0', 'set power 1']);
    await until(() => h.journal().some((x) => x.follows === reboot?.id && x.finished !== undefined), 15_000, 50);
    expect(h.journal().find((x) => x.follows === reboot?.id)).toMatchObject({
      action: 'power-on',
      result: 'success',
      verified_by: 'read on again: bmc-a/chassis (ipmi)',
    });
  });

  it('a BMC that accepts power-off but never reaches off: failure, never success', async () => {
    sim.setPower('on');
    sim.setStuck(true);
    try {
      const r = await h.agent(`action=off\n${h.base()}port=node-a\n`);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/not every plug reached off within the power timeout|every level failed/);
      expect(sim.powerState()).toBe('on');
      expect(h.journal().at(-1)).toMatchObject({ action: 'off', result: 'failed' });
    } finally {
      sim.setStuck(false);
    }
  });
});
