/**
 * A simulated power device: the demo's power switch and the core's test double. It keeps the
 * power state of its plugs in memory, answers after a configurable latency and can be told to
 * misbehave the ways real devices do (stuck relay, unreachable, refusing, failing power-on,
 * flaky reads). It never pretends to be real hardware: its family is "sim" everywhere.
 */
import { DriverError, type PlugInfo, type PowerDriver, type PowerState } from '../driver.js';
import type { SimDeviceConfig, SimFault } from './config.js';

export { type SimDeviceConfig, type SimFault, simDeviceSchema, simFaults } from './config.js';

/** What a sim device did, for tests and the demo (never used as proof by the core). */
export interface SimTransition {
  at: number;
  plug: string;
  state: PowerState;
}

export interface SimDriver extends PowerDriver {
  readonly family: 'sim';
  setFault(fault: SimFault): void;
  fault(): SimFault;
  /** Sets the power state directly (like pressing the server's power button). */
  force(plug: string, state: PowerState): void;
  peek(plug: string): PowerState | undefined;
  transitions(): readonly SimTransition[];
  /** Requests received: "status plug", "off plug", ... */
  requests(): readonly string[];
}

/** The simulated link's latency, cut short (rejected) by the caller's deadline. */
function latency(device: string, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(new DriverError('timeout', device, 'request aborted'));
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new DriverError('timeout', device, 'no answer before the deadline'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** An unreachable device never answers: rejects at the caller's deadline. */
function neverAnswer(device: string, signal: AbortSignal): Promise<void> {
  return new Promise<void>((_, reject) => {
    const onAbort = () => reject(new DriverError('timeout', device, 'no answer (simulated unreachable device)'));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

export function createSimDriver(cfg: SimDeviceConfig): SimDriver {
  const device = cfg.name;
  const power = new Map<string, PowerState>(cfg.plugs.map((p) => [p, cfg.initial]));
  const pending = new Map<string, NodeJS.Timeout>();
  const history: SimTransition[] = [];
  const reqs: string[] = [];
  let fault: SimFault = cfg.fault;
  let reads = 0;
  let closed = false;

  const set = (plug: string, state: PowerState) => {
    if (power.get(plug) === state) return;
    power.set(plug, state);
    history.push({ at: Date.now(), plug, state });
  };

  const request = async (what: string, plug: string | undefined, signal: AbortSignal) => {
    reqs.push(plug === undefined ? what : `${what} ${plug}`);
    if (closed) throw new DriverError('io', device, 'driver closed');
    if (fault === 'unreachable') {
      await neverAnswer(device, signal);
    }
    await latency(device, cfg.latency_ms, signal);
    if (plug !== undefined && !power.has(plug)) throw new DriverError('no-such-plug', device, `no plug "${plug}"`);
  };

  const schedule = (plug: string, state: PowerState) => {
    const old = pending.get(plug);
    if (old) clearTimeout(old);
    if (cfg.switch_delay_ms === 0) {
      set(plug, state);
      return;
    }
    const t = setTimeout(() => {
      pending.delete(plug);
      set(plug, state);
    }, cfg.switch_delay_ms);
    t.unref();
    pending.set(plug, t);
  };

  return {
    family: 'sim',
    device,
    async status(plug, signal) {
      await request('status', plug, signal);
      reads++;
      if (fault === 'flaky' && reads % 2 === 0)
        throw new DriverError('timeout', device, 'no answer (simulated flaky link)');
      return power.get(plug) as PowerState;
    },
    async off(plug, signal) {
      await request('off', plug, signal);
      if (fault === 'refuse') throw new DriverError('refused', device, `off of plug "${plug}" rejected (simulated)`);
      if (fault === 'stuck-on') return; // accepted, relay welded
      schedule(plug, 'off');
    },
    async on(plug, signal) {
      await request('on', plug, signal);
      if (fault === 'refuse' || fault === 'on-fails') {
        throw new DriverError('refused', device, `on of plug "${plug}" rejected (simulated)`);
      }
      schedule(plug, 'on');
    },
    async list(signal): Promise<PlugInfo[]> {
      await request('list', undefined, signal);
      return [...power].map(([plug, state]) => ({ plug, state }));
    },
    async close() {
      closed = true;
      for (const t of pending.values()) clearTimeout(t);
      pending.clear();
    },
    setFault(f) {
      fault = f;
    },
    fault: () => fault,
    force(plug, state) {
      if (!power.has(plug)) throw new DriverError('no-such-plug', device, `no plug "${plug}"`);
      set(plug, state);
    },
    peek: (plug) => power.get(plug),
    transitions: () => history,
    requests: () => reqs,
  };
}
