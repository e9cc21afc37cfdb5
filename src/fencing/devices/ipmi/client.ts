/**
 * Policy layer of the IPMI driver: one session per operation, one operation per BMC at a time
 * (single-flight lanes keyed by host:port, shared by the clients given the same SingleFlight), and the
 * session is always closed in a finally block, also after errors and timeouts.
 *
 * Operations:
 *   status()            Get Chassis Status (session stays at USER privilege)
 *   control(action)     Set Session Privilege (operator/administrator), then Chassis Control.
 *                       off/on are retransmitted (idempotent); cycle/reset/soft are sent once.
 * Verification is the fencing core's (one-level.ts for the CLI): it reads the state back.
 */
import type { Logger } from 'pino';
import { DriverError } from '../driver.js';
import { SingleFlight } from '../single-flight.js';
import {
  type ChassisAction,
  ChassisControl,
  type ChassisStatus,
  Cmd,
  decodeChassisStatus,
  describeCompletionCode,
  NetFn,
  Privilege,
} from './codec.js';
import { BmcBusyError, type IpmiSession, openSession, type SessionParams } from './session.js';
import { Link } from './transport.js';

export interface IpmiClientOptions {
  host: string;
  port?: number;
  /** Name used in errors and logs; default host:port. */
  device?: string;
  username: string;
  /** Read for every operation, so a rotated password file is picked up. */
  password: Buffer | (() => Promise<Buffer>);
  kg?: Buffer | (() => Promise<Buffer | undefined>);
  cipher?: 0 | 3 | 17;
  allowCipherZero?: boolean;
  privilege?: 'operator' | 'administrator';
  ipmi15?: boolean;
  forceProtocol?: 'rmcpp' | 'ipmi15-md5';
  /** First per-datagram timeout; doubles on each retransmission. */
  requestTimeoutMs?: number;
  /** Retransmissions per request (0 = send once). */
  retries?: number;
  log?: Logger;
  /** Lanes shared with the other clients of one owner (one operation per BMC); default: this client's own. */
  lanes?: SingleFlight;
}

/** Pauses before retrying an Open Session that found no free session slot. */
const BUSY_BACKOFF_MS = [250, 750];

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

export class IpmiClient {
  readonly device: string;
  readonly host: string;
  readonly port: number;
  /** Sessions opened / closed by this client (diagnostics and tests). */
  readonly stats = { opened: 0, closed: 0 };
  private readonly lanes: SingleFlight;

  constructor(private readonly o: IpmiClientOptions) {
    this.host = o.host;
    this.port = o.port ?? 623;
    this.device = o.device ?? `${o.host}:${this.port}`;
    this.lanes = o.lanes ?? new SingleFlight();
  }

  private async params(): Promise<SessionParams> {
    const { o } = this;
    const password = typeof o.password === 'function' ? await o.password() : o.password;
    const kg = typeof o.kg === 'function' ? await o.kg() : o.kg;
    return {
      device: this.device,
      username: o.username,
      password,
      kg,
      cipher: o.cipher ?? 3,
      allowCipherZero: o.allowCipherZero ?? false,
      privilege: o.privilege ?? 'operator',
      ipmi15: o.ipmi15 ?? false,
      forceProtocol: o.forceProtocol,
      requestTimeoutMs: o.requestTimeoutMs ?? 250,
      retries: o.retries ?? 4,
      log: o.log,
    };
  }

  /**
   * Opens a session, runs fn, and always closes the session and the socket. Serialized per
   * BMC. `elevate` raises the session to the configured privilege first.
   */
  async withSession<T>(
    fn: (s: IpmiSession) => Promise<T>,
    opts: { elevate?: boolean; signal?: AbortSignal | undefined } = {},
  ): Promise<T> {
    const busy = () =>
      new DriverError('timeout', this.device, 'aborted while waiting for the previous operation on this BMC to finish');
    return this.lanes.run(
      `${this.host}:${this.port}`,
      async () => {
        const p = await this.params();
        const link = await Link.open(this.host, this.port, this.device);
        let session: IpmiSession | undefined;
        try {
          // A BMC out of session slots (others' sessions still open) gets two more tries.
          for (let attempt = 0; ; attempt++) {
            try {
              session = await openSession(link, p, opts.signal);
              break;
            } catch (e) {
              if (!(e instanceof BmcBusyError) || attempt >= BUSY_BACKOFF_MS.length || opts.signal?.aborted) throw e;
              p.log?.warn(`${e.message}; retrying in ${BUSY_BACKOFF_MS[attempt]} ms`);
              await sleep(BUSY_BACKOFF_MS[attempt] as number, opts.signal);
            }
          }
          this.stats.opened++;
          p.log?.debug({ protocol: session.protocol, cipher: session.cipher }, 'IPMI session open');
          if (opts.elevate) await setPrivilege(session, p, opts.signal);
          return await fn(session);
        } finally {
          if (session) {
            // Close even when the caller aborted: a fresh, short signal bounds it instead.
            await session.close(AbortSignal.timeout(p.requestTimeoutMs * 4));
            this.stats.closed++;
          }
          link.close();
        }
      },
      opts.signal,
      busy,
    );
  }

  /** Reads the chassis status. */
  async status(signal?: AbortSignal): Promise<ChassisStatus> {
    return this.withSession((s) => getChassisStatus(s, this.device, signal), { signal });
  }

  /** Sends Chassis Control. Resolves when the BMC accepted it; proves nothing about power. */
  async control(action: ChassisAction, signal?: AbortSignal): Promise<void> {
    await this.withSession((s) => chassisControl(s, this.device, action, signal), { elevate: true, signal });
  }
}

export async function setPrivilege(s: IpmiSession, p: SessionParams, signal?: AbortSignal): Promise<void> {
  const level = Privilege[p.privilege];
  const r = await s.request(NetFn.app, Cmd.setSessionPrivilege, Buffer.from([level]), {
    what: 'Set Session Privilege Level',
    signal,
  });
  if (r.cc === 0x80 || r.cc === 0x81) {
    throw new DriverError(
      'privilege',
      p.device,
      `user "${p.username}" may not have ${p.privilege} privilege (Set Session Privilege Level: ${describeCompletionCode(r.cc)})`,
    );
  }
  if (r.cc !== 0)
    throw new DriverError('refused', p.device, `Set Session Privilege Level: ${describeCompletionCode(r.cc)}`);
}

export async function getChassisStatus(s: IpmiSession, device: string, signal?: AbortSignal): Promise<ChassisStatus> {
  const r = await s.request(NetFn.chassis, Cmd.getChassisStatus, Buffer.alloc(0), {
    what: 'Get Chassis Status',
    signal,
  });
  if (r.cc === 0xd4) throw new DriverError('privilege', device, `Get Chassis Status: ${describeCompletionCode(r.cc)}`);
  if (r.cc !== 0) throw new DriverError('refused', device, `Get Chassis Status: ${describeCompletionCode(r.cc)}`);
  try {
    return decodeChassisStatus(r.data);
  } catch (e) {
    throw new DriverError('protocol', device, (e as Error).message);
  }
}

export async function chassisControl(
  s: IpmiSession,
  device: string,
  action: ChassisAction,
  signal?: AbortSignal,
): Promise<void> {
  // off and on are idempotent; a duplicated cycle/reset/soft could act twice, so never resend them.
  const retransmit = action === 'off' || action === 'on';
  const r = await s.request(NetFn.chassis, Cmd.chassisControl, Buffer.from([ChassisControl[action]]), {
    what: `Chassis Control ${action}`,
    retransmit,
    signal,
  });
  if (r.cc === 0xd4) {
    throw new DriverError(
      'privilege',
      device,
      `Chassis Control ${action}: ${describeCompletionCode(r.cc)} (needs operator)`,
    );
  }
  if (r.cc !== 0)
    throw new DriverError('refused', device, `Chassis Control ${action}: ${describeCompletionCode(r.cc)}`);
}
