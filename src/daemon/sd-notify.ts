/**
 * sd_notify(3) without a native addon. Node has no AF_UNIX datagram sockets, so each message is
 * sent by spawning systemd-notify(1) with the fields as arguments:
 *
 *  - systemd-notify sends on behalf of its parent by setting SCM_CREDENTIALS to the parent's
 *    PID; the kernel only allows that with CAP_SYS_ADMIN. Our daemon runs as an unprivileged
 *    user, so the datagram arrives with systemd-notify's own PID, which is not the unit's main
 *    PID: the unit needs NotifyAccess=all (accept any process of the unit's cgroup).
 *  - We keep systemd-notify's default barrier (BARRIER=1 + a pipe fd that PID 1 closes once it
 *    processed the message): the short-lived sender is then still alive when PID 1 maps its PID
 *    to our cgroup. The spawn is asynchronous (the barrier may take up to 5 s).
 *  - We never pass --pid: it would add MAINPID=, which under NotifyAccess=all re-designates the
 *    unit's main PID.
 *
 * Everything is a no-op when NOTIFY_SOCKET is unset (not started by systemd with Type=notify).
 */
import { execFile } from 'node:child_process';

export type NotifyFields = Record<string, string>;

export interface SdNotifyOptions {
  env?: NodeJS.ProcessEnv;
  /** systemd-notify binary; default from PATH. */
  bin?: string;
  timeoutMs?: number;
}

/** Builds the argument list: one KEY=VALUE per field; newlines in values are not allowed by the protocol. */
export function notifyArgs(fields: NotifyFields): string[] {
  return Object.entries(fields).map(([k, v]) => {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(k)) throw new Error(`sd_notify field name "${k}" is not an upper-case identifier`);
    return `${k}=${v.replace(/[\r\n]+/g, ' ')}`;
  });
}

/**
 * Sends the fields to $NOTIFY_SOCKET through systemd-notify. Resolves true when sent, false when
 * NOTIFY_SOCKET is unset; rejects with the tool's message when sending failed. The lead's daemon
 * calls sdNotify({ READY: '1', STATUS: '...' }) once every service started and
 * sdNotify({ STOPPING: '1', STATUS: '...' }) when an orderly stop begins.
 */
export function sdNotify(fields: NotifyFields, opts: SdNotifyOptions = {}): Promise<boolean> {
  const env = opts.env ?? process.env;
  if (!env.NOTIFY_SOCKET) return Promise.resolve(false);
  const args = notifyArgs(fields);
  if (args.length === 0) return Promise.resolve(false);
  return new Promise((resolve, reject) => {
    execFile(
      opts.bin ?? 'systemd-notify',
      args,
      { env: { ...process.env, ...env }, timeout: opts.timeoutMs ?? 7000, windowsHide: true },
      (err, _stdout, stderr) => {
        if (err) {
          const msg = (stderr || err.message).toString().trim().split('\n')[0];
          reject(new Error(`systemd-notify ${args.join(' ')} failed: ${msg}`));
        } else resolve(true);
      },
    );
  });
}

/** The service watchdog systemd asked for (WatchdogSec=), if it applies to this process. */
export function systemdWatchdogUsec(env: NodeJS.ProcessEnv = process.env, pid = process.pid): number | undefined {
  if (!env.NOTIFY_SOCKET || !env.WATCHDOG_USEC) return undefined;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return undefined;
  const usec = Number(env.WATCHDOG_USEC);
  return Number.isFinite(usec) && usec > 0 ? usec : undefined;
}

/**
 * The always-on part for a daemon that runs WITHOUT the watchdog service (watchdog.enabled:
 * false): sends WATCHDOG=1 every WATCHDOG_USEC/2 as long as the event loop turns and isAlive()
 * says the daemon's own loop is fine. Returns a stop function; a no-op when systemd asked for no
 * service watchdog. When the watchdog service runs, it sends these pings itself, gated like
 * the hardware feed — do not start both.
 */
export function startSystemdWatchdogPings(
  isAlive: () => boolean = () => true,
  opts: SdNotifyOptions & { onError?: (e: Error) => void } = {},
): () => void {
  const usec = systemdWatchdogUsec(opts.env ?? process.env);
  if (usec === undefined) return () => {};
  const every = Math.max(50, Math.floor(usec / 2000));
  let inFlight = false;
  const timer = setInterval(() => {
    if (inFlight || !isAlive()) return;
    inFlight = true;
    sdNotify({ WATCHDOG: '1' }, opts)
      .catch((e: Error) => opts.onError?.(e))
      .finally(() => {
        inFlight = false;
      });
  }, every);
  return () => clearInterval(timer);
}
