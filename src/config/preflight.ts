/**
 * The checks `run` makes before anything starts that need more than the config file: the files
 * the config names (booth.conf, booth authfile, fence API keys), the listeners across services
 * (a booth port is in booth.conf, not in the YAML), and the demo switch. `rackwitness run` and
 * `rackwitness config check` both call `preflight()` after loading, so every refusal of `run`
 * that a config can cause is found by `check`. Binds nothing, opens no device.
 */
import { ConfigError, type LoadedConfig } from './load.js';
import type { ConfigProblem } from './rules.js';
import type { Config } from './schema.js';

export interface PreflightOptions {
  /** `run --demo`: simulated devices are allowed. */
  demo?: boolean;
}

export interface Listener {
  /** YAML path of the key to change, e.g. "fencing.api.port". */
  path: string;
  what: string;
  host: string;
  port: number;
  proto: 'tcp' | 'udp' | 'tcp+udp';
}

/** Runs every preflight check; throws a ConfigError listing every problem. */
export async function preflight(loaded: LoadedConfig, opts: PreflightOptions = {}): Promise<void> {
  const problems = await preflightProblems(loaded.config, opts);
  if (problems.length) throw new ConfigError(loaded.source, problems);
}

export async function preflightProblems(c: Config, opts: PreflightOptions = {}): Promise<ConfigProblem[]> {
  const problems: ConfigProblem[] = [];
  const listeners: Listener[] = [];
  if (c.status.enabled) {
    if (c.status.http.enabled)
      listeners.push({
        path: 'status.http.port',
        what: 'the status HTTP server',
        host: c.status.http.host,
        port: c.status.http.port,
        proto: 'tcp',
      });
    if (c.status.mqtt.enabled && c.status.mqtt.url === undefined)
      listeners.push({
        path: 'status.mqtt.embedded.port',
        what: 'the embedded MQTT broker',
        host: c.status.mqtt.embedded.host,
        port: c.status.mqtt.embedded.port,
        proto: 'tcp',
      });
  }

  const f = c.fencing;
  if (f?.enabled) {
    const { deviceName, isSimulated } = await import('../fencing/devices/registry.js');
    for (const dc of f.devices) {
      if (isSimulated(dc) && !opts.demo && !f.allow_simulated)
        problems.push({
          path: `fencing.devices.${deviceName(dc)}`,
          message:
            'a simulated ("sim") device fences nothing real; it is allowed only in the demo or with fencing.allow_simulated: true',
        });
    }
    if (f.api.enabled) {
      const { readKeyFile } = await import('../fencing/api/protocol.js');
      f.api.keys.forEach((k, i) => {
        try {
          readKeyFile(k.key_file);
        } catch (e) {
          problems.push({ path: `fencing.api.keys.${i}.key_file (${k.id})`, message: (e as Error).message });
        }
      });
      listeners.push({
        path: 'fencing.api.port',
        what: 'the fence agent API',
        host: f.api.host,
        port: f.api.port,
        proto: 'tcp',
      });
    }
  }

  const a = c.arbitrator;
  if (a?.enabled) {
    const { readArbitratorFiles } = await import('../arbitrator/setup.js');
    try {
      const files = await readArbitratorFiles({
        boothConfig: a.booth_config,
        authfile: a.authfile,
        address: a.address,
        guard: a.pg_guard.enabled ? { tickets: new Set(a.pg_guard.tickets) } : undefined,
      });
      listeners.push({
        path: `arbitrator.booth_config (port = ${files.conf.port})`,
        what: `the booth arbitrator (${a.booth_config})`,
        host: files.self.address,
        port: files.conf.port,
        proto: 'tcp+udp',
      });
    } catch (e) {
      const msg = (e as Error).message;
      problems.push({
        path: msg.startsWith('arbitrator.pg_guard') ? 'arbitrator.pg_guard.tickets' : 'arbitrator.booth_config',
        message: msg.replace(/^arbitrator\.pg_guard\.tickets: /, ''),
      });
    }
  }

  problems.push(...listenerClashes(listeners));
  return problems;
}

const WILDCARD = new Set(['0.0.0.0', '::', '', '*']);

/** Pure: two listeners clash when their ports and protocols meet and their hosts overlap. */
export function listenerClashes(ls: readonly Listener[]): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (let i = 0; i < ls.length; i++) {
    for (let j = 0; j < i; j++) {
      const x = ls[i] as Listener;
      const y = ls[j] as Listener;
      if (x.port !== y.port) continue;
      const protoMeet = x.proto === y.proto || x.proto === 'tcp+udp' || y.proto === 'tcp+udp';
      const hostMeet = x.host === y.host || WILDCARD.has(x.host) || WILDCARD.has(y.host);
      if (protoMeet && hostMeet)
        out.push({
          path: x.path,
          message: `port ${x.port} of ${x.what} on ${x.host} is also the port of ${y.what} on ${y.host} (${y.path}); they cannot both listen`,
        });
    }
  }
  return out;
}
