/**
 * The IPMI codec against captured traffic: ipmitool 1.8.19 <-> ipmi_sim (cipher suite 3),
 * ipmitool -C 17 <-> an independent CS17 responder, and IPMI 1.5 MD5 (see docs/ipmi.md).
 * Every expected value below was taken from the wire, not computed by this code.
 */
import { describe, expect, it } from 'vitest';
import {
  aesDecrypt,
  aesEncrypt,
  CIPHER_SUITES,
  CodecError,
  chooseProtocol,
  decodeChannelAuthCaps,
  decodeChassisStatus,
  decodeOpenSessionResponse,
  decodeRakp2,
  decodeRakp4,
  decodeResponse,
  decodeV2,
  decodeV15,
  deriveKeys,
  encodeOpenSessionRequest,
  encodeRakp1,
  encodeRakp3,
  encodeRequest,
  encodeV2,
  encodeV15,
  md5AuthCode,
  rakp2AuthCode,
  rakp3AuthCode,
  rakp4Icv,
  sessionIntegrityKey,
  verifyIntegrity,
} from '../../../src/fencing/devices/ipmi/codec.js';
import { decodeOpenSessionRequest, decodeRakp1, decodeRequest, encodeResponse } from '../../fixtures/ipmi-bmc-codec.js';

const h = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const pw = Buffer.from('password');
const admin = Buffer.from('admin');

// Captured CS3 handshake (ipmitool <-> ipmi_sim), console SID 0xA0A2A3A4, BMC SID 0x82.
const cs3 = {
  consoleSid: 0xa0a2a3a4,
  bmcSid: 0x82,
  rm: h('a1b1a3bf1547c696210bfcea0f405b27'),
  rc: h('42cf59c1c0c58cafa4b75a80034eb6cb'),
  guid: h('a123456789abcdefa123456789abcdef'),
  role: 0x14,
  username: admin,
};
// Captured CS17 handshake (ipmitool -C 17 <-> independent responder), BMC SID 0x1000.
const cs17 = {
  consoleSid: 0xa0a2a3a4,
  bmcSid: 0x1000,
  rm: h('4c5c9c4d4ade71d01a9c16da6b7bc08f'),
  rc: h('c456a7cfed7073f2e2083793eaaf2c2d'),
  guid: h('00112233445566778899aabbccddeeff'),
  role: 0x14,
  username: admin,
};

describe('RAKP cryptography, cipher suite 3 (HMAC-SHA1)', () => {
  const sik = h('3620bcf630bc1d605d126a316ba5bb8343d0143d');
  it('RAKP2 and RAKP3 auth codes match the capture', () => {
    expect(rakp2AuthCode('sha1', pw, cs3).toString('hex')).toBe('d5dbfb787740adaead6010c5ccd8e437314b5bb0');
    expect(rakp3AuthCode('sha1', pw, cs3).toString('hex')).toBe('de369ed92cb0f93dc7f05adb3e4a697a45b90958');
  });
  it('derives SIK, K1, K2 and the RAKP4 ICV', () => {
    expect(sessionIntegrityKey('sha1', pw, cs3)).toEqual(sik);
    const { k1, k2 } = deriveKeys('sha1', sik);
    expect(k1.toString('hex')).toBe('ff14f22b6e91225936174a2b60f2ef97dfe95746');
    expect(k2.toString('hex')).toBe('7a4b9d9b651c73fdee47de23dc5ae6d76ae0f43b');
    expect(rakp4Icv(CIPHER_SUITES[3], sik, cs3).toString('hex')).toBe('4030aec564ddd6a0efb0ce11');
  });
  it('a wrong password gives a different RAKP2 code', () => {
    expect(rakp2AuthCode('sha1', Buffer.from('passwore'), cs3).toString('hex')).not.toBe(
      'd5dbfb787740adaead6010c5ccd8e437314b5bb0',
    );
  });
});

describe('RAKP cryptography, cipher suite 17 (HMAC-SHA256, 20-byte K constants)', () => {
  const sik = h('3f9867d40e60825bffa5115e7da2f0fb3f5eae61400d6577cf2f99815a32a1ab');
  it('RAKP2, RAKP3, SIK, K1, K2 and ICV match the capture', () => {
    expect(rakp2AuthCode('sha256', pw, cs17).toString('hex')).toBe(
      '38ca1101ad3446283509a89cddeff56d2c5f3e4da66e9cfade204b45bd379488',
    );
    expect(rakp3AuthCode('sha256', pw, cs17).toString('hex')).toBe(
      '7a0f0497568d4e6e01c8e4bb7d6b8c5d069d4cf36ac0a6a9b581389e8cefb641',
    );
    expect(sessionIntegrityKey('sha256', pw, cs17)).toEqual(sik);
    const { k1, k2 } = deriveKeys('sha256', sik);
    expect(k1.toString('hex')).toBe('3c29065d672601ae47e05a741858ab29eac624a131e10281d37537036754215c');
    expect(k2.toString('hex')).toBe('eb7e2bc9f9c5e11496da398a61107831eaed4208f5ff9963ad1287d1d443f905');
    expect(rakp4Icv(CIPHER_SUITES[17], sik, cs17).toString('hex')).toBe('d1933a39ac8de7bdbdcd448f1a62726a');
  });
});

describe('in-session packets: AES-CBC-128 and the integrity trailer', () => {
  const cases = [
    {
      name: 'CS3',
      suite: CIPHER_SUITES[3],
      k1: h('ff14f22b6e91225936174a2b60f2ef97dfe95746'),
      k2: h('7a4b9d9b651c73fdee47de23dc5ae6d76ae0f43b'),
      bmcSid: 0x82,
      iv: h('6b82dc801132d737a8f1d02407467cf5'),
      wire: h(
        '0600ff0706c0820000000300000020006b82dc801132d737a8f1d02407467cf524854de1610b0f64fda97a229459f62affff0207902400bff1ea93bf6cf4e315',
      ),
    },
    {
      name: 'CS17',
      suite: CIPHER_SUITES[17],
      k1: h('3c29065d672601ae47e05a741858ab29eac624a131e10281d37537036754215c'),
      k2: h('eb7e2bc9f9c5e11496da398a61107831eaed4208f5ff9963ad1287d1d443f905'),
      bmcSid: 0x1000,
      iv: h('540109f3c59d4ec943864085f135953d'),
      wire: h(
        '0600ff0706c000100000030000002000540109f3c59d4ec943864085f135953d06b66ad772c0635058fa873182d85638ffff02077b8eb83faa8785fdc89961b456c853bb',
      ),
    },
  ];
  const plaintext = h('2018c881043b043c'); // Set Session Privilege Level (admin), rqSeq 1

  for (const c of cases) {
    const keys = { suite: c.suite, k1: c.k1, aesKey: c.k2.subarray(0, 16) };
    it(`${c.name}: re-encoding the captured Set Session Privilege reproduces the wire bytes`, () => {
      const hdr = { encrypted: true, authenticated: true, payloadType: 0, sessionId: c.bmcSid, seq: 3 };
      expect(encodeV2(hdr, plaintext, keys, c.iv).toString('hex')).toBe(c.wire.toString('hex'));
    });
    it(`${c.name}: decodes, verifies and decrypts the captured packet`, () => {
      const p = decodeV2(c.wire, c.suite.authCodeLen);
      expect(p).toMatchObject({ encrypted: true, authenticated: true, payloadType: 0, sessionId: c.bmcSid, seq: 3 });
      expect(verifyIntegrity(p, keys)).toBe(true);
      expect(aesDecrypt(keys.aesKey, p.payload)).toEqual(plaintext);
      expect(decodeRequest(plaintext)).toMatchObject({ netFn: 6, cmd: 0x3b, rqSeq: 1 });
    });
    it(`${c.name}: a flipped bit fails the integrity check`, () => {
      const bad = Buffer.from(c.wire);
      bad[20] = (bad[20] as number) ^ 1;
      expect(verifyIntegrity(decodeV2(bad, c.suite.authCodeLen), keys)).toBe(false);
    });
  }

  it('AES pad is 01 02 .. N then N (the captured plaintext block)', () => {
    const key = h('7a4b9d9b651c73fdee47de23dc5ae6d7');
    const iv = h('6b82dc801132d737a8f1d02407467cf5');
    const field = aesEncrypt(key, plaintext, iv);
    expect(field.subarray(16).toString('hex')).toBe('24854de1610b0f64fda97a229459f62a');
    expect(aesDecrypt(key, field)).toEqual(plaintext);
    // PKCS#7-style pad bytes are rejected.
    const c = h('00'.repeat(16));
    expect(() => aesDecrypt(key, Buffer.concat([iv, c]))).toThrow(CodecError);
  });

  it('truncated and garbage packets are rejected with the field named', () => {
    const wire = cases[0]?.wire as Buffer;
    expect(() => decodeV2(wire.subarray(0, 10), 12)).toThrow(/truncated/);
    expect(() => decodeV2(wire.subarray(0, wire.length - 5), 12)).toThrow(CodecError);
    expect(() => decodeV2(Buffer.from('garbage garbage garbage'), 12)).toThrow(/RMCP version/);
    expect(() => aesDecrypt(h('00'.repeat(16)), h('00'.repeat(20)))).toThrow(/whole AES blocks/);
  });
});

describe('handshake messages', () => {
  it('Open Session Request and RAKP1/3 encode as ipmitool sent them', () => {
    expect(
      encodeOpenSessionRequest({ tag: 0, privilege: 0, consoleSid: 0xa0a2a3a4, suite: CIPHER_SUITES[3] }).toString(
        'hex',
      ),
    ).toBe('00000000a4a3a2a0000000080100000001000008010000000200000801000000');
    expect(
      encodeOpenSessionRequest({ tag: 0, privilege: 0, consoleSid: 0xa0a2a3a4, suite: CIPHER_SUITES[17] }).toString(
        'hex',
      ),
    ).toBe('00000000a4a3a2a0000000080300000001000008040000000200000801000000');
    expect(encodeRakp1({ tag: 0, bmcSid: 0x82, rm: cs3.rm, role: 0x14, username: admin }).toString('hex')).toBe(
      '0000000082000000a1b1a3bf1547c696210bfcea0f405b271400000561646d696e',
    );
    expect(
      encodeRakp3({
        tag: 0,
        status: 0,
        bmcSid: 0x82,
        authCode: h('de369ed92cb0f93dc7f05adb3e4a697a45b90958'),
      }).toString('hex'),
    ).toBe('0000000082000000de369ed92cb0f93dc7f05adb3e4a697a45b90958');
  });

  it('decodes the captured Open Session Response, RAKP2 and RAKP4', () => {
    const osr = decodeOpenSessionResponse(
      h('00000000a4a3a2a082000000000000080100000001000008010000000200000801000000'),
    );
    expect(osr).toMatchObject({ status: 0, consoleSid: 0xa0a2a3a4, bmcSid: 0x82, authAlg: 1, integAlg: 1, confAlg: 1 });
    const r2 = decodeRakp2(
      h(
        '00000000a4a3a2a042cf59c1c0c58cafa4b75a80034eb6cba123456789abcdefa123456789abcdefd5dbfb787740adaead6010c5ccd8e437314b5bb0',
      ),
      20,
    );
    expect(r2.rc).toEqual(cs3.rc);
    expect(r2.guid).toEqual(cs3.guid);
    expect(r2.authCode.toString('hex')).toBe('d5dbfb787740adaead6010c5ccd8e437314b5bb0');
    const r4 = decodeRakp4(h('00000000a4a3a2a04030aec564ddd6a0efb0ce11'), 12);
    expect(r4.icv.toString('hex')).toBe('4030aec564ddd6a0efb0ce11');
    // Error replies are 8 bytes and carry only the status.
    expect(decodeRakp2(h('000d0000a4a3a2a0'), 20).status).toBe(0x0d);
    expect(() => decodeRakp2(h('00000000a4a3a2a0aabb'), 20)).toThrow(/RAKP2 truncated/);
  });

  it('BMC-side decoders read what the console encoded', () => {
    const req = encodeOpenSessionRequest({ tag: 7, privilege: 3, consoleSid: 0x1234, suite: CIPHER_SUITES[17] });
    expect(decodeOpenSessionRequest(req)).toEqual({
      tag: 7,
      privilege: 3,
      consoleSid: 0x1234,
      authAlg: 3,
      integAlg: 4,
      confAlg: 1,
    });
    const r1 = encodeRakp1({ tag: 1, bmcSid: 9, rm: cs3.rm, role: 0x13, username: Buffer.from('operator') });
    expect(decodeRakp1(r1)).toMatchObject({ bmcSid: 9, role: 0x13, username: Buffer.from('operator') });
  });
});

describe('IPMI messages', () => {
  it('encodes the captured Get Chassis Status request', () => {
    expect(encodeRequest({ netFn: 0, cmd: 1, rqSeq: 6, data: Buffer.alloc(0) }).toString('hex')).toBe('2000e081180166');
  });
  it('decodes captured responses and checks both checksums', () => {
    const r = decodeResponse(h('811c6320043b00049d'));
    expect(r).toMatchObject({ netFn: 7, cmd: 0x3b, rqSeq: 1, cc: 0 });
    expect(r.data).toEqual(h('04'));
    expect(decodeResponse(h('81047b20180200c6'))).toMatchObject({ netFn: 1, cmd: 2, rqSeq: 6, cc: 0 });
    expect(() => decodeResponse(h('811c6320043b00049e'))).toThrow(/data checksum/);
    expect(() => decodeResponse(h('811d6320043b00049d'))).toThrow(/header checksum/);
    expect(() => decodeResponse(h('811c63'))).toThrow(/too short/);
  });
  it('round-trips a response', () => {
    const r = { netFn: 1, cmd: 1, rqSeq: 5, cc: 0, data: h('010000') };
    expect(decodeResponse(encodeResponse(r))).toEqual(r);
  });
  it('decodes chassis status bits', () => {
    expect(decodeChassisStatus(h('010000')).powerOn).toBe(true);
    expect(decodeChassisStatus(h('400000'))).toMatchObject({ powerOn: false, restorePolicy: 'always-on' });
    expect(() => decodeChassisStatus(h('01'))).toThrow(/too short/);
  });
});

describe('IPMI 1.5 (MD5)', () => {
  it('computes the captured Activate Session AuthCode', () => {
    const msg = h('2018c8810c3a02044fa5b5f9cc1be9fdbc3585dfb2ac4873d2455f31af');
    expect(md5AuthCode(pw, 5, 0, msg).toString('hex')).toBe('4e9098c8312d610b7f5b3b9aacd53605');
  });
  it('round-trips a v1.5 packet with and without AuthCode', () => {
    const msg = h('2018c8810c3a02');
    const p = decodeV15(encodeV15({ authType: 2, seq: 7, sessionId: 0x282 }, msg, pw));
    expect(p).toMatchObject({ authType: 2, seq: 7, sessionId: 0x282 });
    expect(p.message).toEqual(msg);
    expect(p.authCode).toEqual(md5AuthCode(pw, 0x282, 7, msg));
    expect(decodeV15(encodeV15({ authType: 0, seq: 0, sessionId: 0 }, msg)).authCode.length).toBe(0);
  });
});

describe('protocol choice from Get Channel Authentication Capabilities', () => {
  // ipmi_sim's captured reply: ext caps, straight+MD5, IPMI 1.5 and 2.0.
  const sim = decodeChannelAuthCaps(h('0194040300000000'));
  const v15md5 = decodeChannelAuthCaps(h('0114040000000000'));
  const v15none = decodeChannelAuthCaps(h('0111040000000000'));
  const table: Array<[string, ReturnType<typeof decodeChannelAuthCaps>, boolean, string]> = [
    ['RMCP+ offered: always RMCP+', sim, false, 'rmcpp'],
    ['RMCP+ offered, ipmi15 allowed: still RMCP+', sim, true, 'rmcpp'],
    ['1.5 only, MD5, ipmi15 allowed: MD5', v15md5, true, 'ipmi15-md5'],
    ['1.5 only, ipmi15 not allowed: refuse', v15md5, false, 'none'],
    ['1.5 only, none/straight only: refuse', v15none, true, 'none'],
  ];
  for (const [name, caps, allow, want] of table) {
    it(name, () => expect(chooseProtocol(caps, allow).protocol).toBe(want));
  }
  it('reads the capability bits', () => {
    expect(sim).toMatchObject({ ipmi20: true, ipmi15: true, kgSet: false, authTypes: 0x14 });
  });
});
