/**
 * The drop pipeline on its own (no engine, no sockets): each datagram gets one verdict, a drop
 * names its reason and the peer counter it bumps, and the replay window moves only on an
 * authenticated timestamp.
 */
import { describe, expect, it } from 'vitest';
import { parseBoothConf } from '../../../src/arbitrator/boothconf.js';
import { checkClientRequest, type ReceiveInput, receiveDatagram } from '../../../src/arbitrator/receive.js';
import { CMD, encodeHeaderMsg, siteId } from '../../../src/arbitrator/wire.js';
import { packet } from '../../fixtures/booth-packets.js';

const KEY = Buffer.from('receive-test-key');
const S1 = siteId('10.2.0.11');
const S2 = siteId('10.2.0.12');
const ARB = siteId('10.2.0.13');
const conf = parseBoothConf(
  'site = 10.2.0.11\nsite = 10.2.0.12\narbitrator = 10.2.0.13\nticket = "db"\nexpire = 12\ntimeout = 1\nretries = 3\n',
);

function input(over: Partial<ReceiveInput> = {}, lastTs?: { secs: number; usecs: number }): ReceiveInput {
  const peers = new Map(
    conf.members
      .filter((m) => m.id !== ARB)
      .map((m) => [m.id, { member: m, lastTs: m.id === S1 ? lastTs : undefined }]),
  );
  return {
    selfId: ARB,
    key: KEY,
    maxTimeSkewS: 600,
    now: Date.now(),
    peers,
    hasTicket: (n) => n === 'db',
    isMember: (id) => conf.members.some((m) => m.id === id),
    ...over,
  };
}

describe('receiveDatagram', () => {
  it('accepts a signed heartbeat from a peer, with what the vote table needs and the new timestamp', () => {
    const secs = Math.floor(Date.now() / 1000);
    const v = receiveDatagram(
      packet(KEY, S1, CMD.HrtB, { name: 'db', leader: S1, term: 3, validFor: 11 }, { secs }),
      'x',
      input(),
    );
    expect(v).toEqual({
      accept: true,
      peer: S1,
      ticket: 'db',
      cmd: CMD.HrtB,
      reason: 0,
      leader: S1,
      term: 3,
      validFor: 11,
      lastTs: { secs, usecs: 0 },
    });
  });

  it('names the reason and the peer counter of each drop', () => {
    const good = packet(KEY, S1, CMD.HrtB, { name: 'db', leader: S1 });
    const cases: Array<[Buffer, object]> = [
      [good.subarray(0, 20), { reason: 'short', detail: '20-byte datagram from 192.0.2.9 is shorter than a header' }],
      [packet(KEY, ARB, CMD.HrtB, { name: 'db' }), { reason: 'own-id' }],
      [packet(KEY, 0x77, CMD.HrtB, { name: 'db' }), { reason: 'unknown-sender' }],
      [Buffer.from(good).fill(1, 12, 13), { reason: 'magic', peer: S1, counter: 'recvErrors' }],
      [packet(Buffer.from('other-key'), S1, CMD.HrtB, { name: 'db' }), { reason: 'auth', counter: 'authFailures' }],
      [packet(KEY, S1, CMD.HrtB, { name: 'nope' }), { reason: 'ticket-name', counter: 'invalid' }],
      [packet(KEY, S1, CMD.HrtB, { name: 'db', leader: 0x4242 }), { reason: 'leader', counter: 'invalid' }],
      [packet(KEY, S2, 0x41424344, { name: 'db' }), { reason: 'unknown-cmd', peer: S2, counter: 'invalid' }],
    ];
    for (const [buf, want] of cases)
      expect(receiveDatagram(buf, '192.0.2.9', input()), JSON.stringify(want)).toMatchObject({
        accept: false,
        ...want,
      });
  });

  it('counts nothing under a peer before the sender is known to be one', () => {
    for (const from of [ARB, 0x77]) {
      const v = receiveDatagram(packet(KEY, from, CMD.HrtB, { name: 'db' }), 'x', input());
      expect(v.peer).toBeUndefined();
      expect(v).not.toHaveProperty('counter');
    }
  });

  it('refuses a replay older than the window and does not move the peer’s timestamp', () => {
    const secs = Math.floor(Date.now() / 1000);
    const v = receiveDatagram(
      packet(KEY, S1, CMD.HrtB, { name: 'db' }, { secs: secs - 700 }),
      'x',
      input({}, { secs, usecs: 0 }),
    );
    expect(v).toMatchObject({ accept: false, reason: 'timestamp', counter: 'authFailures' });
    expect(v).not.toHaveProperty('lastTs');
  });

  it('moves the timestamp of an authenticated message even when a later check drops it', () => {
    const secs = Math.floor(Date.now() / 1000);
    const v = receiveDatagram(packet(KEY, S1, CMD.HrtB, { name: 'nope' }, { secs }), 'x', input());
    expect(v).toMatchObject({ accept: false, reason: 'ticket-name', lastTs: { secs, usecs: 0 } });
  });
});

describe('checkClientRequest', () => {
  const at = { key: KEY, now: Date.now(), maxTimeSkewS: 600 };
  const req = (key: Buffer | undefined) =>
    encodeHeaderMsg({ from: 0, cmd: CMD.CLst }, { key, nowUs: () => BigInt(Date.now()) * 1000n });

  it('reads a signed list request, refuses a badly signed one, and rejects a malformed one', () => {
    expect(checkClientRequest(req(KEY), at)).toEqual({ accept: true, cmd: CMD.CLst });
    expect(checkClientRequest(req(Buffer.from('other-key')), at)).toMatchObject({
      accept: false,
      reason: 'client-auth',
    });
    expect(checkClientRequest(Buffer.from(req(KEY)).fill(1, 12, 13), at)).toMatchObject({
      accept: false,
      reason: 'client',
    });
  });
});
