/**
 * PDU serial-console driver (APC AOS v5+ CLI: olStatus / olOff / olOn, E-codes) over serialport.
 * Layers: ConsoleFramer (bytes -> lines/prompts) -> Exchange (one request at a time, matcher +
 * timeout) -> apc-cli policy (wake, recover, login, command, logout). Operations on the same
 * device run one after another; after one, the session lingers logged in for session_linger_s
 * (so the status reads that verify a switch skip login and banner), then "bye".
 *
 * The port stays open between operations. When it closes or errors (cable pulled, USB adapter
 * gone), the running operation fails with DriverError 'io' and the next operation reopens it.
 */
import { SerialPort } from 'serialport';
import { DriverError, type PlugInfo, type PowerDriver, type PowerState } from '../driver.js';
import { abortable, defaultReadSecret, type PduDriverDeps, readSecretFor, resolvePlug } from '../outlets.js';
import { type ApcCliOptions, isSessionLost, login, logout, outletStatus, runCommand } from './apc-cli.js';
import { Exchange, SerialQueue } from './exchange.js';
import { ConsoleFramer, type Frame } from './framer.js';

export { classifyPrompt, kindOfCode, LOGIN_TABLE, parseOutletLine, parseResultCode } from './apc-cli.js';
export { type PduSerialDeviceConfig, type PduSerialDeviceInput, pduSerialDeviceSchema } from './config.js';
export { ConsoleFramer } from './framer.js';

import type { PduSerialDeviceConfig } from './config.js';

/** The family's factory: the parsed config (pduSerialDeviceSchema) and its deps. */
export function createPduSerialDriver(cfg: PduSerialDeviceConfig, deps: PduDriverDeps = {}): PowerDriver {
  return new PduSerialDriver(cfg, deps);
}

interface Link {
  port: SerialPort;
  framer: ConsoleFramer;
  exchange: Exchange;
}

class PduSerialDriver implements PowerDriver {
  readonly family = 'pdu-serial';
  readonly device: string;
  private link: Link | undefined;
  private readonly ops = new SerialQueue();
  private password: string | undefined;
  /** The link on which the console is logged in (lingering session), if any. */
  private loggedIn: Link | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly cfg: PduSerialDeviceConfig,
    private readonly deps: PduDriverDeps,
  ) {
    this.device = cfg.name;
    if (/^\/dev\/tty(USB|ACM)\d+$/.test(cfg.device))
      deps.log?.warn(
        { device: cfg.name, path: cfg.device },
        'serial device given by kernel name: it can change on replug or reboot; use /dev/serial/by-id/... or a udev SYMLINK',
      );
  }

  status(plug: string, signal: AbortSignal): Promise<PowerState> {
    return this.op(signal, async (ex, o) => {
      const outlet = await this.outletOf(ex, o, plug);
      const [row] = await outletStatus(ex, o, outlet);
      return (row as { state: PowerState }).state;
    });
  }

  off(plug: string, signal: AbortSignal): Promise<void> {
    return this.op(signal, async (ex, o) => {
      const outlet = await this.outletOf(ex, o, plug);
      await runCommand(ex, o, `olOff ${outlet}`);
    });
  }

  on(plug: string, signal: AbortSignal): Promise<void> {
    return this.op(signal, async (ex, o) => {
      const outlet = await this.outletOf(ex, o, plug);
      await runCommand(ex, o, `olOn ${outlet}`);
    });
  }

  list(signal: AbortSignal): Promise<PlugInfo[]> {
    return this.op(signal, async (ex, o) => {
      const rows = await outletStatus(ex, o);
      return rows.map((r) => {
        const name = this.cfg.outlets[String(r.outlet)] ?? r.name;
        return name ? { plug: String(r.outlet), name, state: r.state } : { plug: String(r.outlet), state: r.state };
      });
    });
  }

  async close(): Promise<void> {
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    await this.ops
      .run(async () => {
        const link = this.link;
        if (link && this.loggedIn === link && this.password !== undefined)
          await this.logoutIfIn(link, await this.options());
      })
      .catch(() => undefined);
    this.loggedIn = undefined;
    await this.dropLink();
  }

  // -- policy ------------------------------------------------------------------------------

  private op<T>(signal: AbortSignal, body: (ex: Exchange, o: ApcCliOptions) => Promise<T>): Promise<T> {
    return abortable(this.device, signal, () =>
      this.ops.run(async () => {
        if (this.lingerTimer) clearTimeout(this.lingerTimer);
        this.lingerTimer = undefined;
        const link = await this.openLink();
        const o = await this.options();
        const ex = link.exchange;
        try {
          const reused = this.loggedIn === link;
          if (!reused) {
            this.loggedIn = undefined;
            await login(ex, o);
            this.loggedIn = link;
          }
          let r: T;
          try {
            r = await body(ex, o);
          } catch (e) {
            if (!reused || !isSessionLost(e)) throw e;
            // the lingering session was ended by the PDU (idle logout, restart): log in again once
            this.deps.log?.info({ device: this.device }, 'console session ended while lingering; logging in again');
            this.loggedIn = undefined;
            await login(ex, o);
            this.loggedIn = link;
            r = await body(ex, o);
          }
          await this.afterOp(link, o);
          return r;
        } catch (e) {
          const wasIn = this.loggedIn === link;
          this.loggedIn = undefined;
          // A timeout leaves the console in an unknown state: the next operation starts on a fresh port.
          if (e instanceof DriverError && (e.kind === 'timeout' || e.kind === 'io')) await this.dropLink();
          else if (wasIn) await logout(ex, o);
          throw e;
        }
      }),
    );
  }

  /** Logs out now (linger 0) or after session_linger_s without another operation. */
  private async afterOp(link: Link, o: ApcCliOptions): Promise<void> {
    if (this.cfg.session_linger_s === 0) {
      this.loggedIn = undefined;
      await logout(link.exchange, o);
      return;
    }
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = undefined;
      void this.ops.run(() => this.logoutIfIn(link, o));
    }, this.cfg.session_linger_s * 1000);
    this.lingerTimer.unref();
  }

  private async logoutIfIn(link: Link, o: ApcCliOptions): Promise<void> {
    if (this.loggedIn !== link || this.link !== link) return;
    this.loggedIn = undefined;
    await logout(link.exchange, o);
  }

  private async outletOf(ex: Exchange, o: ApcCliOptions, plug: string): Promise<number> {
    const r = resolvePlug(this.device, plug, this.cfg.outlets);
    if ('outlet' in r) return r.outlet;
    const rows = await outletStatus(ex, o);
    const row = rows.find((x) => x.name === r.name);
    if (!row)
      throw new DriverError(
        'no-such-plug',
        this.device,
        `no outlet is named "${plug}" (on the PDU: ${rows.map((x) => x.name).join(', ')})`,
      );
    return row.outlet;
  }

  private async options(): Promise<ApcCliOptions> {
    if (this.password === undefined)
      this.password = await readSecretFor(
        this.device,
        'password_file',
        this.cfg.password_file,
        this.deps.readSecret ?? defaultReadSecret,
      );
    const o: ApcCliOptions = {
      device: this.device,
      user: this.cfg.user,
      password: this.password,
      loginTimeoutMs: this.cfg.login_timeout_s * 1000,
      commandTimeoutMs: this.cfg.command_timeout_s * 1000,
      wakeAttempts: this.cfg.wake_attempts,
    };
    if (this.deps.log) o.log = this.deps.log;
    return o;
  }

  // -- transport -----------------------------------------------------------------------------

  private async openLink(): Promise<Link> {
    if (this.link) return this.link;
    const c = this.cfg;
    const port = new SerialPort({
      path: c.device,
      baudRate: c.baud,
      dataBits: c.data_bits,
      parity: c.parity,
      stopBits: c.stop_bits,
      rtscts: false,
      xon: false,
      xoff: false,
      autoOpen: false,
    });
    await new Promise<void>((resolve, reject) =>
      port.open((err) =>
        err
          ? reject(
              new DriverError(
                'io',
                this.device,
                `cannot open ${c.device}: ${err.message}${/lock/i.test(err.message) ? ' (another process or another driver instance holds the port)' : ''}`,
                { cause: err },
              ),
            )
          : resolve(),
      ),
    );
    const framer = new ConsoleFramer();
    const exchange = new Exchange(
      this.device,
      (data) =>
        new Promise<void>((resolve, reject) => {
          port.write(data, 'latin1', (err) =>
            err
              ? reject(
                  new DriverError('io', this.device, `write to ${c.device} failed: ${err.message}`, { cause: err }),
                )
              : resolve(),
          );
        }),
      this.deps.log,
    );
    const link: Link = { port, framer, exchange };
    port.pipe(framer);
    framer.on('data', (f: Frame) => exchange.feed(f));
    const lost = (why: string) => {
      if (this.link === link) this.link = undefined;
      if (this.loggedIn === link) this.loggedIn = undefined;
      exchange.fail(
        new DriverError('io', this.device, `${c.device}: ${why}; the port is reopened on the next operation`),
      );
    };
    port.on('error', (err) => {
      this.deps.log?.warn({ device: this.device, err: err.message }, 'serial port error');
      lost(`port error: ${err.message}`);
      if (port.isOpen) port.close(() => undefined);
    });
    port.on('close', (err: (Error & { disconnected?: boolean }) | null) =>
      lost(err?.disconnected ? 'device disconnected' : 'port closed'),
    );
    this.link = link;
    this.deps.log?.debug({ device: this.device, path: c.device, baud: c.baud }, 'serial port opened');
    return link;
  }

  private async dropLink(): Promise<void> {
    const link = this.link;
    this.link = undefined;
    if (!link) return;
    link.exchange.fail(new DriverError('io', this.device, 'port closed'));
    if (link.port.isOpen) await new Promise<void>((resolve) => link.port.close(() => resolve()));
    link.port.unpipe(link.framer);
    link.framer.destroy();
  }
}
