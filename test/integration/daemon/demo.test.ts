/**
 * `npm start` is the project's main job: the demo config with simulated devices must start and be
 * healthy. Ports, socket and state directory are moved by RACKWITNESS_* env overrides so the test
 * never collides with a demo someone is running.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, startDaemon } from '../../fixtures/cli.js';
import {
  alertRules,
  dashboardQueries,
  exposedNames,
  promqlMetricNames,
  promtoolCheckMetrics,
} from '../../fixtures/monitoring.js';
import { mosquittoSub } from '../../fixtures/mosquitto.js';
import { cleanupDir, freePort, tempDir, until } from '../../fixtures/proc.js';

describe('demo', () => {
  it('starts healthy with every simulated device, prints where to look, and stops cleanly', async () => {
    const dir = cleanupDir(tempDir('rw-demo-'));
    const mqttPort = await freePort();
    const httpPort = await freePort();
    const env = {
      RACKWITNESS_BOX_STATE_DIR: join(dir, 'state'),
      RACKWITNESS_CONTROL_SOCKET: join(dir, 'control.sock'),
      RACKWITNESS_STATUS_MQTT_EMBEDDED_PORT: String(mqttPort),
      RACKWITNESS_STATUS_HTTP_PORT: String(httpPort),
      RACKWITNESS_FENCING_API_PORT: String(await freePort()),
    };
    const d = await startDaemon(['--demo'], env);
    expect(d.output()).toContain(`metrics       http://127.0.0.1:${httpPort}/metrics`);
    const st = await runCli(['status', '--json', '--socket', join(dir, 'control.sock')]);
    const status = JSON.parse(st.stdout);
    expect(status.demo).toBe(true);
    expect(status.problems).toEqual([]);
    expect(st.code).toBe(0);
    expect(status.services.map((s: { name: string }) => s.name)).toEqual([
      'status',
      'arbitrator',
      'fencing',
      'pgsql',
      'watchdog',
    ]);
    // the demo's simulated BMC answers a fence request through the daemon, verified
    const fence = await runCli(['fence', 'node-b', '--action', 'off', '--json', '--socket', join(dir, 'control.sock')]);
    expect(fence.code).toBe(0);
    expect(JSON.parse(fence.stdout)).toMatchObject({ result: 'success' });

    // /metrics of the running demo (every service): strict promtool, the failure series from
    // start, and every metric the shipped dashboard queries
    const metricsText = () => fetch(`http://127.0.0.1:${httpPort}/metrics`).then((r) => r.text());
    const metrics = await until(async () => {
      const t = await metricsText();
      if (!/^rackwitness_fence_device_up\{device="pdu-1"\} 1$/m.test(t)) throw new Error('no device check yet');
      return t;
    }, 20_000);
    expect(promtoolCheckMetrics(metrics)).toEqual({ code: 0, output: '' });
    for (const target of ['node-a', 'node-b'])
      for (const action of ['off', 'on', 'reboot', 'status'])
        for (const result of ['failed', 'refused'])
          expect(metrics).toMatch(
            new RegExp(
              `^rackwitness_fence_operations_total\\{target="${target}",action="${action}",result="${result}"\\} 0$`,
              'm',
            ),
          );
    expect(metrics).toMatch(/^rackwitness_fence_operations_total\{target="node-b",action="off",result="success"\} 1$/m);
    expect(metrics).toMatch(/^rackwitness_fence_api_requests_total\{outcome="refused",reason="bad-signature"\} 0$/m);
    // no label carries state: feeding and the ticket leader are enum gauges / plain gauges
    expect(metrics).toMatch(/^rackwitness_watchdog_feeding [01]$/m);
    expect(metrics).not.toMatch(/^rackwitness_arbitrator_ticket_granted\{[^}]*leader=/m);
    // every counter is named *_total
    for (const m of metrics.matchAll(/^# TYPE (\S+) counter$/gm)) expect(m[1]).toMatch(/_total$/);
    const exported = exposedNames(metrics);
    const fromRules = new Set(alertRules().flatMap((r) => promqlMetricNames(r.expr)));
    const missing = dashboardQueries().flatMap((q) =>
      promqlMetricNames(q.expr)
        .filter((n) => !exported.has(n) && !fromRules.has(n))
        .map((n) => `${q.panel}: ${n}`),
    );
    expect(missing).toEqual([]);

    const seen = await mosquittoSub(mqttPort, 'rackwitness/demo/bridge/state');
    expect(seen).toEqual(['rackwitness/demo/bridge/state {"state":"online"}']);
    d.child.kill('SIGTERM');
    expect((await d.exited).code).toBe(0);
  });
});
