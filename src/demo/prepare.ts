/**
 * Demo mode (`npm start`): the committed demo config plus simulated devices, so a new user sees
 * every capability working on one machine. The demo creates the secrets its config refers to
 * (mode 0600, random), starts its simulated peers, and hands the daemon the final config.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parse, stringify } from 'yaml';
import { configJsonSchema } from '../config/json-schema.js';
import { type LoadedConfig, loadConfigText, walkMarked } from '../config/load.js';
import { ProviderRegistry } from '../daemon/providers.js';
import { baseTopicOf } from '../status/service.js';

export interface DemoHandle {
  /** The config the daemon runs with (secrets checked, simulated peers filled in). */
  loaded: LoadedConfig;
  /** What the demo's simulated peers provide the daemon's services. */
  providers: ProviderRegistry;
  stop(): Promise<void>;
  banner(): string;
}

/**
 * @param pre the demo config loaded without secret-file checks (the secrets do not exist yet).
 */
export async function prepareDemo(pre: LoadedConfig): Promise<DemoHandle> {
  const cfg = pre.config;
  // A fresh demo every time: events and journals of a previous demo run are removed.
  rmSync(cfg.box.state_dir, { recursive: true, force: true });
  walkMarked(configJsonSchema(), cfg as unknown, [], (_path, value, schema) => {
    if (schema['x-secret-file'] === true && typeof value === 'string' && !existsSync(value)) {
      mkdirSync(dirname(value), { recursive: true, mode: 0o700 });
      writeFileSync(value, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    }
  });
  const raw = (parse(readFileSync(pre.source, 'utf8')) ?? {}) as Record<string, unknown>;
  const stops: Array<() => Promise<void>> = [];
  const notes: string[] = [];
  const providers = new ProviderRegistry();
  // PostgreSQL: a real primary + streaming standby when the binaries are here, else a simulation.
  const { startDemoRack } = await import('./pg-rack.js');
  const pgRack = await startDemoRack();
  stops.push(() => pgRack.stop());
  if (pgRack.simulation) providers.provide('pgsql.simulatedRack', pgRack.simulation);
  raw.pgsql = pgRack.config;
  notes.push(`  PostgreSQL    ${pgRack.describe()}`, '                node dist/cli/main.js pg preflight --demo');
  // <demo:devices> capabilities start their simulated peers above this line
  let loaded: LoadedConfig;
  try {
    loaded = loadConfigText(stringify(raw), pre.source);
  } catch (e) {
    for (const s of stops.reverse()) await s().catch(() => {});
    throw e;
  }
  const c = loaded.config;
  const mqtt = c.status.mqtt;
  const broker = mqtt.url ?? `mqtt://${mqtt.embedded.host}:${mqtt.embedded.port} (embedded broker)`;
  const http = `http://${c.status.http.host === '0.0.0.0' ? '127.0.0.1' : c.status.http.host}:${c.status.http.port}`;
  return {
    loaded,
    providers,
    async stop() {
      for (const s of stops.reverse()) await s().catch(() => {});
    },
    banner: () =>
      [
        '',
        `rackwitness demo is running (box "${c.box.name}", simulated devices).`,
        `  status page   ${http}/`,
        `  metrics       ${http}/metrics`,
        `  MQTT          ${broker}`,
        `                mosquitto_sub -h ${mqtt.embedded.host} -p ${mqtt.embedded.port} -v -t '${baseTopicOf(c)}/#'`,
        '  CLI           node dist/cli/main.js status --demo',
        '                node dist/cli/main.js events --demo',
        ...(c.fencing ? ['                node dist/cli/main.js fence node-b --action reboot --demo'] : []),
        ...notes,
        '  stop          Ctrl-C',
        '',
      ].join('\n'),
  };
}
