/**
 * Demo mode (`npm start`): the committed demo config plus simulated devices, so a new user sees
 * every capability working on a laptop. Each capability adds its simulated device here.
 */
import { rmSync } from 'node:fs';
import type { LoadedConfig } from '../config/load.js';
import { baseTopicOf } from '../status/service.js';

export interface DemoHandle {
  stop(): Promise<void>;
  banner(): string;
}

export async function prepareDemo(loaded: LoadedConfig): Promise<DemoHandle> {
  const cfg = loaded.config;
  // A fresh demo every time: old events and journals from a previous demo run are removed.
  rmSync(cfg.box.state_dir, { recursive: true, force: true });
  const stops: Array<() => Promise<void>> = [];
  // <demo:devices> capabilities start their simulated devices above this line
  const mqtt = cfg.status.mqtt;
  const broker = mqtt.url ?? `mqtt://${mqtt.embedded.host}:${mqtt.embedded.port} (embedded broker)`;
  const http = `http://${cfg.status.http.host === '0.0.0.0' ? '127.0.0.1' : cfg.status.http.host}:${cfg.status.http.port}`;
  return {
    async stop() {
      for (const s of stops.reverse()) await s().catch(() => {});
    },
    banner: () =>
      [
        '',
        `rackwitness demo is running (box "${cfg.box.name}", simulated devices).`,
        `  status page   ${http}/`,
        `  metrics       ${http}/metrics`,
        `  MQTT          ${broker}`,
        `                mosquitto_sub -h ${mqtt.embedded.host} -p ${mqtt.embedded.port} -v -t '${baseTopicOf(cfg)}/#'`,
        `  CLI           node dist/cli/main.js status --demo`,
        `                node dist/cli/main.js events --demo`,
        '  stop          Ctrl-C',
        '',
      ].join('\n'),
  };
}
