/** Client side of the local control API (see daemon/control-protocol.ts). */
import { connect } from 'node:net';
import type {
  ControlMethod,
  ControlParams,
  ControlResponse,
  ControlResult,
  NoParams,
} from '../daemon/control-protocol.js';

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

/** Params may be left out for a method that takes none. */
type ParamsArgs<M extends ControlMethod> =
  NoParams extends ControlParams<M>
    ? [params?: ControlParams<M>, timeoutMs?: number]
    : [params: ControlParams<M>, timeoutMs?: number];

/**
 * Calls one control method (typed by ControlApi) and returns its result. Rejects with
 * DaemonUnreachableError when the socket cannot be reached, DaemonError when the daemon answered
 * with an error. `timeoutMs` bounds the whole call (fence operations wait for verification: pass
 * a larger one).
 */
export async function callDaemon<M extends ControlMethod>(
  socketPath: string,
  method: M,
  ...[params, timeoutMs]: ParamsArgs<M>
): Promise<ControlResult<M>> {
  // the daemon's handler for M answers ControlResult<M> (control-protocol.ts): the one cast at the wire
  return (await callDaemonRaw(socketPath, method, params ?? {}, timeoutMs)) as ControlResult<M>;
}

/** The untyped call under callDaemon: any method name, any params object (protocol tests). */
export function callDaemonRaw(
  socketPath: string,
  method: string,
  params: object = {},
  timeoutMs = 10_000,
): Promise<unknown> {
  return new Promise<unknown>((resolve, reject) => {
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
        res = JSON.parse(buf.slice(0, nl)) as ControlResponse; // checked below: ok decides
      } catch {
        finish(() => reject(new DaemonError('the daemon sent a malformed answer')));
        return;
      }
      finish(() => (res.ok ? resolve(res.result) : reject(new DaemonError(res.error, res.code))));
    });
    sock.on('close', () =>
      finish(() => reject(new DaemonError(`the daemon closed the connection before answering ${method}`))),
    );
  });
}
