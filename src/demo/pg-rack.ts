/**
 * The demo's PostgreSQL rack. With the PostgreSQL 15 server binaries installed (and, when we run
 * as root, a `postgres` OS user to run them as), a REAL throw-away rack: primary + streaming
 * standby on free loopback ports in a temp dir (about 1.5–3 s to start). Otherwise an in-process
 * SIMULATED rack the observer polls through the same RackSource interface, labelled "simulated"
 * in status, metrics (rackwitness_pgsql_simulated 1), MQTT and events.
 *
 * Usage (daemon demo mode):
 *   const rack = await startDemoRack();
 *   config.pgsql = rack.config;          // the parsed pgsql section to observe
 *   ...; await rack.stop();              // on demo stop
 */
import { readFileSync } from 'node:fs';
import { type PgsqlConfig, pgsqlConfigSchema } from '../pgsql/config.js';
import { DEFAULT_PG_BIN, MONITOR_ROLE, pgBinariesPresent, type RealRack, startRealRack } from './pg-real-rack.js';
import { SimulatedRack } from './pg-simulated-rack.js';

export interface DemoRackOptions {
  /** Node names; default node-a, node-b. */
  names?: [string, string];
  /** Force the simulation even when PostgreSQL is installed. */
  simulate?: boolean;
  pgBin?: string;
  pollIntervalS?: number;
}

export interface DemoRack {
  kind: 'real' | 'simulated';
  /** The parsed `pgsql` config section pointing at the rack. */
  config: PgsqlConfig;
  /** One line for the demo banner. */
  describe(): string;
  /** The real rack (kind real): run pg_ctl, kill -9 a node, promote... to show failures. */
  real?: RealRack;
  /**
   * The simulation (kind simulated): crash(), promote(), setStreaming(), switchover(). The
   * daemon provides it to the pgsql observer ('pgsql.simulatedRack').
   */
  simulation?: SimulatedRack;
  stop(): Promise<void>;
}

function canRunPostgres(pgBin: string): boolean {
  if (!pgBinariesPresent(pgBin)) return false;
  // root runs PostgreSQL through runuser as the postgres OS user; without that user, simulate
  if (typeof process.getuid === 'function' && process.getuid() === 0) {
    try {
      return readFileSync('/etc/passwd', 'utf8')
        .split('\n')
        .some((l) => l.startsWith('postgres:'));
    } catch {
      return false;
    }
  }
  return true;
}

export async function startDemoRack(opts: DemoRackOptions = {}): Promise<DemoRack> {
  const names = opts.names ?? ['node-a', 'node-b'];
  const pgBin = opts.pgBin ?? DEFAULT_PG_BIN;
  const poll = opts.pollIntervalS ?? 2;
  let why = opts.simulate ? 'simulation requested' : '';
  if (!opts.simulate && canRunPostgres(pgBin)) {
    try {
      const t0 = performance.now();
      const rack = await startRealRack({ names, pgBin });
      const ms = performance.now() - t0;
      const config = pgsqlConfigSchema.parse({
        nodes: rack.nodes.map((n) => ({
          name: n.name,
          host: rack.host,
          port: n.port,
          user: MONITOR_ROLE,
          dbname: 'postgres',
        })),
        poll_interval_s: poll,
        connect_timeout_s: 1,
        statement_timeout_s: 1,
      });
      return {
        kind: 'real',
        config,
        real: rack,
        describe: () =>
          `PostgreSQL rack (real, PG15): ${rack.nodes.map((n) => `${n.name} 127.0.0.1:${n.port}`).join(', ')} in ${rack.dir} (started in ${ms} ms)`,
        stop: () => rack.stop(true),
      };
    } catch (e) {
      why = `a real rack could not start (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`;
    }
  } else if (!opts.simulate) {
    why = `PostgreSQL server binaries not usable in ${pgBin}`;
  }
  const simulation = new SimulatedRack({ names });
  const config = pgsqlConfigSchema.parse({
    nodes: names.map((name, i) => ({ name, host: `simulated-${name}`, port: 5432 + i })),
    poll_interval_s: poll,
    simulated: true,
  });
  return {
    kind: 'simulated',
    config,
    simulation,
    describe: () => `PostgreSQL rack: SIMULATED in-process (${why}): ${names.join(', ')}`,
    stop: async () => {
      // nothing to release: the simulation lives in this process only
    },
  };
}
