/**
 * IPMI power driver: a BMC's chassis behind the PowerDriver interface. Layers (one file each):
 * codec.ts (pure bytes and crypto) -> transport.ts (UDP matcher, timeouts, retransmits) ->
 * session.ts (RMCP+ / IPMI 1.5 sessions) -> client.ts (policy: one session per operation,
 * serialized per BMC, always closed) -> this file (config -> driver).
 */
import type { Logger } from 'pino';
import { DriverError, type PlugInfo, type PowerDriver, type PowerState } from '../driver.js';
import type { SingleFlight } from '../single-flight.js';
import { IpmiClient } from './client.js';
import type { IpmiDeviceConfig } from './config.js';
import { readSecretFile } from './secret.js';

export { IpmiClient, type IpmiClientOptions } from './client.js';
export {
  type ChassisAction,
  type ChassisStatus,
  chooseProtocol,
  decodeChannelAuthCaps,
} from './codec.js';
export { type IpmiDeviceConfig, type IpmiDeviceInput, ipmiDeviceSchema } from './config.js';
export { readSecretFile } from './secret.js';

export const IPMI_PLUG = 'chassis';

export interface IpmiDriverDeps {
  /** Device name from the fencing config (the key of the device entry); cfg.name wins. */
  device?: string;
  log?: Logger;
  /** Reads a secret file; default: the file's content without one trailing newline. */
  readSecret?: (file: string) => Promise<string>;
  /** One operation per BMC among the drivers sharing these lanes (the fencing service's). */
  lanes?: SingleFlight;
}

function deviceName(cfg: IpmiDeviceConfig, deps: IpmiDriverDeps): string {
  return cfg.name ?? deps.device ?? `${cfg.host}:${cfg.port}`;
}

/** Builds the client for a device config (also used by the CLI and the benchmark). */
export function createIpmiClient(cfg: IpmiDeviceConfig, deps: IpmiDriverDeps = {}): IpmiClient {
  const name = deviceName(cfg, deps);
  const read = deps.readSecret ?? readSecretFile;
  const secret = async (file: string, what: string): Promise<Buffer> => {
    try {
      return Buffer.from(await read(file), 'utf8');
    } catch (e) {
      throw new DriverError('config', name, `cannot read ${what} ${file}: ${(e as Error).message}`, { cause: e });
    }
  };
  const kgFile = cfg.kg_file;
  return new IpmiClient({
    host: cfg.host,
    port: cfg.port,
    device: name,
    username: cfg.username,
    password: () => secret(cfg.password_file, 'password_file'),
    ...(kgFile ? { kg: () => secret(kgFile, 'kg_file') } : {}),
    cipher: cfg.cipher,
    allowCipherZero: cfg.allow_cipher_zero,
    privilege: cfg.privilege,
    ipmi15: cfg.ipmi15,
    requestTimeoutMs: cfg.request_timeout_ms,
    retries: cfg.retries,
    ...(deps.log ? { log: deviceLogger(deps.log, name) } : {}),
    ...(deps.lanes ? { lanes: deps.lanes } : {}),
  });
}

/**
 * The logger bound to this device exactly once: the daemon already hands drivers a logger bound
 * to `device`, and pino would print a second binding (or a `device` key in a log call) as a
 * duplicate JSON key. IPMI log calls therefore never repeat `device`.
 */
export function deviceLogger(log: Logger, name: string, extra: Record<string, string> = {}): Logger {
  const bound = log.bindings().device === name;
  return bound && Object.keys(extra).length === 0 ? log : log.child({ ...(bound ? {} : { device: name }), ...extra });
}

/**
 * The PowerDriver for one BMC. status/off/on each run one short session (serialized per BMC);
 * off/on resolve when the BMC accepted Chassis Control: the fencing core verifies with status().
 */
export function createIpmiDriver(cfg: IpmiDeviceConfig, deps: IpmiDriverDeps = {}): PowerDriver {
  const name = deviceName(cfg, deps);
  if (cfg.cipher === 0 && !cfg.allow_cipher_zero) {
    throw new DriverError('config', name, 'cipher suite 0 is refused unless allow_cipher_zero is true');
  }
  return ipmiDriverOf(
    createIpmiClient(cfg, deps),
    deps.log ? deviceLogger(deps.log, name, { family: 'ipmi' }) : undefined,
  );
}

/** The PowerDriver over a client (the BMC's one plug, "chassis"). */
export function ipmiDriverOf(client: IpmiClient, log?: Logger): PowerDriver {
  const name = client.device;
  const checkPlug = (plug: string) => {
    if (plug !== IPMI_PLUG) {
      throw new DriverError('no-such-plug', name, `a BMC has one plug, "${IPMI_PLUG}", not "${plug}"`);
    }
  };
  return {
    family: 'ipmi',
    device: name,
    async status(plug: string, signal: AbortSignal): Promise<PowerState> {
      checkPlug(plug);
      const st = await client.status(signal);
      return st.powerOn ? 'on' : 'off';
    },
    async off(plug: string, signal: AbortSignal): Promise<void> {
      checkPlug(plug);
      log?.info('Chassis Control power down (hard off)');
      await client.control('off', signal);
    },
    async on(plug: string, signal: AbortSignal): Promise<void> {
      checkPlug(plug);
      log?.info('Chassis Control power up');
      await client.control('on', signal);
    },
    async list(signal: AbortSignal): Promise<PlugInfo[]> {
      const st = await client.status(signal);
      return [{ plug: IPMI_PLUG, state: st.powerOn ? 'on' : 'off' }];
    },
    async close(): Promise<void> {
      // Sessions live only for one operation; nothing stays open between calls.
    },
  };
}
