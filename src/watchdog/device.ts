/**
 * The Linux watchdog device from plain Node (no ioctl): open = arm, any write = keepalive,
 * 'V' written right before close = magic close (disarm) — only on an orderly stop. A crash,
 * SIGKILL or uncaught exception closes the fd without 'V' (the kernel closes it), the timer keeps
 * running and the board resets: nothing here installs exit/uncaughtException handlers.
 * Writes are synchronous on the main thread: the async fs API runs on the libuv thread pool,
 * where a saturated pool would delay a keepalive silently.
 *
 * The timeout cannot be set without WDIOC_SETTIMEOUT; it is set outside the daemon (kernel
 * cmdline bcm2835_wdt.heartbeat=, modprobe options, `wdctl -s`, or systemd RuntimeWatchdogSec=
 * when PID 1 owns the device) and read back from sysfs here.
 */
import { closeSync, constants, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';

export interface WatchdogSysfsInfo {
  /** The directory read, <root>/class/watchdog/<name>. */
  dir: string;
  identity?: string;
  timeout_s?: number;
  timeleft_s?: number;
  nowayout?: boolean;
  state?: string;
}

/** class/watchdog name of a device path: /dev/watchdogN → watchdogN, /dev/watchdog → watchdog0. */
export function sysfsNameFor(device: string, override?: string): string {
  if (override) return override;
  const b = basename(device);
  if (b === 'watchdog') return 'watchdog0';
  return b;
}

function readOpt(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Reads the sysfs attributes that exist (they are driver-dependent: timeleft often is not). */
export function readWatchdogSysfs(sysfsRoot: string, name: string): WatchdogSysfsInfo {
  const dir = join(sysfsRoot, 'class', 'watchdog', name);
  const num = (f: string) => {
    const v = readOpt(join(dir, f));
    const n = v === undefined ? Number.NaN : Number(v);
    return Number.isFinite(n) ? n : undefined;
  };
  const info: WatchdogSysfsInfo = { dir };
  const identity = readOpt(join(dir, 'identity'));
  if (identity !== undefined) info.identity = identity;
  const timeout = num('timeout');
  if (timeout !== undefined) info.timeout_s = timeout;
  const timeleft = num('timeleft');
  if (timeleft !== undefined) info.timeleft_s = timeleft;
  const nowayout = num('nowayout');
  if (nowayout !== undefined) info.nowayout = nowayout === 1;
  const state = readOpt(join(dir, 'state'));
  if (state !== undefined) info.state = state;
  return info;
}

export class WatchdogOpenError extends Error {
  constructor(
    readonly device: string,
    readonly code: string | undefined,
    detail: string,
  ) {
    super(`watchdog device ${device}: ${detail}`);
    this.name = 'WatchdogOpenError';
  }
}

function openHint(code: string | undefined): string {
  switch (code) {
    case 'ENOENT':
      return 'no such device (is dtparam=watchdog=on in config.txt, or the driver module loaded?)';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied (the daemon user needs group "watchdog" and the udev rule from board/udev/, and DeviceAllow= in the unit)';
    case 'EBUSY':
      return 'busy: another process owns it (systemd RuntimeWatchdogSec=, the watchdog package, sbd); only one owner per device';
    case 'ENXIO':
      return 'no reader on the FIFO standing in for the device';
    default:
      return code ?? 'unknown error';
  }
}

/** An open, armed watchdog device. */
export class WatchdogDevice {
  private fd: number | undefined;
  private writes = 0;

  private constructor(
    readonly path: string,
    fd: number,
  ) {
    this.fd = fd;
  }

  /**
   * Opens (and thereby arms) the device. A FIFO standing in for the device in tests is opened
   * non-blocking so that a missing reader fails (ENXIO) instead of hanging the daemon.
   */
  static open(path: string): WatchdogDevice {
    let flags = constants.O_WRONLY;
    try {
      if (statSync(path).isFIFO()) flags |= constants.O_NONBLOCK;
    } catch {
      // let open() report the problem
    }
    try {
      return new WatchdogDevice(path, openSync(path, flags));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new WatchdogOpenError(path, code, `cannot open: ${openHint(code)}`);
    }
  }

  get isOpen(): boolean {
    return this.fd !== undefined;
  }

  get keepalives(): number {
    return this.writes;
  }

  /** One keepalive (a NUL byte, as sbd writes). Throws when the device refuses the write. */
  keepalive(): void {
    if (this.fd === undefined) throw new Error(`watchdog device ${this.path} is not open`);
    writeSync(this.fd, '\0');
    this.writes++;
  }

  /** Orderly stop only: writes the magic 'V' and closes, which disarms unless nowayout is set. Never throws. */
  magicClose(): boolean {
    if (this.fd === undefined) return false;
    const fd = this.fd;
    this.fd = undefined;
    let ok = true;
    try {
      writeSync(fd, 'V');
    } catch {
      ok = false;
    }
    try {
      closeSync(fd);
    } catch {
      // already gone
    }
    return ok;
  }
}
