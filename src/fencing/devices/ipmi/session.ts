/**
 * IPMI sessions over a Link: Get Channel Authentication Capabilities, then either an RMCP+
 * session (Open Session, RAKP 1-4, AES-CBC-128 + HMAC integrity) or, when allowed, an IPMI 1.5
 * MD5 session (Get Session Challenge, Activate Session). Both expose `request()`, which matches
 * replies on (rqSeq, netFn+1, cmd), retransmits with the same rqSeq and a fresh session
 * sequence number, and drops anything that does not verify.
 *
 * `openSession()` returns an established session; the caller must `close()` it (client.ts does
 * that in a finally block). Secrets (password, K_G, SIK, K1, K2) never leave this module's
 * objects and are never logged.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { DriverError, type DriverErrorKind } from '../driver.js';
import {
  AUTH_TYPE_MD5,
  AUTH_TYPE_NONE,
  aesDecrypt,
  type ChannelAuthCaps,
  type CipherSuite,
  Cmd,
  chooseProtocol,
  cipherSuite,
  constantTimeEqual,
  decodeChannelAuthCaps,
  decodeOpenSessionResponse,
  decodeRakp2,
  decodeRakp4,
  decodeResponse,
  decodeV2,
  decodeV15,
  deriveKeys,
  describeCompletionCode,
  describeRmcppStatus,
  encodeOpenSessionRequest,
  encodeRakp1,
  encodeRakp3,
  encodeRequest,
  encodeV2,
  encodeV15,
  hex2,
  type IpmiResponse,
  md5AuthCode,
  NetFn,
  PayloadType,
  Privilege,
  type PrivilegeName,
  type RakpInputs,
  rakp2AuthCode,
  rakp3AuthCode,
  rakp4Icv,
  sessionIntegrityKey,
  type V2Keys,
  verifyIntegrity,
} from './codec.js';
import type { ExchangeOptions, Link } from './transport.js';

export interface SessionParams {
  device: string;
  username: string;
  password: Buffer;
  /** BMC key K_G, when the BMC has one configured. */
  kg?: Buffer | undefined;
  cipher: 0 | 3 | 17;
  allowCipherZero: boolean;
  privilege: Extract<PrivilegeName, 'operator' | 'administrator'>;
  /** Allow IPMI 1.5 (MD5 only) when the BMC does not offer RMCP+. */
  ipmi15: boolean;
  /** Force a protocol (tests, CLI diagnostics); default: decided from the BMC's capabilities. */
  forceProtocol?: 'rmcpp' | 'ipmi15-md5' | undefined;
  requestTimeoutMs: number;
  retries: number;
  log?: Logger | undefined;
}

export interface RequestOptions {
  what: string;
  /** false for non-idempotent requests (power cycle, reset): sent once, never retransmitted. */
  retransmit?: boolean;
  /** Total sends; default 1 + the configured retries. */
  tries?: number;
  signal?: AbortSignal | undefined;
}

export interface IpmiSession {
  readonly protocol: 'rmcpp' | 'ipmi15-md5';
  readonly cipher: number | null;
  request(netFn: number, cmd: number, data: Buffer, o: RequestOptions): Promise<IpmiResponse>;
  /** Sends Close Session; never throws. */
  close(signal?: AbortSignal): Promise<void>;
}

/** The BMC has no free session slot (RMCP+ status 0x01/0x0B); worth a retry after a pause. */
export class BmcBusyError extends DriverError {
  constructor(device: string, message: string) {
    super('refused', device, message);
  }
}

function fail(kind: DriverErrorKind, p: SessionParams, message: string): never {
  throw new DriverError(kind, p.device, message);
}

/**
 * Tries and timeout of one request. A request that must not be resent (cycle, reset, soft) is
 * sent once and waited for as long as all tries of a resendable one would take together.
 */
export function exchangeOptions(
  p: Pick<SessionParams, 'retries' | 'requestTimeoutMs'>,
  o: Pick<RequestOptions, 'retransmit' | 'tries' | 'signal'>,
): { tries: number; timeoutMs: number; signal?: AbortSignal | undefined } {
  if (o.retransmit === false) {
    let total = 0;
    for (let i = 0; i <= p.retries; i++) total += Math.min(p.requestTimeoutMs * 2 ** i, p.requestTimeoutMs * 8);
    return { tries: 1, timeoutMs: total, signal: o.signal };
  }
  return { tries: o.tries ?? p.retries + 1, timeoutMs: p.requestTimeoutMs, signal: o.signal };
}

function nextRqSeq(cur: number): number {
  return cur >= 63 ? 1 : cur + 1;
}

function nonZeroRandom32(): number {
  for (;;) {
    const n = randomBytes(4).readUInt32LE(0);
    if (n !== 0) return n;
  }
}

/** Matches a decoded IPMI response to the request that is waiting. */
function matches(r: IpmiResponse, netFn: number, cmd: number, rqSeq: number): boolean {
  return r.netFn === netFn + 1 && r.cmd === cmd && r.rqSeq === rqSeq;
}

/** Maps an RMCP+ status code in a handshake reply to an error kind. */
export function classifyRmcppStatus(status: number): DriverErrorKind {
  switch (status) {
    case 0x0d: // unauthorized name
    case 0x0f: // invalid integrity check value (our RAKP3 HMAC: wrong password or K_G)
    case 0x0e: // unauthorized GUID
      return 'auth';
    case 0x09: // invalid role
    case 0x0a: // unauthorized role or privilege
      return 'privilege';
    case 0x04: // invalid authentication algorithm
    case 0x05: // invalid integrity algorithm
    case 0x06:
    case 0x07:
    case 0x10: // invalid confidentiality algorithm
    case 0x11: // no cipher suite match
    case 0x0c: // invalid name length
      return 'config';
    default: // 0x01/0x0b out of sessions, 0x02/0x08 session vanished, others
      return 'refused';
  }
}

/**
 * Session-less Get Channel Authentication Capabilities (IPMI 1.5 framing, as every client
 * sends it). Asks for the IPMI 2.0 extended data first; a BMC that rejects that bit is asked
 * again without it.
 */
export async function getChannelAuthCaps(link: Link, p: SessionParams, signal?: AbortSignal): Promise<ChannelAuthCaps> {
  const priv = Privilege[p.privilege];
  let rqSeq = 0;
  for (const first of [0x8e, 0x0e]) {
    rqSeq = nextRqSeq(rqSeq);
    const seq = rqSeq;
    const msg = encodeRequest({
      netFn: NetFn.app,
      cmd: Cmd.getChannelAuthCaps,
      rqSeq: seq,
      data: Buffer.from([first, priv]),
    });
    const packet = encodeV15({ authType: AUTH_TYPE_NONE, seq: 0, sessionId: 0 }, msg);
    const rsp = await link.exchange(
      'Get Channel Authentication Capabilities',
      () => packet,
      (d) => {
        const v = decodeV15(d);
        const r = decodeResponse(v.message);
        if (!matches(r, NetFn.app, Cmd.getChannelAuthCaps, seq)) return link.drop('stale or unrelated reply');
        return r;
      },
      { tries: p.retries + 1, timeoutMs: p.requestTimeoutMs, signal },
    );
    if (rsp.cc === 0) {
      try {
        return decodeChannelAuthCaps(rsp.data);
      } catch (e) {
        fail('protocol', p, (e as Error).message);
      }
    }
    if (first === 0x0e)
      fail('refused', p, `Get Channel Authentication Capabilities: ${describeCompletionCode(rsp.cc)}`);
  }
  /* c8 ignore next */
  fail('protocol', p, 'unreachable');
}

/** Opens an authenticated session (RMCP+ or IPMI 1.5 MD5) on the link. */
export async function openSession(link: Link, p: SessionParams, signal?: AbortSignal): Promise<IpmiSession> {
  if (p.cipher === 0 && !p.allowCipherZero) {
    fail('config', p, 'cipher suite 0 (no authentication) is refused; set allow_cipher_zero: true only for a lab');
  }
  const caps = await getChannelAuthCaps(link, p, signal);
  const choice = p.forceProtocol ? { protocol: p.forceProtocol } : chooseProtocol(caps, p.ipmi15);
  if (choice.protocol === 'none') fail('config', p, choice.reason);
  if (choice.protocol === 'ipmi15-md5') {
    if (!(caps.authTypes & 0x04)) fail('config', p, 'the BMC does not offer IPMI 1.5 MD5 authentication');
    return openV15(link, p, signal);
  }
  if (caps.kgSet && !p.kg) fail('config', p, 'the BMC has a K_G (BMC key) set; configure kg_file');
  const s = new RmcppSession(link, p);
  await s.establish(signal);
  return s;
}

// ---------------------------------------------------------------------------------------------
// RMCP+

class RmcppSession implements IpmiSession {
  readonly protocol = 'rmcpp' as const;
  readonly cipher: number;
  private readonly suite: CipherSuite;
  private readonly consoleSid = nonZeroRandom32();
  private bmcSid = 0;
  private keys: V2Keys | undefined;
  private outSeq = 0;
  private rqSeq = 0;
  private readonly seenInbound = new Set<number>();
  private readonly tag = randomBytes(1)[0] as number;

  constructor(
    private readonly link: Link,
    private readonly p: SessionParams,
  ) {
    this.suite = cipherSuite(p.cipher);
    this.cipher = p.cipher;
  }

  async establish(signal?: AbortSignal): Promise<void> {
    const { p } = this;
    const x: ExchangeOptions = { tries: p.retries + 1, timeoutMs: p.requestTimeoutMs, signal };
    const username = Buffer.from(p.username, 'utf8');
    if (username.length > 16) fail('config', p, `user name "${p.username}" is longer than 16 bytes`);
    if (p.password.length > 20) fail('config', p, 'the password is longer than 20 bytes (IPMI 2.0 limit)');
    this.bmcSid = await this.openSessionExchange(x);
    const inputs = await this.rakp12(x, username);
    await this.rakp34(x, inputs);
  }

  /** Open Session: proposes exactly the configured suite; answers the BMC's session ID. */
  private async openSessionExchange(x: ExchangeOptions): Promise<number> {
    const { link, p, suite, tag, consoleSid } = this;
    // Open Session: propose exactly the configured suite.
    const open = encodeOpenSessionRequest({ tag, privilege: 0, consoleSid, suite });
    const osr = await link.exchange(
      'Open Session',
      () => this.handshakePacket(PayloadType.openSessionRequest, open),
      (d) => {
        const pk = decodeV2(d, 0);
        if (pk.payloadType !== PayloadType.openSessionResponse)
          return link.drop(`unexpected payload type 0x${hex2(pk.payloadType)}`);
        const r = decodeOpenSessionResponse(pk.payload);
        if (r.tag !== tag || r.consoleSid !== consoleSid) return link.drop('Open Session Response for another session');
        return r;
      },
      x,
    );
    if (osr.status === 0x01 || osr.status === 0x0b) {
      throw new BmcBusyError(
        p.device,
        `Open Session rejected: ${describeRmcppStatus(osr.status)} (all session slots in use)`,
      );
    }
    if (osr.status !== 0) {
      const kind = classifyRmcppStatus(osr.status);
      const hint = kind === 'config' ? ` (the BMC does not accept cipher suite ${suite.id})` : '';
      fail(kind, p, `Open Session rejected: ${describeRmcppStatus(osr.status)}${hint}`);
    }
    if (osr.authAlg !== suite.authAlg || osr.integAlg !== suite.integAlg || osr.confAlg !== suite.confAlg) {
      fail(
        'protocol',
        p,
        `Open Session Response chose other algorithms (${osr.authAlg}/${osr.integAlg}/${osr.confAlg}) than cipher suite ${suite.id}`,
      );
    }
    if (osr.bmcSid === 0) fail('protocol', p, 'Open Session Response carries BMC session ID 0');
    return osr.bmcSid;
  }

  /** RAKP 1 / 2: the BMC proves it knows the password (when the suite authenticates). */
  private async rakp12(x: ExchangeOptions, username: Buffer): Promise<RakpInputs> {
    const { link, p, suite, tag, consoleSid } = this;
    // RAKP 1 / 2
    const rm = randomBytes(16);
    const role = 0x10 | Privilege[p.privilege]; // name-only lookup, like ipmitool
    const rakp1 = encodeRakp1({ tag, bmcSid: this.bmcSid, rm, role, username });
    const hashLen = suite.authHash ? suite.keyLen : 0;
    const r2 = await link.exchange(
      'RAKP 1',
      () => this.handshakePacket(PayloadType.rakp1, rakp1),
      (d) => {
        const pk = decodeV2(d, 0);
        if (pk.payloadType !== PayloadType.rakp2) return link.drop(`unexpected payload type 0x${hex2(pk.payloadType)}`);
        const r = decodeRakp2(pk.payload, hashLen);
        if (r.tag !== tag || r.consoleSid !== consoleSid) return link.drop('RAKP 2 for another session');
        return r;
      },
      x,
    );
    if (r2.status !== 0) {
      const what = r2.status === 0x0d ? `unknown user "${p.username}"` : `RAKP 2 ${describeRmcppStatus(r2.status)}`;
      fail(classifyRmcppStatus(r2.status), p, `${what} (RAKP 2 status 0x${hex2(r2.status)})`);
    }
    const inputs: RakpInputs = { consoleSid, bmcSid: this.bmcSid, rm, rc: r2.rc, guid: r2.guid, role, username };
    if (suite.authHash) {
      const want = rakp2AuthCode(suite.authHash, p.password, inputs);
      if (!constantTimeEqual(want, r2.authCode)) {
        fail('auth', p, `wrong password for user "${p.username}" (the BMC's RAKP 2 HMAC does not match our password)`);
      }
    }
    return inputs;
  }

  /** RAKP 3 / 4: we prove it, the BMC confirms; the session keys are derived. */
  private async rakp34(x: ExchangeOptions, inputs: RakpInputs): Promise<void> {
    const { link, p, suite, tag, consoleSid } = this;
    // RAKP 3 / 4
    const rakp3 = encodeRakp3({
      tag,
      status: 0,
      bmcSid: this.bmcSid,
      authCode: suite.authHash ? rakp3AuthCode(suite.authHash, p.password, inputs) : Buffer.alloc(0),
    });
    const r4 = await link.exchange(
      'RAKP 3',
      () => this.handshakePacket(PayloadType.rakp3, rakp3),
      (d) => {
        const pk = decodeV2(d, 0);
        if (pk.payloadType !== PayloadType.rakp4) return link.drop(`unexpected payload type 0x${hex2(pk.payloadType)}`);
        const r = decodeRakp4(pk.payload, suite.icvLen);
        if (r.tag !== tag || r.consoleSid !== consoleSid) return link.drop('RAKP 4 for another session');
        return r;
      },
      x,
    );
    if (r4.status !== 0) {
      const what =
        r4.status === 0x0f
          ? `the BMC rejected our RAKP 3 for user "${p.username}" (wrong password or K_G)`
          : `RAKP 4 ${describeRmcppStatus(r4.status)}`;
      fail(classifyRmcppStatus(r4.status), p, `${what} (RAKP 4 status 0x${hex2(r4.status)})`);
    }
    if (suite.authHash) {
      const sik = sessionIntegrityKey(suite.authHash, p.kg ?? p.password, inputs);
      if (!constantTimeEqual(rakp4Icv(suite, sik, inputs), r4.icv)) {
        fail('auth', p, 'RAKP 4 integrity check value does not verify (wrong K_G, or not the BMC we think)');
      }
      const { k1, k2 } = deriveKeys(suite.authHash, sik);
      this.keys = { suite, k1, aesKey: k2.subarray(0, 16) };
    }
  }

  private handshakePacket(payloadType: number, payload: Buffer): Buffer {
    return encodeV2({ encrypted: false, authenticated: false, payloadType, sessionId: 0, seq: 0 }, payload);
  }

  private nextOutSeq(): number {
    this.outSeq = (this.outSeq + 1) >>> 0;
    if (this.outSeq === 0) this.outSeq = 1;
    return this.outSeq;
  }

  request(netFn: number, cmd: number, data: Buffer, o: RequestOptions): Promise<IpmiResponse> {
    const { link, p, suite } = this;
    this.rqSeq = nextRqSeq(this.rqSeq);
    const rqSeq = this.rqSeq;
    const msg = encodeRequest({ netFn, cmd, rqSeq, data });
    const secured = suite.aes || suite.integHash !== null;
    return link.exchange(
      o.what,
      () =>
        encodeV2(
          {
            encrypted: suite.aes,
            authenticated: suite.integHash !== null,
            payloadType: PayloadType.ipmi,
            sessionId: this.bmcSid,
            seq: this.nextOutSeq(),
          },
          msg,
          this.keys,
        ),
      (d) => {
        const pk = decodeV2(d, suite.authCodeLen);
        if (pk.payloadType !== PayloadType.ipmi) return link.drop(`unexpected payload type 0x${hex2(pk.payloadType)}`);
        if (pk.sessionId !== this.consoleSid) return link.drop('reply carries another session ID');
        let body = pk.payload;
        if (secured) {
          const keys = this.keys as V2Keys;
          if (suite.integHash && (!pk.authenticated || !verifyIntegrity(pk, keys))) {
            return link.drop('integrity check failed (AuthCode does not verify)');
          }
          if (suite.aes) {
            if (!pk.encrypted) return link.drop('reply is not encrypted');
            body = aesDecrypt(keys.aesKey, body);
          }
        }
        if (this.seenInbound.has(pk.seq)) return link.drop(`replayed session sequence number ${pk.seq}`);
        const r = decodeResponse(body);
        if (!matches(r, netFn, cmd, rqSeq)) return link.drop('stale or unrelated reply');
        this.seenInbound.add(pk.seq);
        return r;
      },
      exchangeOptions(p, o),
    );
  }

  async close(signal?: AbortSignal): Promise<void> {
    await closeQuietly(this, this.bmcSid, this.p, signal);
  }
}

async function closeQuietly(s: IpmiSession, sid: number, p: SessionParams, signal?: AbortSignal): Promise<void> {
  const data = Buffer.alloc(4);
  data.writeUInt32LE(sid >>> 0, 0);
  try {
    const r = await s.request(NetFn.app, Cmd.closeSession, data, { what: 'Close Session', tries: 2, signal });
    if (r.cc !== 0) p.log?.warn({ cc: r.cc }, `Close Session answered ${describeCompletionCode(r.cc)}`);
  } catch (e) {
    p.log?.warn({ err: (e as Error).message }, 'Close Session failed; the BMC will time the session out');
  }
}

// ---------------------------------------------------------------------------------------------
// IPMI 1.5 (MD5)

/** The requester sequence number of Get Session Challenge; Activate Session takes the next one. */
const V15_CHALLENGE_SEQ = 10;

async function openV15(link: Link, p: SessionParams, signal?: AbortSignal): Promise<IpmiSession> {
  const x: ExchangeOptions = { tries: p.retries + 1, timeoutMs: p.requestTimeoutMs, signal };
  const username = Buffer.from(p.username, 'utf8');
  if (username.length > 16) fail('config', p, `user name "${p.username}" is longer than 16 bytes`);
  if (p.password.length > 16) fail('config', p, 'the password is longer than 16 bytes (IPMI 1.5 limit)');
  const u16 = Buffer.alloc(16);
  username.copy(u16);
  const { tempSid, challenge } = await v15Challenge(link, p, u16, x);
  const { sid, outSeq, rqSeq } = await v15Activate(link, p, tempSid, challenge, x);
  return v15Session(link, p, sid, outSeq, rqSeq);
}

/** Get Session Challenge (session-less): the temporary session ID and the challenge. */
async function v15Challenge(
  link: Link,
  p: SessionParams,
  u16: Buffer,
  x: ExchangeOptions,
): Promise<{ tempSid: number; challenge: Buffer }> {
  // Get Session Challenge (session-less)
  const chSeq = V15_CHALLENGE_SEQ;
  const chMsg = encodeRequest({
    netFn: NetFn.app,
    cmd: Cmd.getSessionChallenge,
    rqSeq: chSeq,
    data: Buffer.concat([Buffer.from([AUTH_TYPE_MD5]), u16]),
  });
  const ch = await link.exchange(
    'Get Session Challenge',
    () => encodeV15({ authType: AUTH_TYPE_NONE, seq: 0, sessionId: 0 }, chMsg),
    (d) => {
      const r = decodeResponse(decodeV15(d).message);
      return matches(r, NetFn.app, Cmd.getSessionChallenge, chSeq) ? r : link.drop('stale or unrelated reply');
    },
    x,
  );
  if (ch.cc === 0x81 || ch.cc === 0x82) {
    fail('auth', p, `unknown user "${p.username}" (Get Session Challenge ${describeCompletionCode(ch.cc)})`);
  }
  if (ch.cc !== 0) fail('refused', p, `Get Session Challenge: ${describeCompletionCode(ch.cc)}`);
  if (ch.data.length < 20)
    fail('protocol', p, `Get Session Challenge reply too short (${ch.data.length} bytes, need 20)`);
  const tempSid = ch.data.readUInt32LE(0);
  const challenge = ch.data.subarray(4, 20);
  return { tempSid, challenge };
}

/** Activate Session (authenticated with the temporary session ID, seq 0): the session ID and first outbound seq. */
async function v15Activate(
  link: Link,
  p: SessionParams,
  tempSid: number,
  challenge: Buffer,
  x: ExchangeOptions,
): Promise<{ sid: number; outSeq: number; rqSeq: number }> {
  // Activate Session (authenticated with the temporary session ID, seq 0)
  const acSeq = nextRqSeq(V15_CHALLENGE_SEQ);
  const initOut = nonZeroRandom32(); // what the BMC will number its packets from
  const acData = Buffer.alloc(22);
  acData[0] = AUTH_TYPE_MD5;
  acData[1] = Privilege[p.privilege];
  challenge.copy(acData, 2);
  acData.writeUInt32LE(initOut, 18);
  const acMsg = encodeRequest({ netFn: NetFn.app, cmd: Cmd.activateSession, rqSeq: acSeq, data: acData });
  let ac: IpmiResponse;
  try {
    ac = await link.exchange(
      'Activate Session',
      () => encodeV15({ authType: AUTH_TYPE_MD5, seq: 0, sessionId: tempSid }, acMsg, p.password),
      (d) => {
        const v = decodeV15(d);
        const r = decodeResponse(v.message);
        if (!matches(r, NetFn.app, Cmd.activateSession, acSeq)) return link.drop('stale or unrelated reply');
        if (r.cc === 0 && !v15Verified(v, p.password))
          return link.drop('Activate Session reply AuthCode does not verify');
        return r;
      },
      x,
    );
  } catch (e) {
    if (e instanceof DriverError && e.kind === 'timeout') {
      throw new DriverError(
        'auth',
        p.device,
        `${e.message.replace(`${p.device}: `, '')}; IPMI 1.5 BMCs stay silent on a wrong password for user "${p.username}"`,
      );
    }
    throw e;
  }
  if (ac.cc === 0x86)
    fail(
      'privilege',
      p,
      `Activate Session: ${describeCompletionCode(ac.cc)} (privilege ${p.privilege} too high for this user)`,
    );
  if (ac.cc !== 0) fail('refused', p, `Activate Session: ${describeCompletionCode(ac.cc)}`);
  if (ac.data.length < 10) fail('protocol', p, `Activate Session reply too short (${ac.data.length} bytes)`);
  const sid = ac.data.readUInt32LE(1);
  const outSeq = ac.data.readUInt32LE(5);
  return { sid, outSeq, rqSeq: acSeq };
}

/** The activated IPMI 1.5 session: MD5-authenticated requests, replays dropped. */
function v15Session(link: Link, p: SessionParams, sid: number, firstOutSeq: number, rqSeq: number): IpmiSession {
  const seen = new Set<number>();
  let seq = rqSeq;
  let outSeq = firstOutSeq;

  const session: IpmiSession = {
    protocol: 'ipmi15-md5',
    cipher: null,
    request(netFn, cmd, data, o) {
      seq = nextRqSeq(seq);
      const mySeq = seq;
      const msg = encodeRequest({ netFn, cmd, rqSeq: mySeq, data });
      return link.exchange(
        o.what,
        () => {
          const s = outSeq;
          outSeq = (outSeq + 1) >>> 0 || 1;
          return encodeV15({ authType: AUTH_TYPE_MD5, seq: s, sessionId: sid }, msg, p.password);
        },
        (d) => {
          const v = decodeV15(d);
          if (v.sessionId !== sid) return link.drop('reply carries another session ID');
          if (!v15Verified(v, p.password)) return link.drop('MD5 AuthCode does not verify');
          if (seen.has(v.seq)) return link.drop(`replayed session sequence number ${v.seq}`);
          const r = decodeResponse(v.message);
          if (!matches(r, netFn, cmd, mySeq)) return link.drop('stale or unrelated reply');
          seen.add(v.seq);
          return r;
        },
        exchangeOptions(p, o),
      );
    },
    close(signal) {
      return closeQuietly(session, sid, p, signal);
    },
  };
  return session;
}

function v15Verified(v: ReturnType<typeof decodeV15>, password: Buffer): boolean {
  if (v.authType !== AUTH_TYPE_MD5) return false;
  return constantTimeEqual(md5AuthCode(password, v.sessionId, v.seq, v.message), v.authCode);
}
