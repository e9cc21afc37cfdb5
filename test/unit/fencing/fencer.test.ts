import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../../../src/config/load.js';
import { fencingConfigSchema } from '../../../src/fencing/config.js';
import { createSimDriver, simDeviceSchema } from '../../../src/fencing/devices/sim/index.js';
import { FenceJournal } from '../../../src/fencing/journal.js';
import { Fencer, UnknownTargetError } from '../../../src/fencing/operations/fencer.js';
import { cleanupDir, tempDir } from '../../fixtures/proc.js';

function setup(switchDelay = 80) {
  const cfg = fencingConfigSchema.parse({
    boot_delay_s: 0.05,
    corosync_token_ms: 10,
    corosync_consensus_ms: 10,
    power_timeout_s: 2,
    poll_interval_ms: 50,
    allow_simulated: true,
    devices: [{ driver: 'sim', name: 'bmc', plugs: ['a'], latency_ms: 5, switch_delay_ms: switchDelay }],
    targets: { 'node-a': { levels: [{ plugs: [{ device: 'bmc', plug: 'a' }] }] } },
    api: { enabled: false },
  });
  const sim = createSimDriver(simDeviceSchema.parse(cfg.devices[0]));
  const journal = FenceJournal.open(cleanupDir(tempDir()));
  return { sim, journal, fencer: new Fencer(cfg, new Map([['bmc', sim]]), journal) };
}

describe('fencer: one operation per target', () => {
  it('a second request for the same action joins the running operation (same result, one set of device requests)', async () => {
    const { sim, journal, fencer } = setup();
    const [a, b] = await Promise.all([
      fencer.run({ target: 'node-a', action: 'off', requester: { via: 'test' } }),
      fencer.run({ target: 'node-a', action: 'off', requester: { via: 'test' } }),
    ]);
    expect(a.id).toBe(b.id);
    expect(a.result).toBe('success');
    expect(b.joined).toBe(true);
    expect(sim.requests().filter((r) => r.startsWith('off'))).toHaveLength(1);
    expect(journal.history()).toHaveLength(1);
  });

  it('a different action waits for the running one: never interleaved', async () => {
    const { sim, fencer } = setup();
    const off = fencer.run({ target: 'node-a', action: 'off', requester: { via: 'test' } });
    const on = fencer.run({ target: 'node-a', action: 'on', requester: { via: 'test' } });
    const [r1, r2] = await Promise.all([off, on]);
    expect([r1.result, r1.power, r2.result, r2.power]).toEqual(['success', 'off', 'success', 'on']);
    const reqs = sim.requests();
    expect(reqs.indexOf('on a')).toBeGreaterThan(reqs.indexOf('off a'));
    // the on was sent only after the off had been read back off
    expect(sim.transitions().map((t) => t.state)).toEqual(['off', 'on']);
  });

  it('never acts on a target that is not configured', async () => {
    const { sim, fencer } = setup();
    await expect(fencer.run({ target: 'node-z', action: 'off', requester: { via: 'test' } })).rejects.toBeInstanceOf(
      UnknownTargetError,
    );
    await expect(
      fencer.run({ target: 'constructor', action: 'off', requester: { via: 'test' } }),
    ).rejects.toBeInstanceOf(UnknownTargetError);
    expect(sim.requests()).toEqual([]);
  });
});

describe('fencing config rules', () => {
  const base = `
fencing:
  corosync_token_ms: 3000
  boot_delay_s: 5
  allow_simulated: true
  api: {enabled: false}
  devices:
    - {driver: sim, name: bmc, plugs: [chassis]}
  targets:
    node-a: {levels: [{plugs: [{device: bmc, plug: chassis}]}]}
`;
  it('accepts a sane section', () => {
    expect(
      loadConfigText(base.replace('boot_delay_s: 5', 'boot_delay_s: 10'), '(inline)').config.fencing?.targets['node-a'],
    ).toBeDefined();
  });
  it('refuses a boot delay not above corosync token + consensus, naming the key', () => {
    expect(() => loadConfigText(base, '(inline)')).toThrow(
      /fencing\.boot_delay_s: boot_delay_s \(5\) must exceed corosync token \+ consensus \(6600 ms\)/,
    );
  });
  it('refuses a level naming an unknown device, an unknown family, and an enabled API without keys', () => {
    expect(() =>
      loadConfigText(
        base.replace('boot_delay_s: 5', 'boot_delay_s: 10').replace('device: bmc', 'device: pdu9'),
        '(inline)',
      ),
    ).toThrow(/uses device "pdu9"/);
    expect(() => loadConfigText(base.replace('driver: sim', 'driver: nope'), '(inline)')).toThrow(
      /fencing\.devices\.0\.driver/,
    );
    expect(() =>
      loadConfigText(
        base.replace('boot_delay_s: 5', 'boot_delay_s: 10').replace('api: {enabled: false}', 'api: {}'),
        '(inline)',
      ),
    ).toThrow(/fencing\.api\.keys/);
  });
});
