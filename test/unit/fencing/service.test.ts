import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../../../src/config/load.js';
import { EventLog } from '../../../src/daemon/events.js';
import { ProviderRegistry } from '../../../src/daemon/providers.js';
import type { ControlHandler, ServiceContext } from '../../../src/daemon/service.js';
import { createFencingService } from '../../../src/fencing/service.js';
import { Heartbeats } from '../../../src/watchdog/heartbeat.js';
import { cleanupDir, onCleanup, tempDir, until } from '../../fixtures/proc.js';

function context(fencing: string, demo = false) {
  const dir = cleanupDir(tempDir());
  const { config } = loadConfigText(
    `box: {state_dir: ${dir}}\nstatus: {enabled: false}\nfencing:\n${fencing}`,
    '(inline)',
  );
  const handlers = new Map<string, ControlHandler>();
  const events = new EventLog(dir, 1000);
  const metrics = new Registry();
  const ctx: ServiceContext = {
    config,
    log: pino({ level: 'silent' }),
    events,
    metrics,
    providers: new ProviderRegistry(),
    heartbeats: new Heartbeats(),
    stateDir: join(dir),
    changed: () => undefined,
    health: () => ({}),
    admission: () => undefined,
    handle: (m, h) => handlers.set(m, h),
    demo,
    daemon: { status: () => ({}) as never, entities: () => [], onChange: () => () => undefined },
  };
  return { ctx, handlers, events, metrics };
}

const section = (extra: string) => `  corosync_token_ms: 100
  corosync_consensus_ms: 100
  boot_delay_s: 0.3
  power_timeout_s: 1
  poll_interval_ms: 50
  command_timeout_s: 0.2
  monitor_interval_s: 1
  api: {enabled: false}
${extra}
  devices:
    - {driver: sim, name: bmc-a, plugs: [chassis], latency_ms: 1, switch_delay_ms: 10, fault: unreachable}
  targets:
    node-a: {levels: [{plugs: [{device: bmc-a, plug: chassis}]}]}
`;

describe('fencing service', () => {
  it('refuses a simulated device outside the demo, naming it', async () => {
    const { ctx } = context(section(''));
    await expect(createFencingService(ctx).start()).rejects.toThrow(
      /fencing\.devices\.bmc-a: a simulated \("sim"\) device/,
    );
  });

  it('fails to start naming the API address when the port is taken, and releases what it took', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    onCleanup(() => new Promise<void>((r) => blocker.close(() => r())));
    const port = (blocker.address() as AddressInfo).port;
    const dir = cleanupDir(tempDir());
    writeFileSync(join(dir, 'k'), 'k'.repeat(40), { mode: 0o600 });
    const { ctx } = context(
      section('').replace(
        'api: {enabled: false}',
        `api: {host: 127.0.0.1, port: ${port}, keys: [{id: c, key_file: ${join(dir, 'k')}}]}`,
      ),
      true,
    );
    const svc = createFencingService(ctx);
    await expect(svc.start()).rejects.toThrow(
      new RegExp(`fencing\\.api: cannot listen on 127\\.0\\.0\\.1:${port} \\(EADDRINUSE\\)`),
    );
    expect(svc.health().state).toBe('stopped');
  });

  it('reports a device that does not answer (health, event, metric) and its recovery', async () => {
    const { ctx, handlers, events, metrics } = context(section(''), true);
    const svc = createFencingService(ctx);
    await svc.start();
    onCleanup(() => svc.stop());
    expect(svc.health()).toMatchObject({
      state: 'degraded',
      reason: expect.stringMatching(/no usable fencing level for node-a/),
    });
    expect(events.list().map((e) => e.kind)).toContain('fence.device.down');
    expect(await metrics.getSingleMetricAsString('rackwitness_fence_device_up')).toMatch(/device="bmc-a"} 0/);
    await handlers.get('fence.sim')?.({ device: 'bmc-a', fault: 'none' });
    await until(() => svc.health().state === 'ok', 10_000, 50);
    expect(events.list().map((e) => e.kind)).toContain('fence.device.up');
    const r = await handlers.get('fence.run')?.({ target: 'node-a', action: 'off' });
    expect(r).toMatchObject({ result: 'success', power: 'off' });
    expect(svc.entities?.()).toEqual([
      expect.objectContaining({
        topic: 'fencing/node-a',
        state: expect.objectContaining({
          power: 'off',
          last_operation: expect.objectContaining({ action: 'off', result: 'success' }),
        }),
      }),
    ]);
    expect(events.list().find((e) => e.kind === 'fence.success')?.sentence).toMatch(
      /^Off of node-a succeeded at level 1 in/,
    );
    await svc.stop();
    expect(svc.health().state).toBe('stopped');
  });

  it('shows a pending power-on in status and entities, and a failed one as a problem (health, event) until fixed', async () => {
    const { ctx, handlers, events } = context(section(''), true);
    const svc = createFencingService(ctx);
    await svc.start();
    onCleanup(() => svc.stop());
    await handlers.get('fence.sim')?.({ device: 'bmc-a', fault: 'none' });
    await until(() => svc.health().state === 'ok', 10_000, 50);
    const r = await handlers.get('fence.run')?.({ target: 'node-a', action: 'reboot' });
    expect(r).toMatchObject({ result: 'success', power: 'off', power_on_pending_until: expect.any(String) });
    const ent = svc.entities?.()[0]?.state as Record<string, unknown>;
    expect(ent).toMatchObject({ power: 'off', in_progress: 'reboot', power_on_pending_until: expect.any(String) });
    const st = (await handlers.get('fence.status')?.({})) as { targets: Record<string, Record<string, unknown>> };
    expect(st.targets['node-a']).toMatchObject({
      power_on: { phase: 'boot-wait' },
      known_power: { state: 'off', how: 'verified-off' },
      in_progress: { stage: 'follow-up' },
    });
    await until(() => events.list().some((e) => e.kind === 'fence.power-on.success'), 10_000, 20);
    expect(events.list().find((e) => e.kind === 'fence.power-on.sent')?.sentence).toBe(
      'Boot delay over: switching node-a back on after its reboot.',
    );
    expect(svc.entities?.()[0]?.state).toMatchObject({ power: 'on', power_on_pending_until: null, problem: null });
    // a power-on that fails after the answer: loud, but the answer was success
    await handlers.get('fence.sim')?.({ device: 'bmc-a', fault: 'on-fails' });
    expect(await handlers.get('fence.run')?.({ target: 'node-a', action: 'reboot' })).toMatchObject({
      result: 'success',
      power: 'off',
    });
    await until(() => events.list().some((e) => e.kind === 'fence.power-on.failed'), 10_000, 20);
    expect(events.list().find((e) => e.kind === 'fence.power-on.failed')?.sentence).toMatch(
      /^Power-on of node-a after its reboot FAILED: .*; node-a stays off, and the fence result already given \(off verified\) stands\.$/,
    );
    expect(svc.health()).toMatchObject({ state: 'degraded', reason: expect.stringMatching(/node-a stays off/) });
    expect(svc.entities?.()[0]?.state).toMatchObject({ problem: expect.stringMatching(/FAILED/) });
    await handlers.get('fence.sim')?.({ device: 'bmc-a', fault: 'none' });
    expect(await handlers.get('fence.run')?.({ target: 'node-a', action: 'on' })).toMatchObject({ result: 'success' });
    expect(svc.health().state).toBe('ok');
  });
});

describe('fencing control methods (control socket input)', () => {
  const sim = `  allow_simulated: true
  corosync_token_ms: 100
  corosync_consensus_ms: 100
  boot_delay_s: 0.3
  power_timeout_s: 1
  poll_interval_ms: 50
  api: {enabled: false}
  devices: [{driver: sim, name: bmc-a, plugs: [chassis], latency_ms: 1, switch_delay_ms: 10}]
  targets: {node-a: {levels: [{plugs: [{device: bmc-a, plug: chassis}]}]}}
`;

  it('a caller cannot set the audit user: it is recorded as unverified; a malformed one is refused', async () => {
    const { ctx, handlers } = context(sim);
    const svc = createFencingService(ctx);
    await svc.start();
    try {
      const run = handlers.get('fence.run') as ControlHandler;
      await run({ target: 'node-a', action: 'status', user: 'root' });
      const history = handlers.get('fence.history') as ControlHandler;
      const { entries } = (await history({})) as { entries: Array<{ requester?: { who?: string } }> };
      expect(entries[0]?.requester).toEqual({ via: 'cli', who: 'unverified:root' });
      await expect(run({ target: 'node-a', action: 'off', user: 'cluster", "via": "api' })).rejects.toThrow(
        /user must be a user name/,
      );
      expect(((await history({})) as { entries: unknown[] }).entries).toHaveLength(1); // the refused one never ran
    } finally {
      await svc.stop();
    }
  });

  it('fence.history refuses limit -1 (and other non-positive or fractional limits) with a clear error', async () => {
    const { ctx, handlers } = context(sim);
    const svc = createFencingService(ctx);
    await svc.start();
    try {
      const history = handlers.get('fence.history') as ControlHandler;
      for (const limit of [-1, 0, 1.5, '3', 1_000_001])
        await expect(history({ limit })).rejects.toThrow(/limit must be an integer from 1 to 100000/);
      await expect(history({ limit: 5 })).resolves.toEqual({ entries: [] });
    } finally {
      await svc.stop();
    }
  });
});
