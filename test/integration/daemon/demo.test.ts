/**
 * `npm start` is the project's main job: the demo config with simulated devices must start and be
 * healthy. Ports, socket and state directory are moved by RACKWITNESS_* env overrides so the test
 * never collides with a demo someone is running.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, startDaemon } from '../../fixtures/cli.js';
import { mosquittoSub } from '../../fixtures/mosquitto.js';
import { cleanupDir, freePort, tempDir } from '../../fixtures/proc.js';

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
    const seen = await mosquittoSub(mqttPort, 'rackwitness/demo/bridge/state');
    expect(seen).toEqual(['rackwitness/demo/bridge/state {"state":"online"}']);
    d.child.kill('SIGTERM');
    expect((await d.exited).code).toBe(0);
  });
});
