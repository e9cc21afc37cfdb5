/** A ServiceContext for running the pgsql service inside a test (no daemon around it). */
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { configSchema } from '../../../src/config/schema.js';
import { EventLog } from '../../../src/daemon/events.js';
import { ProviderRegistry } from '../../../src/daemon/providers.js';
import type { ControlHandler, DaemonView, ServiceContext } from '../../../src/daemon/service.js';
import { Heartbeats } from '../../../src/watchdog/heartbeat.js';

export interface TestCtx {
  ctx: ServiceContext;
  handlers: Map<string, ControlHandler>;
  events: EventLog;
  metrics: Registry;
  changes(): number;
}

export function makeServiceCtx(
  pgsql: Record<string, unknown>,
  opts: { demo?: boolean; stateDir?: string; sections?: Record<string, unknown> } = {},
): TestCtx {
  const handlers = new Map<string, ControlHandler>();
  let changes = 0;
  const events = new EventLog(undefined, 1000);
  const metrics = new Registry();
  const daemon: DaemonView = {
    status: () => {
      throw new Error('no daemon in this test');
    },
    entities: () => [],
    onChange: () => () => {},
  };
  const ctx: ServiceContext = {
    config: configSchema.parse({ pgsql, ...opts.sections }),
    log: pino({ level: 'silent' }),
    events,
    metrics,
    providers: new ProviderRegistry(),
    heartbeats: new Heartbeats(),
    stateDir: opts.stateDir ?? '/nonexistent',
    changed: () => {
      changes++;
    },
    health: () => ({}),
    admission: () => undefined,
    handle: (m, h) => {
      handlers.set(m, h);
    },
    demo: opts.demo ?? true,
    daemon,
  };
  return { ctx, handlers, events, metrics, changes: () => changes };
}
