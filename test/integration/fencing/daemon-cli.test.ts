/**
 * The fencing service inside the real daemon, driven by the compiled CLI as users run it:
 * `rackwitness fence <target> --action ...`, `fence history` (live and post-mortem), `fence`,
 * and the fencing metrics on /metrics.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, startDaemon } from '../../fixtures/cli.js';
import { cleanupDir, freePort, type Spawned, tempDir } from '../../fixtures/proc.js';

describe('rackwitness fence (daemon + CLI)', () => {
  let file = '';
  let http = 0;
  let daemon: Spawned;

  beforeAll(async () => {
    const dir = cleanupDir(tempDir('rwfence-daemon-'));
    http = await freePort();
    const api = await freePort();
    const key = join(dir, 'fence.key');
    writeFileSync(key, 'daemon-cli-test-key-0123456789abcdef0123\n', { mode: 0o600 });
    file = join(dir, 'rackwitness.yaml');
    writeFileSync(
      file,
      `box: {name: rack1, state_dir: state}
control: {socket: run/control.sock}
log: {format: json}
status:
  mqtt: {enabled: false}
  http: {host: 127.0.0.1, port: ${http}}
fencing:
  corosync_token_ms: 100
  corosync_consensus_ms: 120
  boot_delay_s: 0.5
  power_timeout_s: 1
  poll_interval_ms: 100
  allow_simulated: true
  devices:
    - {driver: sim, name: bmc-a, plugs: [chassis], latency_ms: 5, switch_delay_ms: 100}
  targets:
    node-a: {levels: [{plugs: [{device: bmc-a, plug: chassis}]}]}
  api: {host: 127.0.0.1, port: ${api}, keys: [{id: cluster, key_file: ${key}}]}
`,
    );
    daemon = await startDaemon(['--config', file]);
  });

  it('fences through the daemon, shows the status, the journal and the metrics', async () => {
    const off = await runCli(['fence', 'node-a', '--action', 'off', '--json', '--config', file]);
    expect(off.code, off.stderr).toBe(0);
    expect(JSON.parse(off.stdout)).toMatchObject({
      target: 'node-a',
      action: 'off',
      result: 'success',
      power: 'off',
      level: 1,
    });

    const st = await runCli(['fence', 'node-a', '--action', 'status', '--config', file]);
    expect(st.code).toBe(2);
    expect(st.stdout).toMatch(/^OK: status node-a → power off \(level 1\)/);

    const unknown = await runCli(['fence', 'node-z', '--action', 'off', '--config', file]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/"node-z" is not a configured fencing target; configured: node-a/);
    expect((await runCli(['fence', 'node-a', '--config', file])).code).toBe(2); // no --action: usage error

    const overview = await runCli(['fence', '--config', file]);
    expect(overview.stdout).toMatch(/^node-a: power off; last status success/m);
    expect(overview.stdout).toMatch(/level 1: bmc-a\/chassis/);

    const hist = await runCli(['fence', 'history', '--json', '--config', file]);
    const entries = JSON.parse(hist.stdout) as Array<Record<string, unknown>>;
    expect(entries.map((e) => [e.action, e.result])).toEqual([
      ['status', 'success'],
      ['off', 'success'],
    ]);
    expect(entries[1]).toMatchObject({ requester: { via: 'cli' }, verified_by: 'read off: bmc-a/chassis (sim)' });

    const metrics = await (await fetch(`http://127.0.0.1:${http}/metrics`)).text();
    expect(metrics).toMatch(/^rackwitness_fence_operations_total\{target="node-a",action="off",result="success"\} 1$/m);
    expect(metrics).toMatch(/^rackwitness_fence_device_up\{device="bmc-a"\} 1$/m);
    expect(metrics).toMatch(/^rackwitness_fence_operation_duration_seconds_count\{action="off"\} 1$/m);
  });

  it('fence history reads the journal from the state directory when the daemon is down', async () => {
    await daemon.kill('SIGTERM');
    const hist = await runCli(['fence', 'history', '--config', file]);
    expect(hist.code).toBe(0);
    expect(hist.stderr).toMatch(/daemon not running; reading .*fence-journal\.jsonl/);
    expect(hist.stdout).toMatch(/node-a\s+off\s+SUCCESS/);
  });
});
