/**
 * The daemon service on loopback: 127.0.0.11/.12 play the sites (plain UDP sockets), the service
 * binds 127.0.0.13 (address override: 127.0.0.0/8 is local but not an interface address). Checks the exact acks on the wire, the
 * snapshot, the retained entities, the events and the Prometheus metrics.
 */
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TicketSnapshot } from '../../../src/arbitrator/arbitrator.js';
import { createArbitratorService, DROP_REASONS } from '../../../src/arbitrator/service.js';
import { CMD, readHeader, readTicket, siteId } from '../../../src/arbitrator/wire.js';
import { configSchema } from '../../../src/config/schema.js';
import { EventLog } from '../../../src/daemon/events.js';
import { ProviderRegistry } from '../../../src/daemon/providers.js';
import type { Service } from '../../../src/daemon/service.js';
import { Heartbeats } from '../../../src/watchdog/heartbeat.js';
import { packet } from '../../fixtures/booth-packets.js';
import { cleanupDir, freePort, tempDir, until, waitFor } from '../../fixtures/proc.js';

const KEY_TEXT = 'service-test-key-0123';
const S1 = siteId('127.0.0.11');
const S2 = siteId('127.0.0.12');

describe('arbitrator service', () => {
  const dir = cleanupDir(tempDir('rwbth-svc-'));
  const events = new EventLog(undefined, 1000);
  const metrics = new Registry();
  let svc: Service;
  let port: number;
  const sites: Socket[] = [];
  const inbox: Buffer[] = [];

  beforeAll(async () => {
    port = await freePort('127.0.0.13');
    writeFileSync(join(dir, 'key'), `${KEY_TEXT}\n`, { mode: 0o600 });
    writeFileSync(
      join(dir, 'booth.conf'),
      `port = ${port}\nsite = 127.0.0.11\nsite = 127.0.0.12\narbitrator = 127.0.0.13\nticket = "db"\n  expire = 12\n  timeout = 1\n  retries = 3\n`,
    );
    for (const addr of ['127.0.0.11', '127.0.0.12']) {
      const s = createSocket('udp4');
      await new Promise<void>((r) => s.bind(port, addr, () => r()));
      s.on('message', (m) => inbox.push(m));
      sites.push(s);
    }
    const config = configSchema.parse({
      arbitrator: { booth_config: join(dir, 'booth.conf'), authfile: join(dir, 'key'), address: '127.0.0.13' },
    });
    svc = createArbitratorService({
      config,
      log: pino({ level: 'silent' }),
      events,
      metrics,
      providers: new ProviderRegistry(),
      heartbeats: new Heartbeats(),
      stateDir: dir,
      changed: () => {},
      health: () => ({}),
      admission: () => undefined,
      handle: () => {},
      demo: false,
      daemon: {
        status: () => {
          throw new Error('not used by the arbitrator');
        },
        entities: () => [],
        onChange: () => () => {},
      },
    });
    await svc.start();
  });

  afterAll(async () => {
    await svc?.stop();
    for (const s of sites) s.close();
  });

  const ticket = () => (svc.snapshot() as { tickets: TicketSnapshot[] }).tickets[0] as TicketSnapshot;
  const send = (i: number, b: Buffer) => sites[i]?.send(b, port, '127.0.0.13');

  it('broadcasts Stat at start to every site', async () => {
    await until(() => inbox.filter((b) => readHeader(b).cmd === CMD.Stat).length >= 2, 5000);
    expect(svc.health().state).toBe('ok');
  });

  it('gives no vote within two timeouts of its start', async () => {
    inbox.length = 0;
    send(0, packet(Buffer.from(KEY_TEXT), S1, CMD.RVot, { name: 'db', leader: S1, term: 2 }));
    await until(() => events.list().some((e) => e.kind === 'ticket.vote-withheld'), 5000);
    expect(inbox).toHaveLength(0);
    expect(ticket().quietForS).toBeGreaterThan(0);
    // the next test needs a voting arbitrator: wait for the quiet period to end (a state, not a guess)
    await waitFor('the start-up quiet period to end (snapshot quietForS 0)', () => ticket().quietForS === 0, 5000);
  });

  it('votes, follows and acks with the exact term and leader', async () => {
    inbox.length = 0;
    const key = Buffer.from(KEY_TEXT);
    send(0, packet(key, S1, CMD.RVot, { name: 'db', leader: S1, term: 4 }));
    await until(() => inbox.length >= 1, 5000);
    const vote = inbox.shift() as Buffer;
    expect(readHeader(vote)).toMatchObject({ cmd: CMD.VtFr, request: CMD.RVot, length: 152 });
    expect(readTicket(vote)).toMatchObject({ name: 'db', leader: S1, term: 4 });
    send(0, packet(key, S1, CMD.HrtB, { name: 'db', leader: S1, term: 4, validFor: 11 }));
    await until(() => inbox.length >= 1, 5000);
    const ack = inbox.shift() as Buffer;
    expect(readHeader(ack)).toMatchObject({ cmd: CMD.Ack, request: CMD.HrtB });
    expect(readTicket(ack)).toMatchObject({ leader: S1, term: 4, validFor: 10 });
    // a second candidate in the same term while the lease runs is refused
    send(1, packet(key, S2, CMD.RVot, { name: 'db', leader: S2, term: 4 }));
    await until(() => inbox.length >= 1, 5000);
    expect(readHeader(inbox.shift() as Buffer)).toMatchObject({ cmd: CMD.RJC });
  });

  it('publishes snapshot, entities, events and metrics', async () => {
    const snap = svc.snapshot() as { tickets: Array<Record<string, unknown>>; peers: Array<Record<string, unknown>> };
    expect(snap.tickets[0]).toMatchObject({ name: 'db', leader: '127.0.0.11', term: 4, mode: 'automatic' });
    expect(snap.peers.find((p) => p.address === '127.0.0.11')).toMatchObject({ received: 3, authFailures: 0 });
    expect(svc.entities?.()).toEqual([
      expect.objectContaining({
        topic: 'ticket/db',
        state: expect.objectContaining({ leader: '127.0.0.11', term: 4 }),
      }),
    ]);
    const kinds = events.list().map((e) => e.kind);
    expect(kinds).toEqual(
      expect.arrayContaining(['arbitrator.start', 'ticket.vote', 'ticket.leader', 'ticket.vote-refused']),
    );
    send(1, packet(Buffer.from('wrong-key-wrong'), S2, CMD.HrtB, { name: 'db', leader: S2, term: 9 }));
    await until(
      async () => /rackwitness_arbitrator_auth_failures_total\{peer="127\.0\.0\.12"\} 1/.test(await metrics.metrics()),
      5000,
    );
    const text = await metrics.metrics();
    expect(text).toMatch(/rackwitness_arbitrator_ticket_term\{ticket="db"\} 4/);
    expect(text).toMatch(/^rackwitness_arbitrator_ticket_granted\{ticket="db"\} 1$/m);
    // the leader is an enum gauge over the sites: both series exist, the holder is 1
    expect(text).toMatch(/^rackwitness_arbitrator_ticket_leader\{ticket="db",site="127\.0\.0\.11"\} 1$/m);
    expect(text).toMatch(/^rackwitness_arbitrator_ticket_leader\{ticket="db",site="127\.0\.0\.12"\} 0$/m);
    // every drop reason is exported from start, at its count
    expect(text).toMatch(/^rackwitness_arbitrator_drops_total\{reason="own-id"\} 0$/m);
    expect(text).toMatch(/^rackwitness_arbitrator_drops_total\{reason="auth"\} [1-9]\d*$/m);
    expect(text).toMatch(/rackwitness_arbitrator_packets_received_total\{peer="127\.0\.0\.11"\} 3/);
  });
});

describe('arbitrator drop reasons', () => {
  it('DROP_REASONS lists every kind the arbitrator counts (the pipeline’s, the engine’s and the WireError kinds), and nothing else', () => {
    const read = (f: string) => readFileSync(join(import.meta.dirname, '../../../src/arbitrator', f), 'utf8');
    const kinds = new Set<string>();
    // every string literal in the first argument of drop(...) / this.drop(...), ternaries included
    for (const f of ['arbitrator.ts', 'receive.ts'])
      for (const m of read(f).matchAll(/\bdrop\(\s*([^,]+),/g))
        for (const l of (m[1] ?? '').matchAll(/'([a-z-]+)'/g)) kinds.add(l[1] ?? '');
    // the client verdicts' reasons (receive.ts) and the WireError kinds (wire.ts, receive.ts)
    for (const m of read('receive.ts').matchAll(/reason: '([a-z-]+)'/g)) kinds.add(m[1] ?? '');
    for (const f of ['receive.ts', 'wire.ts'])
      for (const m of read(f).matchAll(/new WireError\(\s*'([a-z-]+)'/g)) kinds.add(m[1] ?? '');
    expect(kinds).toContain('own-id');
    expect(kinds).toContain('magic');
    expect([...DROP_REASONS].sort()).toEqual([...kinds].sort());
  });
});
