/**
 * The fencer with a reboot answered at the verified off and its power-on follow-up, and the
 * fence-race guard decided from what the box knows of the requester's power (sim devices, a
 * clock that can jump, the real journal; a kill -9 of a child mid follow-up).
 */
import { symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fencingConfigSchema } from '../../../src/fencing/config.js';
import { createSimDriver, type SimDriver, simDeviceSchema } from '../../../src/fencing/devices/sim/index.js';
import { FenceJournal } from '../../../src/fencing/journal.js';
import { Fencer, type FollowUpResult } from '../../../src/fencing/operations/fencer.js';
import type { Clock } from '../../../src/fencing/operations/runner.js';
import { compileEntries } from '../../fixtures/compile-entry.js';
import { cleanupDir, spawnProc, tempDir, until, waitFor } from '../../fixtures/proc.js';

const cfgOf = (over: Record<string, unknown> = {}) =>
  fencingConfigSchema.parse({
    corosync_token_ms: 3000, // requester_boot_s defaults to token + consensus = 6.6 s
    boot_delay_s: 0.3,
    power_timeout_s: 2,
    poll_interval_ms: 50,
    command_timeout_s: 0.5,
    allow_simulated: true,
    devices: [{ driver: 'sim', name: 'bmc', plugs: ['a', 'b'], latency_ms: 2, switch_delay_ms: 30 }],
    targets: {
      node1: { levels: [{ plugs: [{ device: 'bmc', plug: 'a' }] }], addresses: ['10.0.0.1'] },
      node2: { levels: [{ plugs: [{ device: 'bmc', plug: 'b' }] }], addresses: ['10.0.0.2'] },
    },
    api: { enabled: false },
    ...over,
  });

function setup(over: Record<string, unknown> = {}, simOver: Record<string, unknown> = {}) {
  const cfg = cfgOf(over);
  const sim: SimDriver = createSimDriver(simDeviceSchema.parse({ ...cfg.devices[0], ...simOver }));
  const dir = cleanupDir(tempDir());
  const journal = FenceJournal.open(dir);
  let offset = 0;
  const clock: Clock = {
    now: () => Date.now() + offset,
    mono: () => performance.now(),
    sleep: (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms))),
  };
  const followUps: FollowUpResult[] = [];
  const fencer = new Fencer(
    cfg,
    new Map([['bmc', sim]]),
    journal,
    { onFollowUpFinished: (_r, fu) => followUps.push(fu) },
    clock,
  );
  return { cfg, sim, dir, journal, fencer, followUps, jump: (ms: number) => (offset += ms) };
}

const from = (node: 'node1' | 'node2') =>
  ({ via: 'api', who: 'cluster', addr: node === 'node1' ? '10.0.0.1' : '10.0.0.2', node }) as const;

describe('reboot answered at the verified off, power-on as a follow-up', () => {
  it('answers while the rail is off, then powers on; the journal shows both records, linked', async () => {
    const { sim, fencer, journal, followUps } = setup();
    const res = await fencer.run({ target: 'node2', action: 'reboot', requester: from('node1') });
    expect(res).toMatchObject({ result: 'success', power: 'off', level: 1, verified_by: 'read off: bmc/b (sim)' });
    expect(sim.peek('b')).toBe('off');
    expect(sim.requests()).not.toContain('on b');
    expect(fencer.powerOnPending('node2')).toMatchObject({ phase: 'boot-wait', follows: res.id });
    expect(res.power_on_pending_until).toBe(fencer.powerOnPending('node2')?.power_on_pending_until);
    await until(() => followUps.length === 1, 5000, 10);
    expect(followUps[0]).toMatchObject({ result: 'success', power: 'on', follows: res.id, id: res.power_on_id });
    expect(sim.peek('b')).toBe('on');
    expect(fencer.powerOnPending('node2')).toBeUndefined();
    const h = journal.history();
    expect(h.map((x) => [x.action, x.result])).toEqual([
      ['power-on', 'success'],
      ['reboot', 'success'],
    ]);
    expect(h[0]).toMatchObject({ follows: res.id, verified_by: 'read on again: bmc/b (sim)' });
    expect(h[1]).toMatchObject({ power: 'off', power_on_id: res.power_on_id });
  });

  it('a failed power-on is loud but never changes the answer', async () => {
    const { sim, fencer, journal, followUps } = setup({}, { fault: 'on-fails' });
    const res = await fencer.run({ target: 'node2', action: 'reboot', requester: { via: 'test' } });
    expect(res).toMatchObject({ result: 'success', power: 'off' });
    await until(() => followUps.length === 1, 5000, 10);
    expect(followUps[0]).toMatchObject({ result: 'failed', note: 'power-on refused after a verified off' });
    expect(journal.history().find((x) => x.id === res.id)).toMatchObject({ result: 'success', power: 'off' });
    expect(sim.peek('b')).toBe('off');
  });

  it('while the power-on is pending: status reads now, off cancels it, reboot restarts it, on waits for it', async () => {
    const { sim, fencer, journal, followUps } = setup({ boot_delay_s: 1 });
    const r1 = await fencer.run({ target: 'node2', action: 'reboot', requester: { via: 'test' } });
    // status: read at once (no waiting out the boot delay), no device write
    const t = performance.now();
    const st = await fencer.run({ target: 'node2', action: 'status', requester: { via: 'test' } });
    expect(st).toMatchObject({ result: 'success', power: 'off' });
    expect(performance.now() - t).toBeLessThan(800);
    expect(fencer.powerOnPending('node2')).toBeDefined();
    // off: cancels the pending power-on, answered from a fresh verified read
    const off = await fencer.run({ target: 'node2', action: 'off', requester: { via: 'test' } });
    expect(off).toMatchObject({ result: 'success', power: 'off', note: 'already off' });
    expect(followUps.at(-1)).toMatchObject({ follows: r1.id, result: 'cancelled' });
    expect(followUps.at(-1)?.reason).toMatch(/cancelled by an off request/);
    // kept: "nothing happens" past the end the boot delay (1 s) would have had: no late power-on
    await new Promise((r) => setTimeout(r, 1200));
    expect(sim.peek('b')).toBe('off');
    expect(sim.requests()).not.toContain('on b');
    // reboot: a fresh reboot (already off → answered at once), a new follow-up; a second reboot restarts it
    const r2 = await fencer.run({ target: 'node2', action: 'reboot', requester: { via: 'test' } });
    expect(r2).toMatchObject({ result: 'success', note: 'already off' });
    const r3 = await fencer.run({ target: 'node2', action: 'reboot', requester: { via: 'test' } });
    expect(r3.id).not.toBe(r2.id);
    expect(followUps.at(-1)).toMatchObject({ follows: r2.id, result: 'cancelled' });
    // on: waits for the follow-up (the boot delay holds), then reads on
    const on = await fencer.run({ target: 'node2', action: 'on', requester: { via: 'test' } });
    expect(followUps.at(-1)).toMatchObject({ follows: r3.id, result: 'success' });
    expect(on).toMatchObject({ result: 'success', power: 'on', note: 'already on' });
    expect(sim.transitions().map((x) => x.state)).toEqual(['off', 'on']);
    const actions = journal
      .history()
      .reverse()
      .map((x) => `${x.action}:${x.result}`);
    expect(actions).toEqual([
      'reboot:success',
      'power-on:cancelled',
      'status:success',
      'off:success',
      'reboot:success',
      'power-on:cancelled',
      'reboot:success',
      'power-on:success',
      'on:success',
    ]);
  });

  it('reboot_power_on: never answers at the verified off and leaves the node off', async () => {
    const { sim, fencer, journal } = setup({ reboot_power_on: 'never' });
    const res = await fencer.run({ target: 'node2', action: 'reboot', requester: { via: 'test' } });
    expect(res).toMatchObject({ result: 'success', power: 'off', note: 'reboot_power_on: never' });
    expect(fencer.isRunning('node2')).toBe(false);
    expect(sim.requests()).not.toContain('on b');
    expect(journal.history()).toHaveLength(1);
  });

  it('kill -9 during the pending power-on: the reboot stays success, the power-on reads interrupted', async () => {
    const dir = cleanupDir(tempDir());
    const out = compileEntries([
      'src/fencing/operations/fencer.ts',
      'src/fencing/devices/sim/index.ts',
      'src/fencing/config.ts',
    ]);
    // the config schema needs zod: let the compiled tree resolve packages from the repository's node_modules
    symlinkSync(resolve(import.meta.dirname, '../../../node_modules'), join(out, 'node_modules'));
    const script = join(dir, 'child.mjs');
    writeFileSync(
      script,
      `import { fencingConfigSchema } from ${JSON.stringify(join(out, 'fencing/config.js'))};
import { Fencer } from ${JSON.stringify(join(out, 'fencing/operations/fencer.js'))};
import { FenceJournal } from ${JSON.stringify(join(out, 'fencing/journal.js'))};
import { createSimDriver, simDeviceSchema } from ${JSON.stringify(join(out, 'fencing/devices/sim/index.js'))};
const cfg = fencingConfigSchema.parse(${JSON.stringify({ ...cfgOf({ boot_delay_s: 60 }) })});
const sim = createSimDriver(simDeviceSchema.parse(cfg.devices[0]));
const f = new Fencer(cfg, new Map([['bmc', sim]]), FenceJournal.open(process.argv[2]));
const r = await f.run({ target: 'node2', action: 'reboot', requester: { via: 'test' } });
console.log('ANSWERED ' + r.id + ' ' + r.power_on_id);
setInterval(() => {}, 1000);
`,
    );
    const child = spawnProc(process.execPath, [script, dir]);
    const m = await child.waitFor(/ANSWERED (\S+) (\S+)/);
    await child.kill('SIGKILL');
    const j = FenceJournal.open(dir);
    expect(j.interruptedAtOpen.map((h) => h.id)).toEqual([m[2]]);
    const h = j.history();
    expect(h[0]).toMatchObject({ id: m[2], action: 'power-on', result: 'interrupted', follows: m[1] });
    expect(h[0]?.reason).toMatch(/may still be off \(the fence answer stands\)/);
    expect(h[1]).toMatchObject({ id: m[1], action: 'reboot', result: 'success', power: 'off' });
    j.close();
  });
});

describe("a wall-clock step does not move the fencer's deadlines or durations", () => {
  for (const [what, ms] of [
    ['forward', 3_600_000],
    ['back', -3_600_000],
  ] as const) {
    it(`a step ${what} by an hour mid-fence: the power timeout runs in full, the duration is real`, async () => {
      const { fencer, jump } = setup({ power_timeout_s: 0.5 }, { fault: 'stuck-on' });
      const t0 = performance.now();
      const run = fencer.run({ target: 'node2', action: 'off', requester: { via: 'test' } });
      await waitFor('the fence of node2 to be running', () => fencer.isRunning('node2'), 2000);
      jump(ms); // the fencer's wall clock (journal stamps, the guard's evidence) steps
      const res = await run;
      const elapsed = performance.now() - t0;
      expect(res).toMatchObject({ result: 'failed' });
      expect(elapsed).toBeGreaterThanOrEqual(500);
      expect(elapsed).toBeLessThan(500 + 3000);
      expect(res.duration_ms).toBeGreaterThanOrEqual(500);
      expect(res.duration_ms).toBeLessThan(500 + 3000);
    }, 10_000);
  }
});

describe('fence race guard from what the box knows of the requester', () => {
  it('the outage: node2 rebooted by the box, back on, asks 94 s later to fence node1 → served', async () => {
    const { sim, fencer, followUps, jump, journal } = setup();
    const r = await fencer.run({ target: 'node2', action: 'reboot', requester: from('node1') });
    expect(r.result).toBe('success');
    await until(() => followUps.length === 1, 5000, 10);
    expect(sim.peek('b')).toBe('on');
    // right after its power-on node2 cannot have booted and rejoined: refused (requester_boot_s = 6.6 s)
    const early = await fencer.run({ target: 'node1', action: 'reboot', requester: from('node2') });
    expect(early.result).toBe('refused');
    expect(early.reason).toMatch(
      /^refused: the request comes from node2, which the box powered on .* ago; no node boots/,
    );
    expect(sim.peek('a')).toBe('on');
    jump(94_000);
    const res = await fencer.run({ target: 'node1', action: 'reboot', requester: from('node2') });
    expect(res).toMatchObject({ result: 'success', power: 'off', verified_by: 'read off: bmc/a (sim)' });
    expect(journal.history().filter((x) => x.result === 'refused')).toHaveLength(1);
  });

  it('the true race: both ask within a second; the first wins, the second is refused while the first runs', async () => {
    const { sim, fencer, journal } = setup({ boot_delay_s: 1 }, { switch_delay_ms: 300 });
    const first = fencer.run({ target: 'node2', action: 'reboot', requester: from('node1') });
    await waitFor('the first request (fence node2) to be running', () => fencer.isRunning('node2'), 2000);
    const second = await fencer.run({ target: 'node1', action: 'reboot', requester: from('node2') });
    expect(second.result).toBe('refused');
    expect(second.reason).toMatch(/node2, which the box has been fencing for .* \(fence race: the first request won\)/);
    expect((await first).result).toBe('success');
    // after the answer, while node2's power-on is pending, it is still refused
    const third = await fencer.run({ target: 'node1', action: 'off', requester: from('node2') });
    expect(third.reason).toMatch(/has not powered back on yet \(power-on pending\)/);
    expect(sim.transitions().filter((t) => t.plug === 'a')).toEqual([]);
    const refused = journal.history().filter((x) => x.result === 'refused');
    expect(refused).toHaveLength(2);
    for (const x of refused) expect(x.reason?.split('. ').length, x.reason).toBe(1); // one sentence each
  });

  it('a request from a node the box powered off is refused after a fresh read; powered on by hand, it is served', async () => {
    const { sim, fencer } = setup();
    expect((await fencer.run({ target: 'node2', action: 'off', requester: from('node1') })).result).toBe('success');
    const before = sim.requests().length;
    const r = await fencer.run({ target: 'node1', action: 'off', requester: from('node2') });
    expect(r.result).toBe('refused');
    expect(r.reason).toMatch(/node2 reads off right now/);
    expect(sim.requests().slice(before)).toEqual(['status b']); // the fresh read, nothing else
    expect(sim.peek('a')).toBe('on');
    sim.force('b', 'on'); // someone pressed the power button
    const ok = await fencer.run({ target: 'node1', action: 'off', requester: from('node2') });
    expect(ok).toMatchObject({ result: 'success', power: 'off' });
  });
});
