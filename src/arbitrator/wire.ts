/**
 * booth wire codec (pure, byte-exact). Every integer is a big-endian uint32. A member message is
 * a 48-byte header, a 76-byte ticket body and, when an authfile is configured, a 28-byte trailer
 * (hid = 2, 20-byte HMAC-SHA1, 4 zero bytes): 152 bytes with auth, 124 without. Text replies
 * (`booth list`, `booth peers`) are header + trailer + text, and their MAC covers the header only.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import * as zlib from 'node:zlib';

export const MAGIC = 0x5f1ba08c;
export const VERSION = 0x00010003;
export const HEADER_LEN = 48;
export const TICKET_NAME_LEN = 64;
export const BODY_LEN = TICKET_NAME_LEN + 12;
export const AUTH_LEN = 28;
export const HMAC_HID_SHA1 = 2;
/** boothd's receive buffer: nothing longer is ever valid. */
export const MAX_MSG_LEN = 1024;
/** Leader value meaning "explicitly nobody" (after a revoke); also sent when the leader is unknown. */
export const NO_ONE = 0xffffffff;

export const OPT_AUTH = 1;
export const OPT_ATTR = 4;

/** A four-character code as boothd builds it: the ASCII bytes in wire order. */
export function code(s: string): number {
  if (s.length !== 4) throw new Error(`four-character code expected, got "${s}"`);
  return ((s.charCodeAt(0) << 24) | (s.charCodeAt(1) << 16) | (s.charCodeAt(2) << 8) | s.charCodeAt(3)) >>> 0;
}

/** The printable form of a code (non-printable bytes as "."), for logs and tests. */
export function codeName(n: number): string {
  if (n === 0) return '0';
  let s = '';
  for (const shift of [24, 16, 8, 0]) {
    const b = (n >>> shift) & 0xff;
    s += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
  }
  return s;
}

export const CMD = {
  Stat: code('Stat'),
  MIdx: code('MIdx'),
  RVot: code('RVot'),
  VtFr: code('VtFr'),
  HrtB: code('HrtB'),
  Ack: code('Ack.'),
  UpdE: code('UpdE'),
  Revk: code('Revk'),
  RJC: code('RJC!'),
  CLst: code('CLst'),
  CGnt: code('CGnt'),
  CRvk: code('CRvk'),
  Peer: code('Peer'),
  Rslt: code('Rslt'),
  RLst: code('RLst'),
} as const;

export const RESULT = {
  OK: 0,
  InvalidArg: code('IArg'),
  Auth: code('Auth'),
  TermOutdated: code('TOdt'),
  TermStillValid: code('TVld'),
  YouOutdated: code('Outd'),
} as const;

export const REASON = {
  JustSo: 0,
  Again: code('Aaaa'),
  TicketLost: code('TLst'),
  Reacquire: code('Racq'),
  Admin: code('Admn'),
  LocalFail: code('LocF'),
  StepDown: code('Spdn'),
  Split: code('Splt'),
} as const;

export const MEMBER_CMDS: ReadonlySet<number> = new Set([
  CMD.Stat,
  CMD.MIdx,
  CMD.RVot,
  CMD.VtFr,
  CMD.HrtB,
  CMD.Ack,
  CMD.UpdE,
  CMD.Revk,
  CMD.RJC,
]);

export interface Header {
  opts: number;
  secs: number;
  usecs: number;
  magic: number;
  version: number;
  from: number;
  length: number;
  cmd: number;
  request: number;
  options: number;
  reason: number;
  result: number;
}

export interface TicketBody {
  /** Ticket name (bytes before the NUL). */
  name: string;
  leader: number;
  term: number;
  /** term_valid_for exactly as on the wire (seconds or milliseconds, see timeMultiplier). */
  validFor: number;
}

export interface Message {
  header: Header;
  ticket: TicketBody;
}

/** The counter bucket of a malformed message (each is also a drop reason of the arbitrator). */
export type WireErrorKind = 'short' | 'long' | 'magic' | 'version' | 'length' | 'name' | 'hid' | 'hmac';

export class WireError extends Error {
  constructor(
    readonly kind: WireErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export function readHeader(buf: Uint8Array): Header {
  if (buf.length < HEADER_LEN) throw new WireError('short', `${buf.length} bytes is shorter than the 48-byte header`);
  const v = new DataView(buf.buffer, buf.byteOffset, HEADER_LEN);
  const u = (o: number) => v.getUint32(o, false);
  return {
    opts: u(0),
    secs: u(4),
    usecs: u(8),
    magic: u(12),
    version: u(16),
    from: u(20),
    length: u(24),
    cmd: u(28),
    request: u(32),
    options: u(36),
    reason: u(40),
    result: u(44),
  };
}

/** Checks magic, version and the length field against the bytes received; throws WireError. */
export function checkHeader(h: Header, received: number, auth: boolean): void {
  if (h.magic !== MAGIC) throw new WireError('magic', `magic 0x${hex(h.magic)} is not 0x${hex(MAGIC)}`);
  if (h.version !== VERSION) throw new WireError('version', `version 0x${hex(h.version)} is not 0x${hex(VERSION)}`);
  const min = HEADER_LEN + (auth ? AUTH_LEN : 0);
  if (h.length < min) throw new WireError('length', `length field ${h.length} is below ${min}`);
  if (h.length > MAX_MSG_LEN) throw new WireError('long', `length field ${h.length} exceeds ${MAX_MSG_LEN}`);
  if (h.length !== received)
    throw new WireError('length', `length field ${h.length} does not match the ${received} bytes received`);
}

/** Bytes of a member (ticket) message with or without the auth trailer. */
export function ticketMsgLen(auth: boolean): number {
  return HEADER_LEN + BODY_LEN + (auth ? AUTH_LEN : 0);
}

export function readTicket(buf: Uint8Array): TicketBody {
  if (buf.length < HEADER_LEN + BODY_LEN)
    throw new WireError('short', `${buf.length} bytes is shorter than a ticket message (124)`);
  const nameBytes = buf.subarray(HEADER_LEN, HEADER_LEN + TICKET_NAME_LEN);
  const nul = nameBytes.indexOf(0);
  if (nul < 0) throw new WireError('name', 'ticket name is not NUL-terminated within 64 bytes');
  const v = new DataView(buf.buffer, buf.byteOffset + HEADER_LEN + TICKET_NAME_LEN, 12);
  return {
    name: Buffer.from(nameBytes.subarray(0, nul)).toString('latin1'),
    leader: v.getUint32(0, false),
    term: v.getUint32(4, false),
    validFor: v.getUint32(8, false),
  };
}

export function writeHeader(buf: Buffer, h: Header): void {
  const vals = [
    h.opts,
    h.secs,
    h.usecs,
    h.magic,
    h.version,
    h.from,
    h.length,
    h.cmd,
    h.request,
    h.options,
    h.reason,
    h.result,
  ];
  vals.forEach((x, i) => {
    buf.writeUInt32BE(x >>> 0, i * 4);
  });
}

/** Key and timestamp source of a sender; key undefined = no authfile. */
export interface Signer {
  key: Buffer | undefined;
  /** Wall clock in microseconds (injectable for tests). */
  nowUs(): bigint;
}

export interface OutHeader {
  from: number;
  cmd: number;
  request?: number;
  options?: number;
  reason?: number;
  result?: number;
}

function fillHeader(buf: Buffer, o: OutHeader, signer: Signer): void {
  const auth = signer.key !== undefined;
  let secs = 0;
  let usecs = 0;
  if (auth) {
    const us = signer.nowUs();
    secs = Number(us / 1_000_000n);
    usecs = Number(us % 1_000_000n);
  }
  writeHeader(buf, {
    opts: auth ? OPT_AUTH : 0,
    secs,
    usecs,
    magic: MAGIC,
    version: VERSION,
    from: o.from,
    length: buf.length,
    cmd: o.cmd,
    request: o.request ?? 0,
    options: o.options ?? 0,
    reason: o.reason ?? 0,
    result: o.result ?? 0,
  });
}

/** MAC over bytes [0, macEnd) stored in the 28-byte trailer at macEnd. */
function sign(buf: Buffer, macEnd: number, key: Buffer): void {
  buf.writeUInt32BE(HMAC_HID_SHA1, macEnd);
  createHmac('sha1', key)
    .update(buf.subarray(0, macEnd))
    .digest()
    .copy(buf, macEnd + 4);
  buf.fill(0, macEnd + 24, macEnd + 28);
}

export function encodeTicketMsg(o: OutHeader, t: TicketBody, signer: Signer): Buffer {
  const auth = signer.key !== undefined;
  const buf = Buffer.alloc(ticketMsgLen(auth));
  fillHeader(buf, o, signer);
  const name = Buffer.from(t.name, 'latin1');
  if (name.length >= TICKET_NAME_LEN) throw new Error(`ticket name "${t.name}" is 64 bytes or longer`);
  name.copy(buf, HEADER_LEN);
  buf.writeUInt32BE(t.leader >>> 0, HEADER_LEN + TICKET_NAME_LEN);
  buf.writeUInt32BE(t.term >>> 0, HEADER_LEN + TICKET_NAME_LEN + 4);
  buf.writeUInt32BE(t.validFor >>> 0, HEADER_LEN + TICKET_NAME_LEN + 8);
  if (signer.key) sign(buf, HEADER_LEN + BODY_LEN, signer.key);
  return buf;
}

/** Header-only message (CL_RESULT errors): 76 bytes with auth, 48 without. */
export function encodeHeaderMsg(o: OutHeader, signer: Signer): Buffer {
  const auth = signer.key !== undefined;
  const buf = Buffer.alloc(HEADER_LEN + (auth ? AUTH_LEN : 0));
  fillHeader(buf, o, signer);
  if (signer.key) sign(buf, HEADER_LEN, signer.key);
  return buf;
}

/** CL_LIST reply: header (+ trailer whose MAC covers the header only) + ASCII text. */
export function encodeListReply(from: number, text: string, signer: Signer): Buffer {
  const auth = signer.key !== undefined;
  const body = Buffer.from(text, 'utf8');
  const headLen = HEADER_LEN + (auth ? AUTH_LEN : 0);
  const buf = Buffer.alloc(headLen + body.length);
  fillHeader(buf, { from, cmd: CMD.RLst }, signer);
  if (signer.key) sign(buf, HEADER_LEN, signer.key);
  body.copy(buf, headLen);
  return buf;
}

/**
 * Verifies the trailer of a message whose MAC covers bytes [0, macEnd): hid must be 2 and all 20
 * MAC bytes must match (constant time). Throws WireError("hid" | "hmac" | "short").
 */
export function verifyMac(buf: Uint8Array, macEnd: number, key: Buffer): void {
  if (buf.length < macEnd + AUTH_LEN) throw new WireError('short', 'message too short for the auth trailer');
  const hid = Buffer.from(buf.buffer, buf.byteOffset, buf.length).readUInt32BE(macEnd);
  if (hid !== HMAC_HID_SHA1) throw new WireError('hid', `hmac id ${hid} is not 2 (SHA-1)`);
  const want = createHmac('sha1', key).update(buf.subarray(0, macEnd)).digest();
  const got = Buffer.from(buf.subarray(macEnd + 4, macEnd + 24));
  if (!timingSafeEqual(want, got)) throw new WireError('hmac', 'HMAC-SHA1 does not match');
}

/** Verifies the MAC of a member/client message (it covers length - 28 bytes). */
export function verifyMessageMac(buf: Uint8Array, h: Header, key: Buffer): void {
  verifyMac(buf, h.length - AUTH_LEN, key);
}

/**
 * boothd's timestamp check (only with auth). A member packet passes when its (secs, usecs) is
 * newer than the last accepted one from that sender, or, failing that, when it is newer than
 * now - maxtimeskew: boothd's own timestamps are not monotonic, so an "older" stamp within the
 * window is normal. There is no upper bound. `last` undefined = first packet / client request.
 */
export function timestampOk(
  secs: number,
  usecs: number,
  last: { secs: number; usecs: number } | undefined,
  nowMs: number,
  maxTimeSkewS: number,
): { ok: boolean; older: boolean } {
  const newer = last !== undefined && (secs > last.secs || (secs === last.secs && usecs > last.usecs));
  if (newer) return { ok: true, older: false };
  const windowStartMs = nowMs - maxTimeSkewS * 1000;
  const stampMs = secs * 1000 + usecs / 1000;
  return { ok: stampMs > windowStartMs, older: last !== undefined };
}

/**
 * Site id: CRC-32 (zlib/IEEE) of the binary address in network order (4 bytes IPv4, 16 bytes
 * IPv6, ::ffff:a.b.c.d counts as IPv6), top bit cleared.
 */
export function siteId(address: string): number {
  return (crc32(addressBytes(address)) & 0x7fffffff) >>> 0;
}

const zlibCrc = (zlib as unknown as { crc32?: (data: Uint8Array) => number }).crc32;
let crcTable: Uint32Array | undefined;

export function crc32(data: Uint8Array): number {
  if (zlibCrc) return zlibCrc(data) >>> 0;
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (const b of data) c = (crcTable[(c ^ b) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Binary form of a numeric IPv4/IPv6 address; throws on anything else. */
export function addressBytes(address: string): Uint8Array {
  const v4 = parseIPv4(address);
  if (v4) return v4;
  const v6 = parseIPv6(address);
  if (v6) return v6;
  throw new Error(`"${address}" is not a numeric IPv4 or IPv6 address`);
}

function parseIPv4(s: string): Uint8Array | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const b = m.slice(1).map(Number);
  if (b.some((x) => x > 255)) return undefined;
  return Uint8Array.from(b);
}

function parseIPv6(input: string): Uint8Array | undefined {
  let s = input.replace(/%.*$/, '');
  const out = new Uint8Array(16);
  let tail: Uint8Array | undefined;
  const lastColon = s.lastIndexOf(':');
  if (lastColon >= 0 && s.slice(lastColon + 1).includes('.')) {
    tail = parseIPv4(s.slice(lastColon + 1));
    if (!tail) return undefined;
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const group = (part: string) => (part === '' ? [] : part.split(':'));
  const head = group(halves[0] as string);
  const rest = halves.length === 2 ? group(halves[1] as string) : [];
  const fill = 8 - head.length - rest.length;
  if (halves.length === 1 ? fill !== 0 : fill < 1) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? fill : 0).fill('0'), ...rest];
  for (let i = 0; i < 8; i++) {
    const g = groups[i] as string;
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    const n = Number.parseInt(g, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 0xff;
  }
  if (tail) out.set(tail, 12);
  return out;
}

export function hex(n: number): string {
  return (n >>> 0).toString(16).toUpperCase().padStart(8, '0');
}
