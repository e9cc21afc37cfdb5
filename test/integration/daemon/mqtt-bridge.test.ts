/**
 * The embedded broker bridged to an external one (issue #14, item 2): the compiled daemon, a real
 * mosquitto as the external broker, the real mosquitto_sub. The embedded broker dies with the box;
 * the bridge's connection registers the box's last will on the external broker, so monitoring
 * there sees "offline" when the box dies (kill -9: the kernel closes the socket) or hangs (SIGSTOP,
 * what a power loss looks like to the broker: the TCP connection stays open, only the keepalive
 * ends it, within 1.5 × keepalive).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, startDaemon } from '../../fixtures/cli.js';
import { type Broker, mosquittoSub, startMosquitto, watchMqtt } from '../../fixtures/mosquitto.js';
import { cleanupDir, freePort, tempDir, until, waitFor } from '../../fixtures/proc.js';

const KEEPALIVE_S = 5;
/**
 * MQTT: the broker drops a client it heard nothing from for 1.5 × keepalive, then publishes its
 * will; the box sends a packet at least once per keepalive, so that is at most 1.5 × keepalive
 * after the box stopped. mosquitto 2.0 keeps those times in whole seconds, files clients in
 * one-second expiry buckets and checks them once a second (src/keepalive.c): measured here
 * 8.3 to 10.1 s for keepalive 5 s on an idle machine, 10.6 to 10.9 s while the rest of the suite
 * loads both cores (the broker and this test's subscriber wait for a core too). The bound the tests
 * hold it to: 2 × keepalive + 2 s.
 */
const BOUND_MS = (2 * KEEPALIVE_S + 2) * 1000;

async function bridgedBox(external: Broker, box: string) {
  const dir = cleanupDir(tempDir('rw-bridge-'));
  const file = join(dir, 'rackwitness.yaml');
  const embedded = await freePort();
  writeFileSync(
    file,
    [
      `box: {name: ${box}, state_dir: state}`,
      'control: {socket: run/control.sock}',
      'log: {format: json}',
      'status:',
      `  http: {host: 127.0.0.1, port: ${await freePort()}}`,
      '  mqtt:',
      '    embedded:',
      '      host: 127.0.0.1',
      `      port: ${embedded}`,
      `      bridge: {url: ${external.url}, keepalive_s: ${KEEPALIVE_S}, reconnect_s: 0.5}`,
      '',
    ].join('\n'),
  );
  return { file, socket: join(dir, 'run/control.sock'), embedded };
}

describe('the embedded broker bridged to an external mosquitto', () => {
  it('kill -9 of the box: the external broker delivers "offline" (the will the bridge registered) within the keepalive bound', async () => {
    const external = await startMosquitto();
    const base = 'rackwitness/rack8';
    const box = await bridgedBox(external, 'rack8');
    const w = await watchMqtt(external.port, [`${base}/bridge/state`]);
    const d = await startDaemon(['--config', box.file]);
    await w.next((m) => m.payload === '{"state":"online"}');
    // the box's retained state and its discovery configs reached the external broker
    expect(await mosquittoSub(external.port, `${base}/status`)).toEqual([
      expect.stringMatching(new RegExp(`^${base}/status \\{"overall":"ok"`)),
    ]);
    expect((await mosquittoSub(external.port, 'homeassistant/#')).length).toBeGreaterThanOrEqual(4);
    // and the embedded broker serves the same
    expect(await mosquittoSub(box.embedded, `${base}/bridge/state`)).toEqual([
      `${base}/bridge/state {"state":"online"}`,
    ]);

    const from = w.all().length;
    await d.kill('SIGKILL');
    // bounded by the keepalive: a later "offline" fails here
    await w.next((m) => m.payload === '{"state":"offline"}', from, BOUND_MS);
    expect(await mosquittoSub(external.port, `${base}/bridge/state`)).toEqual([
      `${base}/bridge/state {"state":"offline"}`,
    ]);
    await w.stop();
  }, 60_000);

  it('a hung box (SIGSTOP: the connection stays open) is seen offline within the keepalive bound; resumed, the bridge reconnects and replays its retained state', async () => {
    const external = await startMosquitto();
    const base = 'rackwitness/rack9';
    const box = await bridgedBox(external, 'rack9');
    const w = await watchMqtt(external.port, [`${base}/bridge/state`]);
    const d = await startDaemon(['--config', box.file]);
    await w.next((m) => m.payload === '{"state":"online"}');

    const from = w.all().length;
    const pid = d.child.pid as number;
    process.kill(pid, 'SIGSTOP');
    const stopped = performance.now();
    let off: Awaited<ReturnType<typeof w.next>>;
    try {
      off = await w.next((m) => m.payload === '{"state":"offline"}', from, BOUND_MS + 1000);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    // the bound, measured from the stop (the wait above has 1 s of polling slack on top)
    expect(performance.now() - stopped).toBeLessThan(BOUND_MS);
    // resumed: the bridge finds its connection closed by the broker, reconnects and replays
    await w.next((m) => m.payload === '{"state":"online"}', w.all().indexOf(off) + 1, 20_000);
    expect(await mosquittoSub(external.port, `${base}/bridge/state`)).toEqual([
      `${base}/bridge/state {"state":"online"}`,
    ]);
    await d.kill('SIGKILL');
    await w.stop();
  }, 60_000);

  it('the external broker going away leaves the box running, degraded naming the bridge; back, it gets the retained state again; a clean stop says offline there', async () => {
    const external = await startMosquitto();
    const base = 'rackwitness/rack10';
    const box = await bridgedBox(external, 'rack10');
    const d = await startDaemon(['--config', box.file]);
    await until(async () => (await mosquittoSub(external.port, `${base}/bridge/state`, 1000)).length === 1, 20_000);

    await external.kill();
    const degraded = await waitFor(
      'status degraded',
      async () => {
        const r = await runCli(['status', '--json', '--socket', box.socket]);
        return r.code === 1 ? (JSON.parse(r.stdout) as { overall: string; problems: string[] }) : undefined;
      },
      20_000,
      200,
    );
    expect(degraded.overall).toBe('degraded');
    expect(degraded.problems).toEqual([
      expect.stringMatching(/^status is degraded: MQTT bridge to mqtt:\/\/127\.0\.0\.1:\d+ is not connected/),
    ]);
    // the embedded broker still serves monitoring on the box
    expect(await mosquittoSub(box.embedded, `${base}/bridge/state`)).toEqual([
      `${base}/bridge/state {"state":"online"}`,
    ]);

    // back (empty: no persistence): the bridge replays every retained topic
    await external.restart();
    await until(async () => (await runCli(['status', '--socket', box.socket])).code === 0, 30_000, 250);
    expect(await mosquittoSub(external.port, `${base}/bridge/state`)).toEqual([
      `${base}/bridge/state {"state":"online"}`,
    ]);
    expect((await mosquittoSub(external.port, 'homeassistant/#')).length).toBeGreaterThanOrEqual(4);
    expect(await mosquittoSub(external.port, `${base}/service/status`)).toEqual([
      `${base}/service/status {"state":"ok","optional":false}`,
    ]);

    d.child.kill('SIGTERM');
    expect((await d.exited).code).toBe(0);
    expect(await mosquittoSub(external.port, `${base}/bridge/state`)).toEqual([
      `${base}/bridge/state {"state":"offline"}`,
    ]);
  }, 90_000);
});
