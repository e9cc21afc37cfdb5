/**
 * Foundation benchmark: cold start to ready (process spawn to the READY line, i.e. every service
 * started and the feed connected) and idle RSS with the status feed and embedded broker on.
 * Targets on a 2-core x86 VM: ready <= 1.5 s, RSS <= 80 MB. There is no peer for this row.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { CLI, cleanEnv, NODE_FLAGS, startDaemon } from '../test/fixtures/cli.js';
import { createPgRack } from '../test/fixtures/pg-rack.js';
import { cleanupDir, freePort, sleep, spawnProc, tempDir } from '../test/fixtures/proc.js';
import { median, packagedLayout } from './lib.js';

const RUNS = 7;
const RSS_RUNS = 3;

function rssMb(pid: number): number {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
  return Number(m?.[1]) / 1024;
}

it('cold start and idle RSS', async () => {
  const startMs: number[] = [];
  const rss: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const dir = cleanupDir(tempDir('rw-bench-'));
    const file = join(dir, 'rackwitness.yaml');
    writeFileSync(
      file,
      `box:\n  name: bench\n  state_dir: state\ncontrol:\n  socket: c.sock\nlog:\n  format: json\n  level: warn\nstatus:\n  http:\n    host: 127.0.0.1\n    port: ${await freePort()}\n  mqtt:\n    embedded:\n      host: 127.0.0.1\n      port: ${await freePort()}\n`,
    );
    const t0 = performance.now();
    const d = await startDaemon(['--config', file]);
    startMs.push(performance.now() - t0);
    await sleep(3000);
    rss.push(rssMb(d.child.pid as number));
    await d.kill('SIGTERM');
  }
  const result = {
    title: 'Daemon: cold start and idle memory',
    rows: [
      {
        name: 'cold start to ready (spawn → READY)',
        ours_ms: Math.round(median(startMs)),
        target_ms: 1500,
        runs: RUNS,
      },
      {
        name: 'idle RSS, feed + embedded broker on (MB)',
        ours_mb: Math.round(median(rss) * 10) / 10,
        target_mb: 80,
        runs: RUNS,
      },
    ],
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/daemon.json', `${JSON.stringify(result, null, 2)}\n`);
  console.table(result.rows);
  expect(startMs.length).toBe(RUNS);
});

/** Every service on (status with embedded broker, fencing with its API, booth arbitrator, the
 *  PostgreSQL observer on a real PG15 primary + streaming standby, the watchdog service with
 *  mode off: no hardware here), idle RSS after the services settle: the dist/ build and the
 *  rackwitness package's bundle, same config, same rack, the unit's V8 flags. */
it('idle RSS, every service on, observer watching a real PostgreSQL pair', async () => {
  const rack = await createPgRack({ prefix: 'rw-bench-rss-' });
  try {
    const [a] = rack.nodes;
    await rack.sql(a, 'CREATE ROLE rackwitness LOGIN IN ROLE pg_monitor');
    const pkg = await packagedLayout();
    const bundle = pkg.cli[pkg.cli.length - 1] as string;
    const measureRss = async (entry: string): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < RSS_RUNS; i++) {
        const dir = cleanupDir(tempDir('rw-bench-rss-'));
        const keyFile = join(dir, 'fence.key');
        writeFileSync(keyFile, `${'ab'.repeat(32)}\n`, { mode: 0o600 });
        const boothPort = await freePort();
        writeFileSync(
          join(dir, 'booth.conf'),
          `transport = UDP\nport = ${boothPort}\narbitrator = 127.0.0.1\nsite = 127.0.0.2\nsite = 127.0.0.3\nticket = "db"\n    expire = 60\n    timeout = 5\n    retries = 3\n`,
        );
        const cfg = {
          box: { name: 'bench', state_dir: 'state' },
          control: { socket: 'c.sock' },
          log: { format: 'json', level: 'warn' },
          status: {
            http: { host: '127.0.0.1', port: await freePort() },
            mqtt: { embedded: { host: '127.0.0.1', port: await freePort() } },
          },
          watchdog: { mode: 'off' },
          fencing: {
            // no BMCs here: simulated devices, the same service and API as with real ones
            allow_simulated: true,
            corosync_token_ms: 1000,
            boot_delay_s: 3,
            devices: [
              { driver: 'sim', name: 'bmc-a', plugs: ['chassis'] },
              { driver: 'sim', name: 'bmc-b', plugs: ['chassis'] },
            ],
            targets: {
              'node-a': { levels: [{ plugs: [{ device: 'bmc-a', plug: 'chassis' }] }] },
              'node-b': { levels: [{ plugs: [{ device: 'bmc-b', plug: 'chassis' }] }] },
            },
            api: { host: '127.0.0.1', port: await freePort(), keys: [{ id: 'rack', key_file: keyFile }] },
          },
          arbitrator: { booth_config: 'booth.conf' },
          pgsql: {
            nodes: rack.nodes.map((n) => ({ name: n.name, host: '127.0.0.1', port: n.port, user: 'rackwitness' })),
          },
        };
        const file = join(dir, 'rackwitness.yaml');
        writeFileSync(file, JSON.stringify(cfg));
        const d = spawnProc(process.execPath, [...NODE_FLAGS, entry, 'run', '--config', file], {
          env: cleanEnv({ RW_READY_LINE: '1' }),
        });
        await d.waitFor(/^READY \d+$/m, 30_000);
        await sleep(5000); // idle: the observer polls, the arbitrator and the feed tick
        out.push(rssMb(d.child.pid as number));
        await d.kill('SIGTERM');
      }
      return out;
    };
    const dist = await measureRss(CLI);
    const packaged = await measureRss(bundle);
    const row = {
      name: 'idle RSS, every service on, observer on a real PG15 pair (packaged bundle, MB)',
      ours_mb: Math.round(median(packaged) * 10) / 10,
      peer: 'same daemon from dist/ (tsc output)',
      peer_mb: Math.round(median(dist) * 10) / 10,
      target_mb: 80,
      met: median(packaged) <= 80,
      runs: RSS_RUNS,
      note: 'status + embedded broker, fencing + API (sim devices), booth arbitrator, pgsql observer (primary + streaming standby), watchdog service (mode off); RSS 5 s after READY; node --max-semi-space-size=1 --optimize-for-size',
    };
    const file = 'bench/results/daemon.json';
    const prev = JSON.parse(readFileSync(file, 'utf8')) as { rows: unknown[] };
    prev.rows.push(row);
    writeFileSync(file, `${JSON.stringify(prev, null, 2)}\n`);
    console.table([row]);
    expect(packaged.length).toBe(RSS_RUNS);
  } finally {
    await rack.destroy();
  }
});
