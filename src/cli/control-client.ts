/** Client side of the local control API (see daemon/control-protocol.ts). */
import { connect } from 'node:net';
import type { ControlResponse } from '../daemon/control-protocol.js';

export class DaemonUnreachableError extends Error {
  constructor(
    readonly socketPath: string,
    cause: unknown,
  ) {
    const code = (cause as NodeJS.ErrnoException)?.code;
    super(
      `cannot reach the rackwitness daemon at ${socketPath}${code ? ` (${code})` : ''}: is it running, and may this user open the socket?`,
    );
    this.name = 'DaemonUnreachableError';
  }
}

export class DaemonError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'DaemonError';
  }
}

/**
 * Calls one control method and returns its result. Rejects with DaemonUnreachableError when the
 * socket cannot be reached, DaemonError when the daemon answered with an error.
 * `timeoutMs` bounds the whole call (fence operations wait for verification: pass a larger one).
 */
export function callDaemon<T = unknown>(
  socketPath: string,
  method: string,
  params: Record<string, unknown> = {},
  timeoutMs = 10_000,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const sock = connect(socketPath);
    let buf = '';
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      fn();
    };
    const timer = setTimeout(
      () =>
        finish(() =>
          reject(new DaemonError(`no answer from the daemon to ${method} within ${timeoutMs} ms`, 'timeout')),
        ),
      timeoutMs,
    );
    sock.on('connect', () => sock.write(`${JSON.stringify({ id: 1, method, params })}\n`));
    sock.on('error', (e) => finish(() => reject(new DaemonUnreachableError(socketPath, e))));
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      let res: ControlResponse;
      try {
        res = JSON.parse(buf.slice(0, nl)) as ControlResponse;
      } catch {
        finish(() => reject(new DaemonError('the daemon sent a malformed answer')));
        return;
      }
      finish(() => (res.ok ? resolve(res.result as T) : reject(new DaemonError(res.error, res.code))));
    });
    sock.on('close', () =>
      finish(() => reject(new DaemonError(`the daemon closed the connection before answering ${method}`))),
    );
  });
}
