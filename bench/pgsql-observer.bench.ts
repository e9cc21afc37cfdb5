/**
 * PostgreSQL rack observer: cost of one observation of both nodes of a real PG15 rack (primary +
 * streaming standby on loopback), ours vs what a script or PAF's monitor runs, in the same run
 * against the same rack:
 *  1. warm poll (our persistent connections, one query per node) vs psql running the same query;
 *  2. cold role probe of both nodes (ours: connect + full observation + close) vs PAF's monitor
 *     probe per node (pg_isready, then psql "SELECT pg_is_in_recovery()");
 *  3. switchover preflight, in-process with cold connections and through the CLI process, vs the
 *     reference lab's is_streaming shell check (3 psql calls, both sides + timeline; fewer checks
 *     than ours). The CLI row also reports the bare CLI start-up (`rackwitness --version`).
 * Medians; ratio = peer / ours.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { pgsqlConfigSchema } from '../src/pgsql/config.js';
import { preflight } from '../src/pgsql/observer/preflight.js';
import { OBSERVATION_SQL } from '../src/pgsql/observer/query.js';
import { pollRack, preflightOptions, sourceFor } from '../src/pgsql/service.js';
import { runCli } from '../test/fixtures/cli.js';
import { createPgRack, PG_BINDIR } from '../test/fixtures/pg-rack.js';
import { cleanupDir, tempDir } from '../test/fixtures/proc.js';
import { median } from './lib.js';

const RUNS = 21;

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 30_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd}: ${stderr || err.message}`)) : resolve(stdout),
    );
  });
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

it('observer vs psql / PAF probes', async () => {
  const rack = await createPgRack();
  const [a, b] = rack.nodes;
  await rack.sql(a, 'CREATE ROLE rackwitness LOGIN IN ROLE pg_monitor');
  const cfg = pgsqlConfigSchema.parse({
    nodes: rack.nodes.map((n) => ({ name: n.name, host: '127.0.0.1', port: n.port, user: 'rackwitness' })),
    connect_timeout_s: 5,
    statement_timeout_s: 5,
  });
  const dir = cleanupDir(tempDir('rwobs-bench-'));
  const configFile = join(dir, 'rackwitness.yaml');
  writeFileSync(
    configFile,
    JSON.stringify({ box: { name: 'bench', state_dir: join(dir, 'state') }, status: { enabled: false }, pgsql: cfg }),
  );
  const psql = (port: number, sql: string) =>
    run(join(PG_BINDIR, 'psql'), [
      '-X',
      '-A',
      '-t',
      '-q',
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-U',
      'rackwitness',
      '-d',
      'postgres',
      '-c',
      sql,
    ]);

  // 1. warm poll
  const warm = sourceFor(cfg, false);
  await pollRack(warm, cfg, undefined, 0);
  const oursWarm: number[] = [];
  const peerWarm: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    oursWarm.push(await timed(() => pollRack(warm, cfg, undefined, i)));
    peerWarm.push(await timed(async () => Promise.all([psql(a.port, OBSERVATION_SQL), psql(b.port, OBSERVATION_SQL)])));
  }
  await warm.close();

  // 2. cold role probe
  const oursCold: number[] = [];
  const peerCold: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    oursCold.push(
      await timed(async () => {
        const s = sourceFor(cfg, false);
        try {
          const { snapshot } = await pollRack(s, cfg, undefined, i);
          if (snapshot.primary !== a.name) throw new Error('unexpected roles');
        } finally {
          await s.close();
        }
      }),
    );
    peerCold.push(
      await timed(() =>
        Promise.all(
          rack.nodes.map(async (n) => {
            await run(join(PG_BINDIR, 'pg_isready'), [
              '-h',
              '127.0.0.1',
              '-p',
              String(n.port),
              '-d',
              'postgres',
              '-t',
              '5',
            ]);
            await psql(n.port, 'SELECT pg_is_in_recovery()');
          }),
        ),
      ),
    );
  }

  // 3. preflight: in-process (cold connections) and through the CLI; the peer is the lab's check
  const labCheck = async () => {
    const n = await psql(
      a.port,
      `SELECT count(*) FROM pg_stat_replication WHERE application_name='${b.name}' AND state='streaming'`,
    );
    const stli = await psql(b.port, "SELECT received_tli FROM pg_stat_wal_receiver WHERE status='streaming'");
    const ptli = await psql(a.port, 'SELECT pg_walfile_name(pg_current_wal_lsn())');
    if (n.trim() !== '1' || Number(stli) !== Number.parseInt(ptli.slice(0, 8), 16))
      throw new Error('lab check: not streaming');
  };
  const oursPre: number[] = [];
  const peerPre: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    oursPre.push(
      await timed(async () => {
        const s = sourceFor(cfg, false);
        try {
          const { snapshot } = await pollRack(s, cfg, undefined, i);
          if (!preflight(snapshot, preflightOptions(cfg)).safe) throw new Error('preflight not safe');
        } finally {
          await s.close();
        }
      }),
    );
    peerPre.push(await timed(labCheck));
  }
  const oursCli: number[] = [];
  const peerCli: number[] = [];
  const cliStart: number[] = [];
  for (let i = 0; i < 7; i++) {
    oursCli.push(
      await timed(async () => {
        const r = await runCli(['pg', 'preflight', '--config', configFile, '--json']);
        if (r.code !== 0) throw new Error(`preflight not safe: ${r.stdout}${r.stderr}`);
      }),
    );
    peerCli.push(await timed(labCheck));
    cliStart.push(await timed(() => runCli(['--version'])));
  }

  const row = (name: string, ours: number[], peer: string, theirs: number[], note: string) => {
    const o = median(ours);
    const p = median(theirs);
    return {
      name,
      ours_ms: Math.round(o * 10) / 10,
      peer,
      peer_ms: Math.round(p * 10) / 10,
      ratio: Math.round((p / o) * 100) / 100,
      runs: ours.length,
      note,
    };
  };
  const result = {
    title: 'PostgreSQL rack observer: observing both nodes of a real PG15 rack',
    rows: [
      row(
        'observe both nodes, warm (one poll)',
        oursWarm,
        'psql, same query, one process per node (parallel)',
        peerWarm,
        'ours keeps one connection per node; full snapshot incl. scores',
      ),
      row(
        'role probe of both nodes, cold',
        oursCold,
        'pg_isready + psql pg_is_in_recovery() per node (PAF monitor probe)',
        peerCold,
        'ours: connect, full observation, close',
      ),
      row(
        'switchover preflight (in-process, cold connections)',
        oursPre,
        'lab is_streaming: 3 psql calls (both sides + timeline)',
        peerPre,
        'ours: 2 connections, full observation, 11 checks',
      ),
      row(
        'rackwitness pg preflight (CLI process, end to end)',
        oursCli,
        'lab is_streaming: 3 psql calls (both sides + timeline)',
        peerCli,
        `includes the bare CLI start-up (rackwitness --version), median ${Math.round(median(cliStart))} ms: loading the whole CLI, not the preflight`,
      ),
    ],
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/pgsql-observer.json', `${JSON.stringify(result, null, 2)}\n`);
  console.table(result.rows);
  expect(oursWarm.length).toBe(RUNS);
});
