/**
 * `npm start` is the project's main job: the demo config with simulated devices must start and be
 * healthy. Ports, socket and state directory are moved by RACKWITNESS_* env overrides so the test
 * never collides with a demo someone is running.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, cleanEnv, runCli, startDaemon } from '../../fixtures/cli.js';
import {
  alertRules,
  dashboardQueries,
  exposedNames,
  promqlMetricNames,
  promtoolCheckMetrics,
} from '../../fixtures/monitoring.js';
import { mosquittoSub } from '../../fixtures/mosquitto.js';
import { cleanupDir, freePort, tempDir, until } from '../../fixtures/proc.js';

/** Every object key of a JSON document that is not snake_case (path: key). */
function camelKeys(v: unknown, path = '$'): string[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => camelKeys(x, `${path}[${i}]`));
  if (v && typeof v === 'object')
    return Object.entries(v).flatMap(([k, x]) => [
      ...(/^[a-z][a-z0-9]*[A-Z]/.test(k) ? [`${path}.${k}`] : []),
      ...camelKeys(x, `${path}.${k}`),
    ]);
  return [];
}

/** The CLI against the running demo, as a user runs it: tables for people, snake_case --json. */
async function checkCli(sock: string): Promise<void> {
  const json = async (args: string[]) => {
    const r = await runCli([...args, '--json', '--socket', sock]);
    const doc = JSON.parse(r.stdout);
    expect(camelKeys(doc), args.join(' ')).toEqual([]);
    return { ...r, doc };
  };
  // status: a service table, then every snapshot in full (no "..." cut, no JSON blobs)
  const human = await runCli(['status', '--socket', sock]);
  expect(human.stdout).toMatch(/^SERVICE\s+STATE\s+REASON$/m);
  // the rack at a glance first (as on the status page): node-b was fenced off above
  expect(human.stdout).toMatch(/^NODE\s+POWER\s+LAST FENCE\s+POSTGRESQL\s+TL\s+LAG\s+SCORE$/m);
  expect(human.stdout).toMatch(/^node-a\s+on\s+none\s+primary\s+1\s+-\s+1001$/m);
  expect(human.stdout).toMatch(
    /^node-b\s+off\s+off success \d\d:\d\d:\d\d UTC \([^)]+\) level 1\s+standby\s+1\s+\S+ k?B, [\d.]+ s, streaming \(async\)\s+1000$/m,
  );
  expect(human.stdout).toMatch(/^TICKET\s+HOLDER\s+STATE\s+EXPIRES\s+TERM\n^db\s+nobody\s+/m);
  expect(human.stdout).toMatch(/^watchdog: FEEDING: all 3 gated service\(s\) healthy/m);
  expect(human.stdout).toMatch(/^fencing\s+ok\s*$/m);
  expect(human.stdout).toMatch(/^ {2}targets node-b:$/m);
  expect(human.stdout).toMatch(/^ {4}levels:$/m);
  expect(human.stdout).not.toMatch(/\.\.\.$/m);
  expect(human.stdout).not.toMatch(/[{[]"/);
  const st = await json(['status']);
  const arb = st.doc.services.find((s: { name: string }) => s.name === 'arbitrator').snapshot;
  expect(arb).toHaveProperty('site_id'); // camelCase siteId in the daemon's own snapshot
  expect(arb.peers[0]).toHaveProperty('last_recv');
  // pg status: the rack table, and snake_case JSON (lagBytes in the snapshot)
  const pg = await runCli(['pg', 'status', '--daemon', '--socket', sock]);
  expect(pg.stdout).toMatch(/^NODE\s+ADDRESS\s+ROLE\s+TL\s+POSITION\s+LAG/m);
  const pgj = await json(['pg', 'status', '--daemon']);
  expect(pgj.doc.nodes[0]).toHaveProperty('lag_bytes');
  expect(pgj.doc).toHaveProperty('writable_primaries');
  // fence history: a table with the off the demo test ran
  const hist = await runCli(['fence', 'history', '--socket', sock]);
  expect(hist.stdout).toMatch(/^WHEN\s+TARGET\s+ACTION\s+RESULT\s+TOOK\s+LEVEL\s+REQUESTED BY\s+DETAIL$/m);
  expect(hist.stdout).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+node-b\s+off\s+SUCCESS\s+\d+\.\d s\s+1\s+cli/m);
  await json(['fence', 'history']);
  // watchdog status
  const wd = await runCli(['watchdog', 'status', '--socket', sock]);
  expect(wd.stdout).toMatch(/^mode:\s+\S+/m);
  expect((await json(['watchdog', 'status'])).doc).toHaveProperty('reason_code');
  // events --json into a reader that stops early: no EPIPE stack trace, exit 0 (pipefail)
  for (const reader of ['head -1', 'true']) {
    const r = await execFileP('bash', [
      '-o',
      'pipefail',
      '-c',
      `"${process.execPath}" "${CLI}" events --json --socket "${sock}" | ${reader}`,
    ]);
    expect(r.stderr, reader).toBe('');
    expect(r.code, reader).toBe(0);
    if (reader === 'head -1') {
      const first = JSON.parse(r.stdout);
      expect(first).toHaveProperty('service');
      expect(camelKeys(first)).toEqual([]);
    }
  }
  // status --json with the daemon unreachable: a JSON error object, exit 3
  const down = await runCli(['status', '--json', '--socket', `${sock}.nobody`]);
  expect(down.code).toBe(3);
  expect(JSON.parse(down.stdout)).toMatchObject({
    overall: 'unknown',
    error: { code: 'daemon_unreachable', message: expect.stringMatching(/cannot reach the rackwitness daemon/) },
  });
}

function execFileP(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: cleanEnv() }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('demo', () => {
  it('starts healthy with every simulated device, prints where to look, answers the CLI and /metrics, and stops cleanly', async () => {
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

    await checkCli(join(dir, 'control.sock'));

    const seen = await mosquittoSub(mqttPort, 'rackwitness/demo/bridge/state');
    expect(seen).toEqual(['rackwitness/demo/bridge/state {"state":"online"}']);
    d.child.kill('SIGTERM');
    expect((await d.exited).code).toBe(0);
  });
});
