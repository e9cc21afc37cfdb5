/**
 * IPMI over LAN packet codec: pure functions from values to bytes and back, plus the RMCP+ and
 * IPMI 1.5 cryptography. No sockets, no timers, no state: the session layer (session.ts) owns
 * sequence numbers and keys and calls into here. Every layout below is described in docs/ipmi.md
 * and unit-tested against captured traffic (test/unit/fencing/ipmi-codec.test.ts).
 *
 * Conventions: multi-byte integers in the session and payload layers are little-endian.
 * "Console" is us, "BMC" the managed controller. Decoders throw CodecError naming the field.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** A malformed packet or field; the message names the field. */
export class CodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CodecError';
  }
}

// ---------------------------------------------------------------------------------------------
// Constants

export const RMCP_HEADER = Buffer.from([0x06, 0x00, 0xff, 0x07]);
export const AUTH_TYPE_RMCPP = 0x06;
export const AUTH_TYPE_NONE = 0x00;
export const AUTH_TYPE_MD5 = 0x02;
export const AUTH_TYPE_STRAIGHT = 0x04;

export const BMC_ADDR = 0x20;
export const CONSOLE_ADDR = 0x81;

/** RMCP+ payload types (low 6 bits of the payload-type byte). */
export const PayloadType = {
  ipmi: 0x00,
  openSessionRequest: 0x10,
  openSessionResponse: 0x11,
  rakp1: 0x12,
  rakp2: 0x13,
  rakp3: 0x14,
  rakp4: 0x15,
} as const;

export const NetFn = { chassis: 0x00, app: 0x06 } as const;

export const Cmd = {
  getDeviceId: 0x01,
  getChassisStatus: 0x01,
  chassisControl: 0x02,
  getChannelAuthCaps: 0x38,
  getSessionChallenge: 0x39,
  activateSession: 0x3a,
  setSessionPrivilege: 0x3b,
  closeSession: 0x3c,
  getChannelCipherSuites: 0x54,
} as const;

/** Chassis Control request codes (data byte 1, bits 3:0). */
export const ChassisControl = { off: 0x00, on: 0x01, cycle: 0x02, reset: 0x03, diag: 0x04, soft: 0x05 } as const;
export type ChassisAction = 'off' | 'on' | 'cycle' | 'reset' | 'soft';

/** Privilege levels as carried in RAKP1 ROLEm bits 3:0 and Set Session Privilege Level. */
export const Privilege = { callback: 1, user: 2, operator: 3, administrator: 4 } as const;
export type PrivilegeName = keyof typeof Privilege;

/** RMCP+ status codes of Open Session Response and RAKP 2/4. */
export const RMCPP_STATUS: Record<number, string> = {
  0: 'no errors',
  1: 'insufficient resources to create a session',
  2: 'invalid session ID',
  3: 'invalid payload type',
  4: 'invalid authentication algorithm',
  5: 'invalid integrity algorithm',
  6: 'no matching authentication payload',
  7: 'no matching integrity payload',
  8: 'inactive session ID',
  9: 'invalid role',
  10: 'unauthorized role or privilege level requested',
  11: 'insufficient resources to create a session at the requested role',
  12: 'invalid name length',
  13: 'unauthorized name',
  14: 'unauthorized GUID',
  15: 'invalid integrity check value',
  16: 'invalid confidentiality algorithm',
  17: 'no cipher suite match with proposed security algorithms',
  18: 'illegal or unrecognized parameter',
};

/** Completion codes (first response data byte) worth a name. */
export const COMPLETION_CODES: Record<number, string> = {
  0: 'ok',
  128: 'requested privilege level not available for this user',
  129: 'requested privilege level exceeds the user or channel limit',
  192: 'node busy',
  193: 'invalid command',
  194: 'command invalid for given LUN',
  195: 'timeout while processing command',
  196: 'out of space',
  197: 'reservation cancelled or invalid',
  198: 'request data truncated',
  199: 'request data length invalid',
  200: 'request data field length limit exceeded',
  201: 'parameter out of range',
  204: 'invalid data field in request',
  205: 'command illegal for this sensor or record type',
  206: 'response could not be provided',
  207: 'duplicated request',
  212: 'insufficient privilege level',
  213: 'command not supported in present state',
  214: 'command disabled',
  255: 'unspecified error',
};

export function describeCompletionCode(cc: number): string {
  return `completion code 0x${hex2(cc)} (${COMPLETION_CODES[cc] ?? 'unknown'})`;
}

export function describeRmcppStatus(status: number): string {
  return `status 0x${hex2(status)} (${RMCPP_STATUS[status] ?? 'unknown'})`;
}

export function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

// ---------------------------------------------------------------------------------------------
// Cipher suites

export type HashName = 'sha1' | 'sha256';

export interface CipherSuite {
  id: number;
  /** Authentication algorithm number (Open Session), and the RAKP hash; null for RAKP-none. */
  authAlg: number;
  authHash: HashName | null;
  /** Integrity algorithm number; authCodeLen = truncated HMAC length, 0 for none. */
  integAlg: number;
  integHash: HashName | null;
  authCodeLen: number;
  /** Confidentiality algorithm number; true = AES-CBC-128. */
  confAlg: number;
  aes: boolean;
  /** Length of the full RAKP2/RAKP3 HMAC and of SIK/K1/K2. */
  keyLen: number;
  /** Length of the RAKP4 integrity check value. */
  icvLen: number;
}

export const CIPHER_SUITES: Record<0 | 3 | 17, CipherSuite> = {
  0: {
    id: 0,
    authAlg: 0,
    authHash: null,
    integAlg: 0,
    integHash: null,
    authCodeLen: 0,
    confAlg: 0,
    aes: false,
    keyLen: 0,
    icvLen: 0,
  },
  3: {
    id: 3,
    authAlg: 1,
    authHash: 'sha1',
    integAlg: 1,
    integHash: 'sha1',
    authCodeLen: 12,
    confAlg: 1,
    aes: true,
    keyLen: 20,
    icvLen: 12,
  },
  17: {
    id: 17,
    authAlg: 3,
    authHash: 'sha256',
    integAlg: 4,
    integHash: 'sha256',
    authCodeLen: 16,
    confAlg: 1,
    aes: true,
    keyLen: 32,
    icvLen: 16,
  },
};

export function cipherSuite(id: number): CipherSuite {
  const s = (CIPHER_SUITES as Record<number, CipherSuite>)[id];
  if (!s) throw new CodecError(`cipher suite ${id} is not supported (supported: 3, 17; 0 only when allowed)`);
  return s;
}

// ---------------------------------------------------------------------------------------------
// IPMI message (inside payload type 0, and inside v1.5 sessions)

export function checksum(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum = (sum + (bytes[i] ?? 0)) & 0xff;
  return (0x100 - sum) & 0xff;
}

export interface IpmiRequest {
  netFn: number;
  cmd: number;
  rqSeq: number;
  data: Uint8Array;
  rsAddr?: number;
  rqAddr?: number;
}

export function encodeRequest(r: IpmiRequest): Buffer {
  const rsAddr = r.rsAddr ?? BMC_ADDR;
  const rqAddr = r.rqAddr ?? CONSOLE_ADDR;
  const b = Buffer.alloc(7 + r.data.length);
  b[0] = rsAddr;
  b[1] = (r.netFn << 2) & 0xfc;
  b[2] = checksum(b, 0, 2);
  b[3] = rqAddr;
  b[4] = (r.rqSeq & 0x3f) << 2;
  b[5] = r.cmd;
  Buffer.from(r.data).copy(b, 6);
  b[b.length - 1] = checksum(b, 3, b.length - 1);
  return b;
}

export interface IpmiResponse {
  netFn: number;
  cmd: number;
  rqSeq: number;
  cc: number;
  data: Buffer;
}

export function decodeResponse(b: Buffer): IpmiResponse {
  if (b.length < 8) throw new CodecError(`IPMI response too short (${b.length} bytes, need 8)`);
  if (checksum(b, 0, 2) !== b[2]) throw new CodecError('IPMI response header checksum mismatch');
  if (checksum(b, 3, b.length - 1) !== b[b.length - 1]) throw new CodecError('IPMI response data checksum mismatch');
  return {
    netFn: (b[1] as number) >> 2,
    rqSeq: (b[4] as number) >> 2,
    cmd: b[5] as number,
    cc: b[6] as number,
    data: Buffer.from(b.subarray(7, b.length - 1)),
  };
}

// ---------------------------------------------------------------------------------------------
// RMCP+ (IPMI v2.0) session packet

export interface V2Header {
  encrypted: boolean;
  authenticated: boolean;
  payloadType: number;
  sessionId: number;
  seq: number;
}

export interface V2Packet extends V2Header {
  /** Payload field as on the wire (IV + ciphertext when encrypted). */
  payload: Buffer;
  /** Bytes covered by the AuthCode (auth type byte through next header); empty if unauthenticated. */
  signed: Buffer;
  authCode: Buffer;
}

export interface V2Keys {
  suite: CipherSuite;
  /** Integrity key K1 (full length). */
  k1: Buffer;
  /** AES key: K2[0..15]. */
  aesKey: Buffer;
}

/** Encodes a session-layer packet. With keys and an in-session packet, encrypts and signs. */
export function encodeV2(h: V2Header, payload: Buffer, keys?: V2Keys, iv?: Buffer): Buffer {
  let body = payload;
  if (h.encrypted) {
    if (!keys?.suite.aes) throw new CodecError('encrypted packet without an AES key');
    body = aesEncrypt(keys.aesKey, payload, iv ?? randomBytes(16));
  }
  const head = Buffer.alloc(16);
  RMCP_HEADER.copy(head, 0);
  head[4] = AUTH_TYPE_RMCPP;
  head[5] = (h.encrypted ? 0x80 : 0) | (h.authenticated ? 0x40 : 0) | (h.payloadType & 0x3f);
  head.writeUInt32LE(h.sessionId >>> 0, 6);
  head.writeUInt32LE(h.seq >>> 0, 10);
  head.writeUInt16LE(body.length, 14);
  if (!h.authenticated) return Buffer.concat([head, body]);
  if (!keys || keys.suite.authCodeLen === 0 || !keys.suite.integHash) {
    throw new CodecError('authenticated packet without an integrity key');
  }
  const coveredLen = 12 + body.length; // auth type byte .. end of payload
  const padLen = (4 - ((coveredLen + 2) % 4)) % 4;
  const trailer = Buffer.alloc(padLen + 2, 0xff);
  trailer[padLen] = padLen;
  trailer[padLen + 1] = 0x07;
  const packet = Buffer.concat([head, body, trailer]);
  const code = integrityCode(keys.suite, keys.k1, packet.subarray(4));
  return Buffer.concat([packet, code]);
}

/** The AuthCode of an integrity trailer over `signed` (auth type byte through next header). */
export function integrityCode(suite: CipherSuite, k1: Buffer, signed: Buffer): Buffer {
  if (!suite.integHash) throw new CodecError('cipher suite has no integrity algorithm');
  return createHmac(suite.integHash, k1).update(signed).digest().subarray(0, suite.authCodeLen);
}

/**
 * Decodes the RMCP and RMCP+ session header and splits off the trailer. `authCodeLen` is the
 * negotiated integrity length (needed only for authenticated packets). Does not verify or decrypt.
 */
export function decodeV2(b: Buffer, authCodeLen: number): V2Packet {
  if (b.length < 16) throw new CodecError(`RMCP+ packet truncated (${b.length} bytes, header needs 16)`);
  checkRmcpHeader(b);
  if (b[4] !== AUTH_TYPE_RMCPP) throw new CodecError(`auth type 0x${hex2(b[4] as number)} is not RMCP+ (0x06)`);
  const pt = b[5] as number;
  const payloadType = pt & 0x3f;
  if (payloadType === 0x02) throw new CodecError('OEM explicit payloads are not supported');
  const h: V2Header = {
    encrypted: (pt & 0x80) !== 0,
    authenticated: (pt & 0x40) !== 0,
    payloadType,
    sessionId: b.readUInt32LE(6),
    seq: b.readUInt32LE(10),
  };
  const len = b.readUInt16LE(14);
  if (16 + len > b.length)
    throw new CodecError(`RMCP+ payload truncated (length field ${len}, ${b.length - 16} present)`);
  const payload = Buffer.from(b.subarray(16, 16 + len));
  if (!h.authenticated) {
    if (16 + len !== b.length) throw new CodecError(`RMCP+ packet has ${b.length - 16 - len} trailing bytes`);
    return { ...h, payload, signed: Buffer.alloc(0), authCode: Buffer.alloc(0) };
  }
  if (authCodeLen <= 0) throw new CodecError('authenticated packet outside an integrity-protected session');
  const end = b.length - authCodeLen;
  if (end < 16 + len + 2) throw new CodecError('RMCP+ integrity trailer truncated');
  const next = b[end - 1];
  const padLen = b[end - 2] as number;
  if (next !== 0x07) throw new CodecError(`RMCP+ trailer next header 0x${hex2(next as number)} is not 0x07`);
  if (16 + len + padLen + 2 !== end) throw new CodecError('RMCP+ integrity pad length does not match the packet size');
  for (let i = 16 + len; i < 16 + len + padLen; i++) {
    if (b[i] !== 0xff) throw new CodecError('RMCP+ integrity pad byte is not 0xFF');
  }
  return { ...h, payload, signed: Buffer.from(b.subarray(4, end)), authCode: Buffer.from(b.subarray(end)) };
}

export function checkRmcpHeader(b: Buffer): void {
  if (b.length < 4) throw new CodecError('RMCP header truncated');
  if (b[0] !== 0x06) throw new CodecError(`RMCP version 0x${hex2(b[0] as number)} is not 0x06`);
  if (b[3] !== 0x07) throw new CodecError(`RMCP class 0x${hex2(b[3] as number)} is not IPMI (0x07)`);
}

/** Verifies the integrity trailer (constant time). */
export function verifyIntegrity(p: V2Packet, keys: V2Keys): boolean {
  if (!p.authenticated) return false;
  const want = integrityCode(keys.suite, keys.k1, p.signed);
  return want.length === p.authCode.length && timingSafeEqual(want, p.authCode);
}

// ---------------------------------------------------------------------------------------------
// AES-CBC-128 confidentiality (pad 01 02 .. N, then N; not PKCS#7)

export function aesEncrypt(key: Buffer, data: Buffer, iv: Buffer): Buffer {
  const n = (16 - ((data.length + 1) % 16)) % 16;
  const pad = Buffer.alloc(n + 1);
  for (let i = 0; i < n; i++) pad[i] = i + 1;
  pad[n] = n;
  const c = createCipheriv('aes-128-cbc', key, iv);
  c.setAutoPadding(false);
  return Buffer.concat([iv, c.update(Buffer.concat([data, pad])), c.final()]);
}

export function aesDecrypt(key: Buffer, field: Buffer): Buffer {
  if (field.length < 32 || field.length % 16 !== 0) {
    throw new CodecError(`encrypted payload length ${field.length} is not IV + whole AES blocks`);
  }
  const d = createDecipheriv('aes-128-cbc', key, field.subarray(0, 16));
  d.setAutoPadding(false);
  const plain = Buffer.concat([d.update(field.subarray(16)), d.final()]);
  const n = plain[plain.length - 1] as number;
  if (n > 15 || n + 1 > plain.length) throw new CodecError(`confidentiality pad length ${n} is invalid`);
  for (let i = 0; i < n; i++) {
    if (plain[plain.length - 1 - n + i] !== i + 1) throw new CodecError('confidentiality pad bytes are not 1..N');
  }
  return plain.subarray(0, plain.length - 1 - n);
}

// ---------------------------------------------------------------------------------------------
// Open Session and RAKP messages

export interface OpenSessionRequest {
  tag: number;
  /** Requested maximum privilege (0 = highest matching the proposed algorithms). */
  privilege: number;
  consoleSid: number;
  suite: CipherSuite;
}

/** One algorithm payload record of Open Session (type 0 auth, 1 integrity, 2 confidentiality). */
export function algRecord(type: number, alg: number): Buffer {
  return Buffer.from([type, 0, 0, 0x08, alg & 0x3f, 0, 0, 0]);
}

export function encodeOpenSessionRequest(r: OpenSessionRequest): Buffer {
  const head = Buffer.alloc(8);
  head[0] = r.tag;
  head[1] = r.privilege & 0x0f;
  head.writeUInt32LE(r.consoleSid >>> 0, 4);
  return Buffer.concat([
    head,
    algRecord(0, r.suite.authAlg),
    algRecord(1, r.suite.integAlg),
    algRecord(2, r.suite.confAlg),
  ]);
}

export interface OpenSessionResponse {
  tag: number;
  status: number;
  maxPrivilege: number;
  consoleSid: number;
  bmcSid: number;
  authAlg: number;
  integAlg: number;
  confAlg: number;
}

export function decodeOpenSessionResponse(b: Buffer): OpenSessionResponse {
  if (b.length < 8) throw new CodecError(`Open Session Response truncated (${b.length} bytes, need 8)`);
  const status = b[1] as number;
  const base = { tag: b[0] as number, status, maxPrivilege: (b[2] as number) & 0x0f, consoleSid: b.readUInt32LE(4) };
  if (status !== 0) return { ...base, bmcSid: 0, authAlg: -1, integAlg: -1, confAlg: -1 };
  if (b.length < 36) throw new CodecError(`Open Session Response truncated (${b.length} bytes, need 36)`);
  return {
    ...base,
    bmcSid: b.readUInt32LE(8),
    authAlg: (b[16] as number) & 0x3f,
    integAlg: (b[24] as number) & 0x3f,
    confAlg: (b[32] as number) & 0x3f,
  };
}

export interface Rakp1 {
  tag: number;
  bmcSid: number;
  rm: Buffer;
  /** The whole ROLEm byte (privilege | 0x10 name-only lookup). */
  role: number;
  username: Buffer;
}

export function encodeRakp1(r: Rakp1): Buffer {
  if (r.rm.length !== 16) throw new CodecError('RAKP1 Rm must be 16 bytes');
  if (r.username.length > 16) throw new CodecError('user name longer than 16 bytes');
  const b = Buffer.alloc(28 + r.username.length);
  b[0] = r.tag;
  b.writeUInt32LE(r.bmcSid >>> 0, 4);
  r.rm.copy(b, 8);
  b[24] = r.role;
  b[27] = r.username.length;
  r.username.copy(b, 28);
  return b;
}

export interface Rakp2 {
  tag: number;
  status: number;
  consoleSid: number;
  rc: Buffer;
  guid: Buffer;
  authCode: Buffer;
}

export function decodeRakp2(b: Buffer, authLen: number): Rakp2 {
  if (b.length < 8) throw new CodecError(`RAKP2 truncated (${b.length} bytes, need 8)`);
  const status = b[1] as number;
  const base = { tag: b[0] as number, status, consoleSid: b.readUInt32LE(4) };
  const empty = Buffer.alloc(0);
  if (status !== 0) return { ...base, rc: empty, guid: empty, authCode: empty };
  if (b.length < 40 + authLen) throw new CodecError(`RAKP2 truncated (${b.length} bytes, need ${40 + authLen})`);
  return {
    ...base,
    rc: Buffer.from(b.subarray(8, 24)),
    guid: Buffer.from(b.subarray(24, 40)),
    authCode: Buffer.from(b.subarray(40, 40 + authLen)),
  };
}

export interface Rakp3 {
  tag: number;
  status: number;
  bmcSid: number;
  authCode: Buffer;
}

export function encodeRakp3(r: Rakp3): Buffer {
  const head = Buffer.alloc(8);
  head[0] = r.tag;
  head[1] = r.status;
  head.writeUInt32LE(r.bmcSid >>> 0, 4);
  return Buffer.concat([head, r.authCode]);
}

export interface Rakp4 {
  tag: number;
  status: number;
  consoleSid: number;
  icv: Buffer;
}

export function decodeRakp4(b: Buffer, icvLen: number): Rakp4 {
  if (b.length < 8) throw new CodecError(`RAKP4 truncated (${b.length} bytes, need 8)`);
  const status = b[1] as number;
  if (status === 0 && b.length < 8 + icvLen) throw new CodecError(`RAKP4 truncated (${b.length} bytes)`);
  return {
    tag: b[0] as number,
    status,
    consoleSid: b.readUInt32LE(4),
    icv: Buffer.from(b.subarray(8, 8 + (status === 0 ? icvLen : 0))),
  };
}

// ---------------------------------------------------------------------------------------------
// RAKP key exchange cryptography

export interface RakpInputs {
  consoleSid: number;
  bmcSid: number;
  rm: Buffer;
  rc: Buffer;
  guid: Buffer;
  role: number;
  username: Buffer;
}

function le32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0, 0);
  return b;
}

function hmac(hash: HashName, key: Buffer, ...parts: Buffer[]): Buffer {
  const h = createHmac(hash, key);
  for (const p of parts) h.update(p);
  return h.digest();
}

function nameTail(role: number, username: Buffer): Buffer {
  return Buffer.concat([Buffer.from([role, username.length]), username]);
}

/** RAKP2 key exchange auth code, keyed with the user password (Kuid). */
export function rakp2AuthCode(hash: HashName, kuid: Buffer, i: RakpInputs): Buffer {
  return hmac(hash, kuid, le32(i.consoleSid), le32(i.bmcSid), i.rm, i.rc, i.guid, nameTail(i.role, i.username));
}

/** RAKP3 key exchange auth code, keyed with Kuid. */
export function rakp3AuthCode(
  hash: HashName,
  kuid: Buffer,
  i: Pick<RakpInputs, 'rc' | 'consoleSid' | 'role' | 'username'>,
): Buffer {
  return hmac(hash, kuid, i.rc, le32(i.consoleSid), nameTail(i.role, i.username));
}

/** Session Integrity Key, keyed with K_G when the BMC has one, else with Kuid. */
export function sessionIntegrityKey(
  hash: HashName,
  kgOrKuid: Buffer,
  i: Pick<RakpInputs, 'rm' | 'rc' | 'role' | 'username'>,
): Buffer {
  return hmac(hash, kgOrKuid, i.rm, i.rc, nameTail(i.role, i.username));
}

/**
 * K1 (integrity) and K2 (AES key source). The constant is 20 bytes for every suite, SHA-256
 * included: that is what ipmitool and OpenBMC do, and a 32-byte constant breaks every packet.
 */
export function deriveKeys(hash: HashName, sik: Buffer): { k1: Buffer; k2: Buffer } {
  return { k1: hmac(hash, sik, Buffer.alloc(20, 0x01)), k2: hmac(hash, sik, Buffer.alloc(20, 0x02)) };
}

/** RAKP4 integrity check value, truncated to the suite's ICV length. */
export function rakp4Icv(suite: CipherSuite, sik: Buffer, i: Pick<RakpInputs, 'rm' | 'bmcSid' | 'guid'>): Buffer {
  if (!suite.authHash) return Buffer.alloc(0);
  return hmac(suite.authHash, sik, i.rm, le32(i.bmcSid), i.guid).subarray(0, suite.icvLen);
}

export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

// ---------------------------------------------------------------------------------------------
// IPMI v1.5 session packets

export interface V15Header {
  authType: number;
  seq: number;
  sessionId: number;
}

/** 16-byte NUL-padded password field of IPMI 1.5. */
export function password16(password: Buffer): Buffer {
  if (password.length > 16) throw new CodecError('IPMI 1.5 passwords are at most 16 bytes');
  const b = Buffer.alloc(16);
  password.copy(b);
  return b;
}

/** MD5 AuthCode: MD5(password16 | session ID | IPMI message | session seq | password16). */
export function md5AuthCode(password: Buffer, sessionId: number, seq: number, message: Buffer): Buffer {
  const pw = password16(password);
  return createHash('md5').update(pw).update(le32(sessionId)).update(message).update(le32(seq)).update(pw).digest();
}

export function encodeV15(h: V15Header, message: Buffer, password?: Buffer): Buffer {
  const head = Buffer.alloc(13);
  RMCP_HEADER.copy(head, 0);
  head[4] = h.authType;
  head.writeUInt32LE(h.seq >>> 0, 5);
  head.writeUInt32LE(h.sessionId >>> 0, 9);
  let auth: Buffer = Buffer.alloc(0);
  if (h.authType === AUTH_TYPE_MD5) {
    if (!password) throw new CodecError('MD5 packet without a password');
    auth = md5AuthCode(password, h.sessionId, h.seq, message);
  } else if (h.authType === AUTH_TYPE_STRAIGHT) {
    if (!password) throw new CodecError('straight-password packet without a password');
    auth = password16(password);
  } else if (h.authType !== AUTH_TYPE_NONE) {
    throw new CodecError(`IPMI 1.5 auth type 0x${hex2(h.authType)} is not supported`);
  }
  return Buffer.concat([head, auth, Buffer.from([message.length]), message]);
}

export interface V15Packet extends V15Header {
  authCode: Buffer;
  message: Buffer;
}

export function decodeV15(b: Buffer): V15Packet {
  if (b.length < 14) throw new CodecError(`IPMI 1.5 packet truncated (${b.length} bytes)`);
  checkRmcpHeader(b);
  const authType = b[4] as number;
  if (authType === AUTH_TYPE_RMCPP) throw new CodecError('packet is RMCP+, not IPMI 1.5');
  const seq = b.readUInt32LE(5);
  const sessionId = b.readUInt32LE(9);
  let off = 13;
  let authCode = Buffer.alloc(0);
  if (authType !== AUTH_TYPE_NONE) {
    if (b.length < off + 17) throw new CodecError('IPMI 1.5 AuthCode truncated');
    authCode = Buffer.from(b.subarray(off, off + 16));
    off += 16;
  }
  const len = b[off] as number;
  off += 1;
  if (b.length < off + len) throw new CodecError(`IPMI 1.5 message truncated (length field ${len})`);
  return { authType, seq, sessionId, authCode, message: Buffer.from(b.subarray(off, off + len)) };
}

// ---------------------------------------------------------------------------------------------
// Command payloads

export interface ChannelAuthCaps {
  channel: number;
  /** Bit mask of IPMI 1.5 auth types (bit0 none, bit1 MD2, bit2 MD5, bit4 straight, bit5 OEM). */
  authTypes: number;
  kgSet: boolean;
  perMessageAuthDisabled: boolean;
  userLevelAuthDisabled: boolean;
  nonNullUsers: boolean;
  nullUsers: boolean;
  anonymous: boolean;
  ipmi20: boolean;
  ipmi15: boolean;
}

export function decodeChannelAuthCaps(data: Buffer): ChannelAuthCaps {
  if (data.length < 4) throw new CodecError(`Get Channel Auth Capabilities reply too short (${data.length} bytes)`);
  const authTypes = data[1] as number;
  const b3 = data[2] as number;
  const b4 = data[3] as number;
  const ext = (authTypes & 0x80) !== 0;
  return {
    channel: data[0] as number,
    authTypes: authTypes & 0x3f,
    kgSet: (b3 & 0x20) !== 0,
    perMessageAuthDisabled: (b3 & 0x10) !== 0,
    userLevelAuthDisabled: (b3 & 0x08) !== 0,
    nonNullUsers: (b3 & 0x04) !== 0,
    nullUsers: (b3 & 0x02) !== 0,
    anonymous: (b3 & 0x01) !== 0,
    ipmi20: ext && (b4 & 0x02) !== 0,
    ipmi15: !ext || (b4 & 0x01) !== 0,
  };
}

export interface ChassisStatus {
  powerOn: boolean;
  overload: boolean;
  interlock: boolean;
  mainPowerFault: boolean;
  powerControlFault: boolean;
  restorePolicy: 'always-off' | 'previous' | 'always-on' | 'unknown';
  lastPowerEvent: number;
  misc: number;
}

export function decodeChassisStatus(data: Buffer): ChassisStatus {
  if (data.length < 3) throw new CodecError(`Get Chassis Status reply too short (${data.length} data bytes, need 3)`);
  const b1 = data[0] as number;
  const policies = ['always-off', 'previous', 'always-on', 'unknown'] as const;
  return {
    powerOn: (b1 & 0x01) !== 0,
    overload: (b1 & 0x02) !== 0,
    interlock: (b1 & 0x04) !== 0,
    mainPowerFault: (b1 & 0x08) !== 0,
    powerControlFault: (b1 & 0x10) !== 0,
    restorePolicy: policies[(b1 >> 5) & 0x03] as ChassisStatus['restorePolicy'],
    lastPowerEvent: data[1] as number,
    misc: data[2] as number,
  };
}

/** What protocol to speak after Get Channel Authentication Capabilities. */
export type ProtocolChoice = { protocol: 'rmcpp' } | { protocol: 'ipmi15-md5' } | { protocol: 'none'; reason: string };

/**
 * Decision table for the session protocol:
 *   BMC offers RMCP+                         -> RMCP+ (always preferred)
 *   no RMCP+, ipmi15 allowed, MD5 offered    -> IPMI 1.5 with MD5
 *   no RMCP+, ipmi15 allowed, no MD5         -> refuse (none/straight/MD2 expose the password or nothing)
 *   no RMCP+, ipmi15 not allowed             -> refuse, naming the ipmi15 key
 */
export function chooseProtocol(caps: ChannelAuthCaps, allowIpmi15: boolean): ProtocolChoice {
  if (caps.ipmi20) return { protocol: 'rmcpp' };
  if (!allowIpmi15) {
    return {
      protocol: 'none',
      reason: 'the BMC does not offer IPMI 2.0 (RMCP+); set ipmi15: true to allow IPMI 1.5 MD5',
    };
  }
  if (caps.authTypes & 0x04) return { protocol: 'ipmi15-md5' };
  return {
    protocol: 'none',
    reason: 'the BMC offers IPMI 1.5 without MD5 (only none/straight password/MD2), which is refused',
  };
}
