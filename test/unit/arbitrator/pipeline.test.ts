/**
 * The receive pipeline of the engine, driven without sockets: bad input of every kind is dropped
 * and counted, never throws, never changes a ticket; good input reaches the vote table.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Arbitrator } from '../../../src/arbitrator/arbitrator.js';
import { parseBoothConf } from '../../../src/arbitrator/boothconf.js';
import { CMD, NO_ONE, REASON, siteId } from '../../../src/arbitrator/wire.js';
import { packet } from '../../fixtures/booth-packets.js';

const KEY = Buffer.from('pipeline-test-key');
const S1 = siteId('10.1.0.11');
const S2 = siteId('10.1.0.12');
const ARB = siteId('10.1.0.13');
const conf = parseBoothConf(
  'site = 10.1.0.11\nsite = 10.1.0.12\narbitrator = 10.1.0.13\nticket = "db"\nexpire = 12\ntimeout = 1\nretries = 3\nticket = "man"\nmode = manual\nexpire = 12\ntimeout = 1\nretries = 3\n',
);
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

function make(key: Buffer | undefined) {
  const events: string[] = [];
  const arb = new Arbitrator({
    conf,
    self: conf.members[2] as (typeof conf.members)[number],
    key,
    log: quiet,
    event: (kind, sentence) => events.push(`${kind} ${sentence}`),
  });
  return { arb, events };
}

describe('receive pipeline', () => {
  it('a grant sequence changes the view; the event log says why', () => {
    const { arb, events } = make(KEY);
    arb.onDatagram(packet(KEY, S1, CMD.RVot, { name: 'db', leader: S1 }, { reason: REASON.Admin }));
    arb.onDatagram(packet(KEY, S1, CMD.HrtB, { name: 'db', leader: S1, validFor: 11 }));
    expect(arb.view('db')).toMatchObject({ state: 'Fllw', leader: S1, term: 0 });
    expect(events.some((e) => /^ticket\.vote db: voted for 10\.1\.0\.11/.test(e))).toBe(true);
    expect(arb.listText()).toMatch(
      /^ticket: db, leader: 10\.1\.0\.11, expires: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\nticket: man, leader: NONE \[manual mode\]\n$/,
    );
  });

  it('drops and counts bad input without a state change', () => {
    const { arb } = make(KEY);
    arb.onDatagram(packet(KEY, S1, CMD.HrtB, { name: 'db', leader: S1, validFor: 11 }));
    const before = JSON.stringify(arb.view('db'));
    const good = packet(KEY, S1, CMD.HrtB, { name: 'db', leader: S2, term: 9, validFor: 11 });
    const bad: Array<[string, Buffer]> = [
      ['short', good.subarray(0, 30)],
      ['long', Buffer.concat([good, Buffer.alloc(1000)])],
      ['unknown-sender', packet(KEY, 0x1234, CMD.HrtB, { name: 'db', leader: S2 })],
      ['own-id', packet(KEY, ARB, CMD.HrtB, { name: 'db', leader: S2 })],
      ['magic', Buffer.from(good).fill(1, 12, 13)],
      ['version', Buffer.from(good).fill(9, 19, 20)],
      ['length', Buffer.concat([good, Buffer.alloc(4)])],
      ['auth', packet(Buffer.from('another-key-123'), S1, CMD.HrtB, { name: 'db', leader: S2, term: 9 })],
      [
        'timestamp',
        packet(
          KEY,
          S1,
          CMD.HrtB,
          { name: 'db', leader: S2, term: 9, validFor: 11 },
          { secs: Math.floor(Date.now() / 1000) - 700 },
        ),
      ],
      ['ticket-name', packet(KEY, S1, CMD.HrtB, { name: 'nope', leader: S2, term: 9 })],
      ['leader', packet(KEY, S1, CMD.HrtB, { name: 'db', leader: 0x4242, term: 9 })],
      ['unknown-cmd', packet(KEY, S1, 0x41424344, { name: 'db', leader: S2, term: 9 })],
    ];
    for (const [kind, b] of bad) {
      arb.onDatagram(b);
      expect(arb.snapshot().drops[kind], kind).toBeGreaterThan(0);
      expect(JSON.stringify(arb.view('db')), kind).toBe(before);
    }
    const peer = arb.snapshot().peers.find((p) => p.address === '10.1.0.11');
    expect(peer?.authFailures).toBe(2);
    expect(peer?.invalid).toBe(3);
    expect(peer?.recvErrors).toBeGreaterThanOrEqual(4);
    expect(arb.peersText()).toMatch(
      /^site {9}10\.1\.0\.11, last recv: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n\tSent pkts:0 error:0 resends:0\n\tRecv pkts:\d+ error:\d+ authfail:2 invalid:3\n\n/,
    );
  });

  it('a datagram with a non-terminated name or garbage in every field never throws', () => {
    const { arb } = make(KEY);
    for (let i = 0; i < 3000; i++) {
      const b =
        i % 3 === 0
          ? randomBytes(i % 400)
          : packet(KEY, i % 2 ? S1 : S2, CMD.HrtB, { name: 'db', leader: S1, validFor: 11 });
      if (i % 3 !== 0)
        for (let k = 0; k < 1 + (i % 4); k++) {
          const pos = 20 + ((i * 7 + k * 13) % 128);
          b[pos] = (b[pos] as number) ^ (1 + (i % 200));
        }
      expect(() => arb.onDatagram(b)).not.toThrow();
    }
    expect(arb.view('db')).toMatchObject({ leader: undefined, term: 0 });
    expect(arb.snapshot().drops.internal).toBeUndefined();
  });

  it('without authfile, 124-byte messages are accepted and 152-byte ones refused', () => {
    const { arb } = make(undefined);
    arb.onDatagram(packet(KEY, S1, CMD.HrtB, { name: 'db', leader: S1, validFor: 11 }));
    expect(arb.view('db')?.leader).toBeUndefined();
    arb.onDatagram(packet(undefined, S1, CMD.HrtB, { name: 'db', leader: S1, validFor: 11 }));
    expect(arb.view('db')?.leader).toBe(S1);
  });

  it('revoke then list shows "none"', () => {
    const { arb } = make(KEY);
    arb.onDatagram(packet(KEY, S1, CMD.HrtB, { name: 'db', leader: S1, validFor: 11 }));
    arb.onDatagram(packet(KEY, S1, CMD.Revk, { name: 'db', leader: NO_ONE }));
    expect(arb.listText().split('\n')[0]).toBe('ticket: db, leader: none');
  });
});

describe('PostgreSQL guard in the pipeline', () => {
  it('withholds the vote from a candidate that is behind, and says why', () => {
    const events: string[] = [];
    const arb = new Arbitrator({
      conf,
      self: conf.members[2] as (typeof conf.members)[number],
      key: KEY,
      log: quiet,
      event: (kind, sentence) => events.push(`${kind} ${sentence}`),
      guard: {
        tickets: new Set(['db']),
        policy: { nodes: { '10.1.0.11': 'pg-a', '10.1.0.12': 'pg-b' }, toleranceBytes: 0n, maxAgeMs: 60_000 },
        provider: () => (node) => ({ lsn: node === 'pg-a' ? 1000n : 5000n, observedAt: Date.now() }),
      },
    });
    arb.onDatagram(packet(KEY, S1, CMD.RVot, { name: 'db', leader: S1, term: 1 }, { reason: REASON.Admin }));
    expect(arb.view('db')).toMatchObject({ votedFor: undefined, term: 0 });
    expect(events.at(-1)).toMatch(
      /^ticket\.vote-withheld db: withheld the vote from 10\.1\.0\.11 \(term 1\): PostgreSQL on pg-a is at 0\/3E8, 4000 bytes behind pg-b/,
    );
    arb.onDatagram(packet(KEY, S2, CMD.RVot, { name: 'db', leader: S2, term: 1 }, { reason: REASON.Admin }));
    expect(arb.view('db')).toMatchObject({ votedFor: S2, term: 1 });
    // the manual ticket is not guarded
    arb.onDatagram(packet(KEY, S1, CMD.RVot, { name: 'man', leader: S1, term: 1 }, { reason: REASON.Admin }));
    expect(arb.view('man')).toMatchObject({ votedFor: S1 });
  });
});
