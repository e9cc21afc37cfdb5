/** `rackwitness run`: load config, start the daemon, stop it cleanly on SIGTERM/SIGINT. */
import type { Logger } from 'pino';
import { ConfigError } from '../config/load.js';
import { Daemon, StartError } from '../daemon/daemon.js';
import { createLogger } from '../daemon/logger.js';
import { sdNotify, startSystemdWatchdogPings } from '../daemon/sd-notify.js';
import type { DemoHandle } from '../demo/prepare.js';
import { type ConfigOpts, loadFor } from './config-source.js';
import { reportConfigError } from './core-commands.js';

export async function runDaemon(opts: ConfigOpts): Promise<number> {
  let loaded: Awaited<ReturnType<typeof loadFor>>;
  let demo: Pick<DemoHandle, 'stop' | 'banner' | 'providers'> | undefined;
  try {
    if (opts.demo) {
      // The demo creates its own secrets and simulated peers, then loads the final config.
      const { prepareDemo } = await import('../demo/prepare.js');
      const prepared = await prepareDemo(await loadFor(opts, { skipFileChecks: true }));
      demo = prepared;
      loaded = prepared.loaded;
    } else {
      loaded = await loadFor(opts);
    }
    // the same checks `config check` makes: files the config names, listeners, the demo switch
    const { preflight } = await import('../config/preflight.js');
    await preflight(loaded, { demo: opts.demo === true });
  } catch (e) {
    if (reportConfigError(e)) return 1;
    if (e instanceof ConfigError) return 1;
    process.stderr.write(`rackwitness: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  const cfg = loaded.config;
  const log = createLogger(cfg.log.level, cfg.log.format);
  process.on('uncaughtException', (e) => {
    // No orderly stop on a crash: the watchdog must not be disarmed by a dying process.
    log.fatal({ err: e instanceof Error ? e.stack : String(e) }, 'uncaught exception; exiting');
    process.exit(70);
  });
  process.on('unhandledRejection', (e) => {
    log.fatal({ err: e instanceof Error ? e.stack : String(e) }, 'unhandled rejection; exiting');
    process.exit(70);
  });

  const daemon = new Daemon({ loaded, log, demo: opts.demo === true, providers: demo?.providers });
  const t0 = performance.now();
  try {
    await daemon.start();
  } catch (e) {
    const msg =
      e instanceof StartError ? e.message : `daemon failed to start: ${e instanceof Error ? e.message : String(e)}`;
    log.error(msg);
    process.stderr.write(`rackwitness: ${msg}\n`);
    await demo?.stop().catch(() => {});
    return 1;
  }
  const readyMs = Math.round(performance.now() - t0);
  const status = daemon.status();
  log.info({ ready_ms: readyMs, overall: status.overall, socket: cfg.control.socket }, 'rackwitness ready');
  // systemd Type=notify: READY once every service started. WATCHDOG=1 pings come from the
  // watchdog service, gated on health like the hardware feed; without it (watchdog.enabled:
  // false) nothing else would answer the unit's WatchdogSec= and systemd would kill the daemon,
  // so the daemon pings while its event loop turns.
  await notify(log, { READY: '1', STATUS: `ready: ${status.overall}, ${status.services.length} services` });
  const stopPings =
    (cfg.watchdog?.enabled ?? true)
      ? () => undefined
      : startSystemdWatchdogPings(() => true, {
          onError: (e) => log.warn({ err: e.message }, 'sd_notify WATCHDOG=1 failed'),
        });
  if (demo) process.stdout.write(demo.banner());
  // Benchmarks and supervisors read this line on stdout.
  if (process.env.RW_READY_LINE === '1') process.stdout.write(`READY ${readyMs}\n`);

  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (sig: NodeJS.Signals) => {
      if (stopping) {
        log.warn({ signal: sig }, 'second signal: exiting now');
        process.exit(1);
      }
      stopping = true;
      stopPings();
      log.info({ signal: sig }, 'stopping');
      void notify(log, { STOPPING: '1', STATUS: `stopping (${sig})` })
        .then(() => daemon.stop())
        .then(() => demo?.stop())
        .then(
          () => resolve(0),
          () => resolve(1),
        );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/** sd_notify that never fails the daemon: a supervisor that cannot be told is logged, not fatal. */
async function notify(log: Logger, fields: Record<string, string>): Promise<void> {
  try {
    await sdNotify(fields);
  } catch (e) {
    log.warn({ err: e instanceof Error ? e.message : String(e) }, 'sd_notify failed');
  }
}
