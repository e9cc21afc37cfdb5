/**
 * GPIO relay driver: a relay (one GPIO output per plug) that cuts a node's power. Lines are
 * addressed by gpiochip label + line offset and resolved to the sysfs number at first use by
 * src/board/gpio.ts (never a hard-coded number: bases move between boards and kernels).
 *
 * What status() reports: with a `sense` input configured, the level of that input (e.g. an
 * opto-coupler on the node's supply) — the node's real power. Without one, the readback of the
 * relay's own output line: what the relay is driven to, which proves the command reached the
 * line, not that the contacts moved or that the node is unpowered. docs/pdu.md says so.
 */
import { GpioResolveError, type ResolvedGpioLine, resolveGpioLine } from '../../../board/gpio.js';
import { DriverError, type PlugInfo, type PowerDriver, type PowerState } from '../driver.js';
import { abortable, type PduDriverDeps, resolvePlug } from '../outlets.js';
import type { GpioRelayDeviceConfig } from './config.js';
import { type Level, type LineBackend, type LineIo, onoffBackend, sysfsBackend } from './lines.js';

export {
  type GpioRelayDeviceConfig,
  type GpioRelayDeviceInput,
  gpioRelayDeviceSchema,
  relaySchema,
} from './config.js';
export { type LineBackend, type LineIo, onoffBackend, sysfsBackend } from './lines.js';

export interface GpioRelayDeps extends PduDriverDeps {
  /** Line I/O override (tests); default from `backend` and `sysfs_root`. */
  backend?: LineBackend;
}

/** The family's factory: the parsed config (gpioRelayDeviceSchema) and its deps. */
export function createGpioRelayDriver(cfg: GpioRelayDeviceConfig, deps: GpioRelayDeps = {}): PowerDriver {
  const backend =
    deps.backend ??
    (cfg.backend === 'onoff' || (cfg.backend === 'auto' && cfg.sysfs_root === '/sys')
      ? onoffBackend()
      : sysfsBackend(cfg.sysfs_root));
  if (backend.kind === 'onoff' && cfg.sysfs_root !== '/sys')
    throw new DriverError(
      'config',
      cfg.name,
      `backend onoff only works on /sys, not sysfs_root ${cfg.sysfs_root}; use backend "sysfs"`,
    );
  return new GpioRelayDriver(cfg, backend, deps);
}

type Relay = GpioRelayDeviceConfig['relays'][string];

interface OpenRelay {
  out: LineIo;
  outLine: ResolvedGpioLine;
  sense?: LineIo;
}

class GpioRelayDriver implements PowerDriver {
  readonly family = 'gpio-relay';
  readonly device: string;
  private readonly open = new Map<number, Promise<OpenRelay>>();

  constructor(
    private readonly cfg: GpioRelayDeviceConfig,
    private readonly backend: LineBackend,
    private readonly deps: GpioRelayDeps,
  ) {
    this.device = cfg.name;
  }

  status(plug: string, signal: AbortSignal): Promise<PowerState> {
    return abortable(this.device, signal, async () => {
      const n = this.relayOf(plug);
      return this.read(n, await this.lines(n));
    });
  }

  off(plug: string, signal: AbortSignal): Promise<void> {
    return abortable(this.device, signal, () => this.drive(this.relayOf(plug), 'off'));
  }

  on(plug: string, signal: AbortSignal): Promise<void> {
    return abortable(this.device, signal, () => this.drive(this.relayOf(plug), 'on'));
  }

  list(signal: AbortSignal): Promise<PlugInfo[]> {
    return abortable(this.device, signal, async () => {
      const out: PlugInfo[] = [];
      for (const key of Object.keys(this.cfg.relays).sort((a, b) => Number(a) - Number(b))) {
        const n = Number(key);
        const state = await this.read(n, await this.lines(n));
        const name = this.cfg.outlets[key];
        out.push(name ? { plug: key, name, state } : { plug: key, state });
      }
      return out;
    });
  }

  async close(): Promise<void> {
    // Lines stay exported and driven: releasing a relay line would let it float.
    this.open.clear();
  }

  private relayOf(plug: string): number {
    const r = resolvePlug(this.device, plug, this.cfg.outlets);
    if ('name' in r || !this.cfg.relays[String(r.outlet)])
      throw new DriverError(
        'no-such-plug',
        this.device,
        `no relay "${plug}" (relays: ${Object.keys(this.cfg.relays)
          .map((k) => (this.cfg.outlets[k] ? `${k}=${this.cfg.outlets[k]}` : k))
          .join(', ')})`,
      );
    return r.outlet;
  }

  private relay(n: number): Relay {
    return this.cfg.relays[String(n)] as Relay;
  }

  /** Logical output level (1 = energised) that gives the wanted power state. */
  private levelFor(r: Relay, want: PowerState): Level {
    const energise = want === 'off' ? r.powered_when_deenergised : !r.powered_when_deenergised;
    return energise ? 1 : 0;
  }

  private async drive(n: number, want: PowerState): Promise<void> {
    const r = this.relay(n);
    const l = await this.lines(n);
    const level = this.levelFor(r, want);
    try {
      await l.out.write(level);
    } catch (e) {
      throw this.ioError(`drive relay ${n} (${want})`, e);
    }
    this.deps.log?.info({ device: this.device, relay: n, want, level, gpio: l.outLine.global }, 'relay driven');
  }

  private async read(n: number, l: OpenRelay): Promise<PowerState> {
    const r = this.relay(n);
    try {
      if (l.sense && r.sense) return (await l.sense.read()) === r.sense.powered_value ? 'on' : 'off';
      const level = await l.out.read();
      return level === this.levelFor(r, 'on') ? 'on' : 'off';
    } catch (e) {
      throw this.ioError(`read relay ${n}`, e);
    }
  }

  private lines(n: number): Promise<OpenRelay> {
    let p = this.open.get(n);
    if (!p) {
      p = this.openRelay(n);
      this.open.set(n, p);
      p.catch(() => this.open.delete(n));
    }
    return p;
  }

  private async openRelay(n: number): Promise<OpenRelay> {
    const r = this.relay(n);
    const resolve = (label: string | undefined, line: number, what: string): ResolvedGpioLine => {
      try {
        return resolveGpioLine({ chip_label: label ?? '', line }, { sysfsRoot: this.cfg.sysfs_root });
      } catch (e) {
        const msg = e instanceof GpioResolveError ? e.message : (e as Error).message;
        throw new DriverError('config', this.device, `relay ${n} ${what}: ${msg}`, { cause: e });
      }
    };
    const outLine = resolve(r.chip_label ?? this.cfg.chip_label, r.line, 'output');
    const senseLine = r.sense
      ? resolve(r.sense.chip_label ?? r.chip_label ?? this.cfg.chip_label, r.sense.line, 'sense input')
      : undefined;
    try {
      // a fresh line starts at the level that keeps the node powered; an exported output keeps its level
      const out = await this.backend.output(outLine, { activeLow: r.active_low, initial: this.levelFor(r, 'on') });
      const opened: OpenRelay = { out, outLine };
      if (senseLine && r.sense) opened.sense = await this.backend.input(senseLine, { activeLow: r.sense.active_low });
      this.deps.log?.debug(
        { device: this.device, relay: n, gpio: outLine.global, chip: outLine.chip },
        'relay line opened',
      );
      return opened;
    } catch (e) {
      throw this.ioError(`open relay ${n} (gpio${outLine.global} = ${outLine.label} line ${outLine.offset})`, e);
    }
  }

  private ioError(what: string, e: unknown): DriverError {
    if (e instanceof DriverError) return e;
    const msg = (e as Error).message;
    return new DriverError(/holds .* not 0 or 1/.test(msg) ? 'protocol' : 'io', this.device, `${what}: ${msg}`, {
      cause: e,
    });
  }
}
