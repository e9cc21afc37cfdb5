/**
 * SNMP PDU driver (APC PowerNet-MIB and other families as data, see tables.ts), in process with
 * net-snmp: one UDP session per device, the outlet table chosen once by sysObjectID, every answer
 * checked (varbind errors, unknown state values, echoed SET values). It never reports a switch it
 * did not see the device accept, and status() reads the device every time.
 */
import snmp, { type Session, type Varbind } from 'net-snmp';
import { DriverError, type PlugInfo, type PowerDriver, type PowerState } from '../driver.js';
import { abortable, defaultReadSecret, type PduDriverDeps, readSecretFor, resolvePlug } from '../outlets.js';
import {
  decodeState,
  FAMILIES,
  FAMILY_IDS,
  familyForSysObjectId,
  normOid,
  outletOfOid,
  outletOid,
  type SnmpFamily,
} from './tables.js';

export { type ApcSnmpDeviceConfig, type ApcSnmpDeviceInput, apcSnmpDeviceSchema, snmpV3Schema } from './config.js';
export { FAMILIES, FAMILY_IDS, familyForSysObjectId } from './tables.js';

import type { ApcSnmpDeviceConfig } from './config.js';

const SYS_OBJECT_ID = '1.3.6.1.2.1.1.2.0';

interface Ctx {
  session: Session;
  table: SnmpFamily;
}

/** The family's factory: the parsed config (apcSnmpDeviceSchema) and its deps. */
export function createApcSnmpDriver(cfg: ApcSnmpDeviceConfig, deps: PduDriverDeps = {}): PowerDriver {
  return new SnmpPduDriver(cfg, deps);
}

class SnmpPduDriver implements PowerDriver {
  readonly family = 'apc-snmp';
  readonly device: string;
  private ctx: Ctx | undefined;
  private opening: Promise<Ctx> | undefined;
  private names: Map<string, number> | undefined;

  constructor(
    private readonly cfg: ApcSnmpDeviceConfig,
    private readonly deps: PduDriverDeps,
  ) {
    this.device = cfg.name;
  }

  status(plug: string, signal: AbortSignal): Promise<PowerState> {
    return abortable(this.device, signal, async () => {
      const ctx = await this.open();
      const outlet = await this.outletOf(ctx, plug);
      return this.readState(ctx, outlet);
    });
  }

  off(plug: string, signal: AbortSignal): Promise<void> {
    return abortable(this.device, signal, () => this.command(plug, 'off'));
  }

  on(plug: string, signal: AbortSignal): Promise<void> {
    return abortable(this.device, signal, () => this.command(plug, 'on'));
  }

  list(signal: AbortSignal): Promise<PlugInfo[]> {
    return abortable(this.device, signal, async () => {
      const ctx = await this.open();
      const states = await this.walk(ctx, ctx.table.status);
      const names = ctx.table.name ? await this.walk(ctx, ctx.table.name) : new Map<number, unknown>();
      const out: PlugInfo[] = [];
      for (const [outlet, value] of [...states].sort((a, b) => a[0] - b[0])) {
        const state = decodeState(ctx.table, value);
        if (!state)
          throw new DriverError(
            'protocol',
            this.device,
            `outlet ${outlet} reports state ${fmt(value)}, not a ${ctx.table.id} value`,
          );
        const devName = names.get(outlet);
        const info: PlugInfo = { plug: String(outlet), state };
        const name = this.cfg.outlets[String(outlet)] ?? (devName === undefined ? undefined : text(devName));
        if (name) info.name = name;
        out.push(info);
      }
      return out;
    });
  }

  async close(): Promise<void> {
    const ctx = this.ctx;
    this.ctx = undefined;
    this.opening = undefined;
    this.names = undefined;
    try {
      ctx?.session.close();
    } catch {
      // already closed
    }
  }

  // -- policy ------------------------------------------------------------------------------

  private async command(plug: string, action: 'on' | 'off'): Promise<void> {
    const ctx = await this.open();
    const outlet = await this.outletOf(ctx, plug);
    const oid = outletOid(ctx.table.control, outlet);
    const value = ctx.table.write[action];
    this.deps.log?.debug({ device: this.device, outlet, action, oid }, 'snmp set');
    let vbs: Varbind[];
    try {
      vbs = await this.call<Varbind[]>((cb) =>
        ctx.session.set([{ oid, type: snmp.ObjectType.Integer as number, value }], cb),
      );
    } catch (e) {
      throw await this.setError(ctx, outlet, action, e);
    }
    const vb = vbs[0];
    if (!vb || normOid(vb.oid) !== oid || snmp.isVarbindError(vb))
      throw new DriverError(
        'protocol',
        this.device,
        `SET ${action} outlet ${outlet}: unexpected answer ${vb ? describeVb(vb) : '(none)'}`,
      );
    if (vb.value !== value)
      throw new DriverError(
        'protocol',
        this.device,
        `SET ${action} outlet ${outlet}: the PDU echoed ${fmt(vb.value)} instead of ${value}`,
      );
  }

  /** A failed SET: tell "no such outlet" from "not allowed to write" by reading the outlet. */
  private async setError(ctx: Ctx, outlet: number, action: string, e: unknown): Promise<DriverError> {
    const status = (e as { status?: number }).status;
    const writeDenied = [
      snmp.ErrorStatus.NoSuchName,
      snmp.ErrorStatus.NoAccess,
      snmp.ErrorStatus.NotWritable,
      snmp.ErrorStatus.ReadOnly,
      snmp.ErrorStatus.AuthorizationError,
      snmp.ErrorStatus.NoCreation,
    ];
    if ((e as Error).name === 'RequestFailedError' && status !== undefined && writeDenied.includes(status)) {
      try {
        await this.readState(ctx, outlet);
      } catch (ge) {
        if (ge instanceof DriverError && ge.kind === 'no-such-plug') return ge;
      }
      return new DriverError(
        'privilege',
        this.device,
        `the PDU refused to ${action} outlet ${outlet} (${snmp.ErrorStatus[status]}): the community or v3 user has no write access`,
        { cause: e },
      );
    }
    return this.mapError(e, `SET ${action} outlet ${outlet}`);
  }

  private async readState(ctx: Ctx, outlet: number): Promise<PowerState> {
    const oid = outletOid(ctx.table.status, outlet);
    let vbs: Varbind[];
    try {
      vbs = await this.call<Varbind[]>((cb) => ctx.session.get([oid], cb));
    } catch (e) {
      if ((e as { status?: number }).status === snmp.ErrorStatus.NoSuchName)
        throw new DriverError('no-such-plug', this.device, `outlet ${outlet} does not exist (${ctx.table.id} table)`, {
          cause: e,
        });
      throw this.mapError(e, `GET state of outlet ${outlet}`);
    }
    const vb = vbs[0];
    if (!vb || normOid(vb.oid) !== oid)
      throw new DriverError('protocol', this.device, `GET state of outlet ${outlet}: answer for another OID`);
    if (snmp.isVarbindError(vb))
      throw new DriverError(
        'no-such-plug',
        this.device,
        `outlet ${outlet} does not exist (${ctx.table.id} table: ${describeVb(vb)})`,
      );
    const state = decodeState(ctx.table, vb.value);
    if (!state)
      throw new DriverError(
        'protocol',
        this.device,
        `outlet ${outlet} reports state ${fmt(vb.value)}, which is neither on (${ctx.table.read.on}) nor off (${ctx.table.read.off}) in the ${ctx.table.id} table`,
      );
    return state;
  }

  private async outletOf(ctx: Ctx, plug: string): Promise<number> {
    const r = resolvePlug(this.device, plug, this.cfg.outlets);
    if ('outlet' in r) return r.outlet;
    if (!ctx.table.name)
      throw new DriverError('no-such-plug', this.device, `unknown plug "${plug}" (use an outlet number)`);
    if (!this.names?.has(r.name)) {
      const col = await this.walk(ctx, ctx.table.name);
      this.names = new Map([...col].map(([n, v]) => [text(v), n]));
    }
    const n = this.names.get(r.name);
    if (n === undefined)
      throw new DriverError(
        'no-such-plug',
        this.device,
        `no outlet is named "${plug}" (configured: ${Object.values(this.cfg.outlets).join(', ') || 'none'}; on the PDU: ${[...this.names.keys()].join(', ') || 'none'})`,
      );
    return n;
  }

  // -- request/response -------------------------------------------------------------------

  private open(): Promise<Ctx> {
    if (this.ctx) return Promise.resolve(this.ctx);
    if (!this.opening) {
      this.opening = this.doOpen().then(
        (c) => {
          this.ctx = c;
          this.opening = undefined;
          return c;
        },
        (e) => {
          this.opening = undefined;
          throw e;
        },
      );
    }
    return this.opening;
  }

  private async doOpen(): Promise<Ctx> {
    const c = this.cfg;
    const read = this.deps.readSecret ?? defaultReadSecret;
    const options = {
      port: c.port,
      retries: c.retries,
      timeout: Math.round(c.timeout_s * 1000),
      transport: c.host.includes(':') ? ('udp6' as const) : ('udp4' as const),
    };
    let session: Session;
    if (c.version === '3') {
      const v3 = c.v3 as NonNullable<typeof c.v3>;
      const user: Parameters<typeof snmp.createV3Session>[1] = {
        name: v3.user,
        level: snmp.SecurityLevel[v3.security_level] as number,
      };
      if (v3.security_level !== 'noAuthNoPriv') {
        user.authProtocol = snmp.AuthProtocols[v3.auth_protocol];
        user.authKey = await readSecretFor(this.device, 'v3.auth_password_file', v3.auth_password_file ?? '', read);
      }
      if (v3.security_level === 'authPriv') {
        user.privProtocol = snmp.PrivProtocols[v3.priv_protocol];
        user.privKey = await readSecretFor(this.device, 'v3.priv_password_file', v3.priv_password_file ?? '', read);
      }
      session = snmp.createV3Session(c.host, user, options);
    } else {
      const community = await readSecretFor(this.device, 'community_file', c.community_file ?? '', read);
      session = snmp.createSession(c.host, community, {
        ...options,
        version: c.version === '1' ? snmp.Version1 : snmp.Version2c,
      });
    }
    session.on('error', (err) => this.deps.log?.warn({ device: this.device, err: err.message }, 'snmp socket error'));
    try {
      const table = await this.chooseTable(session);
      this.deps.log?.debug({ device: this.device, table: table.id }, 'snmp outlet table chosen');
      return { session, table };
    } catch (e) {
      session.close();
      throw e;
    }
  }

  private async chooseTable(session: Session): Promise<SnmpFamily> {
    if (this.cfg.family !== 'auto') return FAMILIES[this.cfg.family];
    let vbs: Varbind[];
    try {
      vbs = await this.call<Varbind[]>((cb) => session.get([SYS_OBJECT_ID], cb));
    } catch (e) {
      throw this.mapError(e, 'GET sysObjectID');
    }
    const vb = vbs[0];
    if (!vb || snmp.isVarbindError(vb) || typeof vb.value !== 'string')
      throw new DriverError('protocol', this.device, `sysObjectID unreadable (${vb ? describeVb(vb) : 'no varbind'})`);
    const f = familyForSysObjectId(vb.value);
    if (!f)
      throw new DriverError(
        'config',
        this.device,
        `unknown PDU (sysObjectID ${vb.value}); set family to one of ${FAMILY_IDS.join(', ')} if its outlet table is one of those`,
      );
    return f;
  }

  private async walk(ctx: Ctx, column: SnmpFamily['status']): Promise<Map<number, unknown>> {
    const out = new Map<number, unknown>();
    const base = column.base;
    try {
      await this.call<void>((cb) =>
        ctx.session.subtree(
          base,
          20,
          (vbs) => {
            for (const vb of vbs) {
              if (snmp.isVarbindError(vb)) continue;
              const n = outletOfOid(column, vb.oid);
              if (n !== undefined) out.set(n, vb.value);
            }
            return undefined;
          },
          (err) => cb(err, undefined),
        ),
      );
    } catch (e) {
      throw this.mapError(e, `walk ${base}`);
    }
    return out;
  }

  private call<T>(fn: (cb: (err: Error | null, res: T) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      try {
        fn((err, res) => (err ? reject(err) : resolve(res)));
      } catch (e) {
        reject(e);
      }
    });
  }

  private mapError(e: unknown, what: string): DriverError {
    if (e instanceof DriverError) return e;
    const err = e as Error & { status?: number; code?: number };
    const where = `${this.cfg.host}:${this.cfg.port}`;
    switch (err.name) {
      case 'RequestTimedOutError':
        this.dropSession();
        return new DriverError(
          'timeout',
          this.device,
          `${what}: no answer from ${where} within ${this.cfg.timeout_s} s x ${this.cfg.retries + 1} tries (unreachable, or a wrong community/user: agents drop those silently)`,
          { cause: e },
        );
      case 'RequestFailedError':
        return new DriverError('refused', this.device, `${what}: the PDU answered ${err.message}`, { cause: e });
      case 'ResponseInvalidError':
        if (/digest|user name|decryption|security level|engine id|time window/i.test(err.message)) {
          this.dropSession();
          return new DriverError(
            'auth',
            this.device,
            `${what}: SNMPv3 authentication failed at ${where}: ${err.message}`,
            {
              cause: e,
            },
          );
        }
        return new DriverError('protocol', this.device, `${what}: invalid answer from ${where}: ${err.message}`, {
          cause: e,
        });
      default:
        this.dropSession();
        return new DriverError('io', this.device, `${what}: ${err.message ?? String(e)}`, { cause: e });
    }
  }

  /** Forgets the session so the next operation starts afresh (new socket, new engine discovery). */
  private dropSession(): void {
    const ctx = this.ctx;
    this.ctx = undefined;
    try {
      ctx?.session.close();
    } catch {
      // already closed
    }
  }
}

function text(v: unknown): string {
  return Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
}

function fmt(v: unknown): string {
  if (Buffer.isBuffer(v)) return JSON.stringify(v.toString('latin1'));
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

function describeVb(vb: Varbind): string {
  return snmp.isVarbindError(vb) ? snmp.varbindError(vb) : `${vb.oid} = ${fmt(vb.value)}`;
}
