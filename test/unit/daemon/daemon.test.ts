import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { callDaemon, callDaemonRaw } from '../../../src/cli/control-client.js';
import { loadConfigText } from '../../../src/config/load.js';
import type { NoParams } from '../../../src/daemon/control-protocol.js';
import { Daemon, StartError } from '../../../src/daemon/daemon.js';
import type { ServiceEntry } from '../../../src/daemon/registry.js';
import type { Health, Service } from '../../../src/daemon/service.js';
import { cleanupDir, tempDir } from '../../fixtures/proc.js';

// the test services' methods, added to the typed control API for this test
declare module '../../../src/daemon/control-protocol.js' {
  interface ControlApi {
    'a.ping': { params: NoParams; result: string };
    'b.ping': { params: NoParams; result: string };
    'c.ping': { params: NoParams; result: string };
  }
}

/** A service that records its lifecycle into a shared journal; behaviour chosen per test. */
function entry(
  name: 'a' | 'b' | 'c',
  journal: string[],
  opts: { failStart?: boolean; optional?: boolean; hangStop?: boolean } = {},
): ServiceEntry {
  return {
    name,
    enabled: () => true,
    optional: () => opts.optional === true,
    load: async () => (ctx) => {
      let health: Health = { state: 'starting' };
      const svc: Service = {
        name,
        async start() {
          journal.push(`start ${name}`);
          if (opts.failStart) throw new Error(`${name} cannot open /dev/nothing`);
          ctx.handle(`${name}.ping`, async () => `pong from ${name}`);
          health = { state: 'ok' };
        },
        async stop() {
          journal.push(`stop ${name}`);
          if (opts.hangStop) await new Promise(() => {});
        },
        health: () => health,
        snapshot: () => ({ name }),
      };
      return svc;
    },
  };
}

function makeDaemon(entries: ServiceEntry[], shutdown = 2) {
  const dir = cleanupDir(tempDir());
  const loaded = loadConfigText(
    `box:\n  state_dir: ${join(dir, 'state')}\ncontrol:\n  socket: ${join(dir, 'c.sock')}\ndaemon:\n  shutdown_timeout_s: ${shutdown}\nstatus:\n  enabled: false\n`,
    '(inline)',
    { env: {} },
  );
  return { daemon: new Daemon({ loaded, log: pino({ level: 'silent' }), entries }), socket: join(dir, 'c.sock') };
}

describe('daemon lifecycle', () => {
  it('starts in order, serves the control socket, stops in reverse order', async () => {
    const journal: string[] = [];
    const { daemon, socket } = makeDaemon([entry('a', journal), entry('b', journal), entry('c', journal)]);
    await daemon.start();
    expect(daemon.status().overall).toBe('ok');
    expect(await callDaemon(socket, 'b.ping')).toBe('pong from b');
    await daemon.stop();
    expect(journal).toEqual(['start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a']);
    await expect(callDaemon(socket, 'status')).rejects.toThrow(/cannot reach the rackwitness daemon/);
  });

  it('a required service that fails to start names itself and leaves nothing running', async () => {
    const journal: string[] = [];
    const { daemon, socket } = makeDaemon([
      entry('a', journal),
      entry('b', journal, { failStart: true }),
      entry('c', journal),
    ]);
    const err = await daemon.start().catch((e) => e);
    expect(err).toBeInstanceOf(StartError);
    expect(err.message).toBe('service b failed to start: b cannot open /dev/nothing');
    // stop() is called on the failed service too, so it releases whatever it acquired before failing.
    expect(journal).toEqual(['start a', 'start b', 'stop b', 'stop a']);
    await expect(callDaemon(socket, 'status')).rejects.toThrow(/cannot reach/);
    expect(
      daemon.events
        .list()
        .some((e) => e.kind === 'service.failed' && e.sentence.includes('stops rather than run half-configured')),
    ).toBe(true);
  });

  it('an optional service that fails to start leaves the box running, degraded, with the reason', async () => {
    const journal: string[] = [];
    const { daemon, socket } = makeDaemon([
      entry('a', journal),
      entry('b', journal, { failStart: true, optional: true }),
    ]);
    await daemon.start();
    const status = await callDaemon(socket, 'status');
    expect(status.overall).toBe('degraded');
    expect(status.problems).toEqual(['b is failed: failed to start: b cannot open /dev/nothing']);
    await daemon.stop();
  });

  it('bounds the stop: a service that hangs does not keep the daemon from exiting', async () => {
    const journal: string[] = [];
    const { daemon } = makeDaemon([entry('a', journal), entry('b', journal, { hangStop: true })], 1);
    await daemon.start();
    const t0 = Date.now();
    await daemon.stop();
    expect(journal).toEqual(['start a', 'start b', 'stop b', 'stop a']);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('refuses a second daemon on the same control socket', async () => {
    const journal: string[] = [];
    const first = makeDaemon([entry('a', journal)]);
    await first.daemon.start();
    const loaded = loadConfigText(
      `box:\n  state_dir: ${first.socket}.state\ncontrol:\n  socket: ${first.socket}\nstatus:\n  enabled: false\n`,
      '(inline)',
      { env: {} },
    );
    const second = new Daemon({ loaded, log: pino({ level: 'silent' }), entries: [] });
    await expect(second.start()).rejects.toThrow(/is in use: another rackwitness daemon is running/);
    expect(await callDaemon(first.socket, 'a.ping')).toBe('pong from a');
    await first.daemon.stop();
  });

  it('answers unknown methods and malformed requests with an error, not a crash', async () => {
    const journal: string[] = [];
    const { daemon, socket } = makeDaemon([entry('a', journal)]);
    await daemon.start();
    await expect(callDaemonRaw(socket, 'no.such')).rejects.toThrow('unknown method no.such');
    const { connect } = await import('node:net');
    const reply = await new Promise<string>((resolve) => {
      const s = connect(socket, () => s.write('this is not json\n'));
      s.on('data', (d) => {
        resolve(d.toString());
        s.destroy();
      });
    });
    expect(JSON.parse(reply)).toMatchObject({ ok: false, code: 'bad-request' });
    // params are an object or absent; each declared key is checked by its handler, naming it
    await expect(callDaemonRaw(socket, 'events', { since_ms: 'yesterday' })).rejects.toThrow(
      'since_ms must be a number (ms since the epoch)',
    );
    const arrayParams = await new Promise<string>((resolve) => {
      const s = connect(socket, () => s.write('{"id": 7, "method": "status", "params": [1]}\n'));
      s.on('data', (d) => {
        resolve(d.toString());
        s.destroy();
      });
    });
    expect(JSON.parse(arrayParams)).toMatchObject({ ok: false, code: 'bad-request' });
    expect(await callDaemon(socket, 'events', { since_ms: 0 })).toEqual(expect.any(Array));
    expect(daemon.status().overall).toBe('ok');
    await daemon.stop();
  });
});
