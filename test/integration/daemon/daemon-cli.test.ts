/**
 * The daemon as users run it: the compiled CLI, a real mosquitto, the real mosquitto_sub,
 * the real promtool. Each test builds its own config in a temp dir on free ports.
 */
import { execFileSync } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, startDaemon } from '../../fixtures/cli.js';
import { promtoolCheckMetrics } from '../../fixtures/monitoring.js';
import { type Broker, mosquittoSub, startMosquitto } from '../../fixtures/mosquitto.js';
import { cleanupDir, freePort, tempDir, until } from '../../fixtures/proc.js';

interface Setup {
  dir: string;
  file: string;
  socket: string;
  http: number;
}

async function writeConfig(extraStatus: string, box = 'rack1'): Promise<Setup> {
  const dir = cleanupDir(tempDir('rw-daemon-'));
  const http = await freePort();
  const file = join(dir, 'rackwitness.yaml');
  writeFileSync(
    file,
    `box:\n  name: ${box}\n  state_dir: state\ncontrol:\n  socket: run/control.sock\nlog:\n  format: json\nstatus:\n  http:\n    host: 127.0.0.1\n    port: ${http}\n${extraStatus}`,
  );
  return { dir, file, socket: join(dir, 'run/control.sock'), http };
}

describe('daemon with an external broker', () => {
  let broker: Broker;
  beforeAll(async () => {
    broker = await startMosquitto();
  });

  it('publishes online (retained) while running, offline after kill -9 (LWT), and serves status + valid /metrics', async () => {
    const s = await writeConfig(`  mqtt:\n    url: ${broker.url}\n    reconnect_min_s: 0.2\n`);
    const d = await startDaemon(['--config', s.file]);

    const seen = await mosquittoSub(broker.port, 'rackwitness/rack1/#');
    expect(seen).toContain('rackwitness/rack1/bridge/state {"state":"online"}');
    const info = seen.find((l) => l.startsWith('rackwitness/rack1/bridge/info '));
    expect(JSON.parse(info?.split(' ').slice(1).join(' ') ?? '{}')).toMatchObject({
      box: 'rack1',
      version: expect.any(String),
    });
    expect(seen).toContain('rackwitness/rack1/service/status {"state":"ok","optional":false}');

    const st = await runCli(['status', '--json', '--config', s.file]);
    expect(st.code).toBe(0);
    expect(JSON.parse(st.stdout)).toMatchObject({ box: 'rack1', overall: 'ok' });
    const human = await runCli(['status', '--socket', s.socket]);
    expect(human.stdout).toMatch(/on rack1: OK/);
    expect((statSync(s.socket).mode & 0o777).toString(8)).toBe('660');

    const metrics = await (await fetch(`http://127.0.0.1:${s.http}/metrics`)).text();
    expect(metrics).toMatch(/^rackwitness_build_info\{version="[^"]+",node_version="v\d+[^"]*"\} 1$/m);
    expect(metrics).toMatch(/^rackwitness_mqtt_connected 1$/m);
    // The real promtool on the whole exposition, prom-client's defaults included: no parse error
    // and no lint remark at all (promtool exits 3 on lint, 1 on a parse error, prints either).
    expect(promtoolCheckMetrics(metrics)).toEqual({ code: 0, output: '' });
    expect(metrics).toMatch(/^# TYPE rackwitness_mqtt_messages_published_total counter$/m);
    expect(metrics).toMatch(/^rackwitness_mqtt_messages_published_total [1-9]\d*$/m);
    expect(metrics).toMatch(/^rackwitness_mqtt_reconnects_total 0$/m);

    const page = await (await fetch(`http://127.0.0.1:${s.http}/`)).text();
    expect(page).toContain('<h1>rackwitness · rack1</h1>');

    await d.kill('SIGKILL');
    const after = await until(
      async () => {
        const lines = await mosquittoSub(broker.port, 'rackwitness/rack1/bridge/state', 1000);
        return lines.includes('rackwitness/rack1/bridge/state {"state":"offline"}') ? lines : undefined;
      },
      20_000,
      200,
    );
    expect(after).toEqual(['rackwitness/rack1/bridge/state {"state":"offline"}']);
  });

  it('keeps running when the broker goes away, reports degraded, and recovers when it is back', async () => {
    const own = await startMosquitto();
    const s = await writeConfig(
      `  mqtt:\n    url: ${own.url}\n    reconnect_min_s: 0.2\n    reconnect_max_s: 1\n`,
      'rack2',
    );
    const d = await startDaemon(['--config', s.file]);
    await own.kill();
    const degraded = await until(
      async () => {
        const r = await runCli(['status', '--json', '--socket', s.socket]);
        return r.code === 1 ? r : undefined;
      },
      20_000,
      200,
    );
    const st = JSON.parse(degraded?.stdout ?? '{}');
    expect(st.overall).toBe('degraded');
    expect(st.problems[0]).toMatch(/^status is degraded: MQTT broker mqtt:\/\/127\.0\.0\.1:\d+ unreachable/);
    const metrics = await (await fetch(`http://127.0.0.1:${s.http}/metrics`)).text();
    expect(metrics).toMatch(/^rackwitness_mqtt_connected 0$/m);

    await own.restart();
    await until(async () => (await runCli(['status', '--socket', s.socket])).code === 0, 30_000, 250);
    const seen = await mosquittoSub(own.port, 'rackwitness/rack2/bridge/state');
    expect(seen).toEqual(['rackwitness/rack2/bridge/state {"state":"online"}']);

    d.child.kill('SIGTERM');
    const exit = await d.exited;
    expect(exit.code).toBe(0);
    expect(await mosquittoSub(own.port, 'rackwitness/rack2/bridge/state')).toEqual([
      'rackwitness/rack2/bridge/state {"state":"offline"}',
    ]);
    // The control socket is gone; events are still readable from the state directory.
    const ev = await runCli(['events', '--config', s.file]);
    expect(ev.code).toBe(0);
    expect(ev.stderr).toMatch(/daemon not running; reading/);
    expect(ev.stdout).toMatch(/Daemon stopped\./);
    const st2 = await runCli(['status', '--config', s.file]);
    expect(st2.code).toBe(3);
    expect(st2.stderr).toMatch(/cannot reach the rackwitness daemon/);
  });

  it('refuses to start when the broker is unreachable, naming it, and leaves nothing behind', async () => {
    const dead = await freePort();
    const s = await writeConfig(`  mqtt:\n    url: mqtt://127.0.0.1:${dead}\n    connect_timeout_s: 1\n`, 'rack3');
    const r = await runCli(['run', '--config', s.file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `service status failed to start: status\\.mqtt: cannot connect to broker mqtt://127\\.0\\.0\\.1:${dead}`,
      ),
    );
    // nothing half-started: the HTTP port is free again and no socket answers
    const probe = await fetch(`http://127.0.0.1:${s.http}/metrics`).then(
      () => 'open',
      () => 'closed',
    );
    expect(probe).toBe('closed');
  });
});

describe('daemon with the embedded broker', () => {
  it('runs an embedded broker that monitoring can subscribe to but nobody else can publish to', async () => {
    const port = await freePort();
    const s = await writeConfig(`  mqtt:\n    embedded:\n      host: 127.0.0.1\n      port: ${port}\n`, 'rack4');
    const d = await startDaemon(['--config', s.file]);
    expect(await mosquittoSub(port, 'rackwitness/rack4/bridge/state')).toEqual([
      'rackwitness/rack4/bridge/state {"state":"online"}',
    ]);
    // A stray client's publication to the box's topics is refused by the broker.
    try {
      execFileSync(
        'mosquitto_pub',
        [
          '-h',
          '127.0.0.1',
          '-p',
          String(port),
          '-r',
          '-t',
          'rackwitness/rack4/bridge/state',
          '-m',
          '{"state":"forged"}',
          // QoS 1: mosquitto_pub returns only once the broker has acted on it (PUBACK or a cut
          // connection), so what follows sees the broker's decision without a sleep
          '-q',
          '1',
        ],
        { stdio: 'pipe' },
      );
    } catch {
      // the broker may drop the connection of a client whose publication it refused
    }
    expect(await mosquittoSub(port, 'rackwitness/rack4/bridge/state')).toEqual([
      'rackwitness/rack4/bridge/state {"state":"online"}',
    ]);
    await d.kill('SIGTERM');
  });

  it('names a port already in use and exits 1 with nothing half-started', async () => {
    const blocker = await startMosquitto();
    const s = await writeConfig(
      `  mqtt:\n    embedded:\n      host: 127.0.0.1\n      port: ${blocker.port}\n`,
      'rack5',
    );
    const r = await runCli(['run', '--config', s.file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`status.mqtt.embedded.port: port ${blocker.port} on 127.0.0.1 is already in use`);
    const probe = await fetch(`http://127.0.0.1:${s.http}/`).then(
      () => 'open',
      () => 'closed',
    );
    expect(probe).toBe('closed');
  });
});

describe('config check', () => {
  it('exits 0 with a one-line summary for a valid file', async () => {
    const s = await writeConfig('');
    const r = await runCli(['config', 'check', '--config', s.file]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`ok: ${s.file}: box rack1; services: status`);
  });

  it('exits 1 and names every culprit', async () => {
    const dir = cleanupDir(tempDir());
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'box:\n  name: rack1\n  colour: blue\nstatus:\n  http:\n    port: -1\n');
    const r = await runCli(['config', 'check', '--config', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('box.colour: unknown key');
    expect(r.stderr).toMatch(/status\.http\.port: /);
    const missing = await runCli(['config', 'check', '--config', join(dir, 'nope.yaml')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/\(file\): cannot read config file \(ENOENT\)/);
    const env = await runCli(['config', 'check', '--config', file.replace('bad', 'nope2')], {
      env: { RACKWITNESS_BOX_NAME: 'x' },
    });
    expect(env.code).toBe(1);
  });

  it('exports the JSON Schema and the generated docs', async () => {
    const schema = await runCli(['config', 'schema']);
    expect(schema.code).toBe(0);
    expect(JSON.parse(schema.stdout).additionalProperties).toBe(false);
    const docs = await runCli(['config', 'docs']);
    expect(docs.stdout).toMatch(/^# Configuration reference/);
  });
});
