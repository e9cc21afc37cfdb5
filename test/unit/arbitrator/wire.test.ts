import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  AUTH_LEN,
  CMD,
  checkHeader,
  code,
  codeName,
  crc32,
  encodeHeaderMsg,
  encodeListReply,
  encodeTicketMsg,
  HEADER_LEN,
  MAGIC,
  NO_ONE,
  RESULT,
  readHeader,
  readTicket,
  siteId,
  timestampOk,
  VERSION,
  verifyMac,
  verifyMessageMac,
  WireError,
} from '../../../src/arbitrator/wire.js';
import { BOOTH_REF, LAB_ARB, LAB_KEY, LAB_SITE1, LAB_SITE2, readPcap } from '../../fixtures/booth-pcap.js';

const ids: Record<string, number> = {
  [LAB_SITE1]: siteId(LAB_SITE1),
  [LAB_SITE2]: siteId(LAB_SITE2),
  [LAB_ARB]: siteId(LAB_ARB),
};

describe('site ids', () => {
  it('match the ids boothd logged for the lab addresses', () => {
    expect(siteId(LAB_SITE1)).toBe(0x17be2063);
    expect(siteId(LAB_SITE2)).toBe(0x09dab5c0);
    expect(siteId(LAB_ARB)).toBe(0x7edd8556);
  });
  it('hash IPv6 over 16 bytes, v4-mapped included, with the top bit cleared', () => {
    const mapped = siteId('::ffff:10.213.77.13');
    expect(mapped).not.toBe(siteId(LAB_ARB));
    const b = Buffer.alloc(16);
    b[10] = 0xff;
    b[11] = 0xff;
    Buffer.from([10, 213, 77, 13]).copy(b, 12);
    expect(mapped).toBe((crc32(b) & 0x7fffffff) >>> 0);
    expect(siteId('fe80::1')).toBeLessThan(0x80000000);
    expect(siteId('2001:db8::1')).toBe(siteId('2001:0db8:0:0:0:0:0:1'));
  });
  it('agrees with a table CRC-32 on a known vector', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });
  it('refuses a non-numeric address', () => {
    expect(() => siteId('host.example')).toThrow(/not a numeric/);
  });
});

describe('four-character codes', () => {
  it('are the ASCII bytes in wire order', () => {
    expect(code('RVot')).toBe(0x52566f74);
    expect(CMD.Ack).toBe(0x41636b2e);
    expect(codeName(RESULT.Auth)).toBe('Auth');
    expect(() => code('abc')).toThrow();
  });
});

describe('reference captures (auth)', () => {
  for (const file of ['booth-arb-auth.pcap', 'booth-all-auth.pcap']) {
    it(`${file}: every member datagram verifies and decodes`, () => {
      const pkts = readPcap(join(BOOTH_REF, file)).filter((p) => p.proto === 'udp' && p.payload.length >= 48);
      let verified = 0;
      for (const p of pkts) {
        const h = readHeader(p.payload);
        if (h.magic !== MAGIC) continue; // the garbage probe
        checkHeader(h, p.payload.length, true);
        expect(h.length).toBe(152);
        expect(h.from).toBe(ids[p.src]);
        expect(h.opts & 1).toBe(1);
        verifyMessageMac(p.payload, h, LAB_KEY);
        const t = readTicket(p.payload);
        expect(['ticketA', 'ticketM']).toContain(t.name);
        expect(t.leader === NO_ONE || Object.values(ids).includes(t.leader)).toBe(true);
        // wall-clock seconds of the sender within a few seconds of the capture time
        expect(Math.abs(h.secs - Number(p.tsUs / 1_000_000n))).toBeLessThan(3);
        verified++;
      }
      expect(verified).toBeGreaterThanOrEqual(38);
    });
  }

  it('the annotated vote pair decodes to the documented fields', () => {
    const [rvot, vtfr] = readPcap(join(BOOTH_REF, 'booth-vote-pair.pcap'));
    if (!rvot || !vtfr) throw new Error('vote pair missing');
    const h = readHeader(rvot.payload);
    expect(h).toMatchObject({ secs: 1795318174, usecs: 605615, from: 0x17be2063, cmd: CMD.RVot, reason: code('Admn') });
    expect(readTicket(rvot.payload)).toEqual({ name: 'ticketA', leader: 0x17be2063, term: 0, validFor: 0 });
    expect(rvot.payload.subarray(128, 148).toString('hex')).toBe('f18948658284c4b536121468251debfb9071b39d');
    const v = readHeader(vtfr.payload);
    expect(v).toMatchObject({ from: 0x7edd8556, cmd: CMD.VtFr, request: CMD.RVot, reason: 0, usecs: 0x94231 });
    verifyMessageMac(vtfr.payload, v, LAB_KEY);
  });

  it('re-encoding a captured packet from its fields gives the same bytes', () => {
    const pkts = readPcap(join(BOOTH_REF, 'booth-arb-auth.pcap')).filter(
      (p) => p.proto === 'udp' && p.payload.length === 152,
    );
    for (const p of pkts) {
      const h = readHeader(p.payload);
      const t = readTicket(p.payload);
      const again = encodeTicketMsg(
        { from: h.from, cmd: h.cmd, request: h.request, options: h.options, reason: h.reason, result: h.result },
        t,
        { key: LAB_KEY, nowUs: () => BigInt(h.secs) * 1_000_000n + BigInt(h.usecs) },
      );
      expect(again.equals(p.payload)).toBe(true);
    }
  });

  it('a wrong key fails, and a tampered byte fails', () => {
    const p = readPcap(join(BOOTH_REF, 'booth-vote-pair.pcap'))[0]?.payload as Buffer;
    const h = readHeader(p);
    expect(() => verifyMessageMac(p, h, Buffer.from('wrong-key-0123456789'))).toThrow(WireError);
    const t = Buffer.from(p);
    t[116] = 1; // term
    expect(() => verifyMessageMac(t, h, LAB_KEY)).toThrow(/HMAC/);
    const hid = Buffer.from(p);
    hid.writeUInt32BE(0, 124);
    expect(() => verifyMessageMac(hid, h, LAB_KEY)).toThrow(/hmac id 0/);
  });

  it('TCP list reply: MAC over the header only, text after the trailer', () => {
    const tcp = readPcap(join(BOOTH_REF, 'booth-arb-auth.pcap')).filter(
      (p) => p.proto === 'tcp' && p.payload.length > 0,
    );
    const fromArb = tcp.filter((p) => p.src === LAB_ARB);
    const head = fromArb[0]?.payload as Buffer;
    const text = fromArb[1]?.payload as Buffer;
    const h = readHeader(head);
    expect(h.cmd).toBe(CMD.RLst);
    expect(h.length).toBe(76 + text.length);
    verifyMac(head, HEADER_LEN, LAB_KEY);
    expect(text.toString()).toBe(
      'ticket: ticketA, leader: 10.213.77.11, expires: 2026-11-22 03:29:45\nticket: ticketM, leader: 10.213.77.11, expires: INF [manual mode]\n',
    );
    const again = encodeListReply(h.from, text.toString(), {
      key: LAB_KEY,
      nowUs: () => BigInt(h.secs) * 1_000_000n + BigInt(h.usecs),
    });
    expect(again.equals(Buffer.concat([head, text]))).toBe(true);
    // the wrong-key client got Rslt/Auth, 76 bytes, MAC'd with the server key
    const auth = fromArb.find((p) => readHeader(p.payload).cmd === CMD.Rslt)?.payload as Buffer;
    expect(readHeader(auth)).toMatchObject({ length: 76, result: RESULT.Auth });
    verifyMac(auth, HEADER_LEN, LAB_KEY);
    const ah = readHeader(auth);
    const mine = encodeHeaderMsg(
      { from: ah.from, cmd: CMD.Rslt, result: RESULT.Auth },
      {
        key: LAB_KEY,
        nowUs: () => BigInt(ah.secs) * 1_000_000n + BigInt(ah.usecs),
      },
    );
    expect(mine.equals(auth)).toBe(true);
  });
});

describe('reference captures (no auth)', () => {
  it.each(['booth-arb-noauth.pcap', 'booth-all-noauth.pcap'])(
    '%s: 124-byte messages with zero opts and timestamps',
    (file) => {
      const pkts = readPcap(join(BOOTH_REF, file)).filter(
        (p) => p.proto === 'udp' && p.payload.length >= 48 && p.payload.readUInt32BE(12) === MAGIC,
      );
      expect(pkts.length).toBeGreaterThan(10);
      for (const p of pkts) {
        const h = readHeader(p.payload);
        checkHeader(h, p.payload.length, false);
        expect(h).toMatchObject({ length: 124, opts: 0, secs: 0, usecs: 0, magic: MAGIC, version: VERSION });
        const t = readTicket(p.payload);
        const again = encodeTicketMsg(
          { from: h.from, cmd: h.cmd, request: h.request, reason: h.reason, result: h.result },
          t,
          {
            key: undefined,
            nowUs: () => 0n,
          },
        );
        expect(again.equals(p.payload)).toBe(true);
      }
    },
  );
});

describe('length and header checks', () => {
  const good = encodeTicketMsg(
    { from: 1, cmd: CMD.Stat },
    { name: 't', leader: NO_ONE, term: 0, validFor: 0 },
    {
      key: LAB_KEY,
      nowUs: () => 1n,
    },
  );
  it('short, wrong magic, wrong version, length mismatch', () => {
    expect(() => readHeader(good.subarray(0, 47))).toThrow(/shorter/);
    const m = Buffer.from(good);
    m.writeUInt32BE(0x12345678, 12);
    expect(() => checkHeader(readHeader(m), m.length, true)).toThrow(/magic/);
    const v = Buffer.from(good);
    v.writeUInt32BE(0x00010002, 16);
    expect(() => checkHeader(readHeader(v), v.length, true)).toThrow(/version/);
    expect(() => checkHeader(readHeader(good), good.length - 1, true)).toThrow(/does not match/);
    const big = Buffer.from(good);
    big.writeUInt32BE(4096, 24);
    expect(() => checkHeader(readHeader(big), 4096, true)).toThrow(/exceeds/);
    const tiny = Buffer.from(good);
    tiny.writeUInt32BE(60, 24);
    expect(() => checkHeader(readHeader(tiny), 60, true)).toThrow(/below 76/);
  });
  it('an unterminated ticket name is refused', () => {
    const n = Buffer.from(good);
    n.fill(0x41, 48, 112);
    expect(() => readTicket(n)).toThrow(/NUL/);
  });
  it('names of 64 bytes cannot be encoded', () => {
    expect(() =>
      encodeTicketMsg(
        { from: 1, cmd: CMD.Stat },
        { name: 'x'.repeat(64), leader: 0, term: 0, validFor: 0 },
        {
          key: undefined,
          nowUs: () => 0n,
        },
      ),
    ).toThrow(/64 bytes/);
  });
  it('the trailer is hid 2, 20 MAC bytes, 4 zero bytes', () => {
    expect(good.readUInt32BE(124)).toBe(2);
    expect(good.subarray(152 - 4).equals(Buffer.alloc(4))).toBe(true);
    expect(good.length).toBe(124 + AUTH_LEN);
  });
});

describe('timestamp window', () => {
  const now = 1_800_000_000_000;
  const s = now / 1000;
  it('newer than the last one passes', () => {
    expect(timestampOk(s, 2, { secs: s, usecs: 1 }, now, 600)).toEqual({ ok: true, older: false });
  });
  it('older than the last one but inside maxtimeskew passes (boothd stamps are not monotonic)', () => {
    expect(timestampOk(s, 1, { secs: s, usecs: 711421 }, now, 600)).toEqual({ ok: true, older: true });
  });
  it('older than now - maxtimeskew is refused (replay)', () => {
    expect(timestampOk(s - 601, 0, { secs: s, usecs: 0 }, now, 600).ok).toBe(false);
    expect(timestampOk(s - 601, 0, undefined, now, 600).ok).toBe(false);
  });
  it('future stamps pass (no upper bound in boothd)', () => {
    expect(timestampOk(s + 10_000, 0, undefined, now, 600).ok).toBe(true);
  });
});
