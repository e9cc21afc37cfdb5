/**
 * The observer against a real two-instance PostgreSQL 15 rack (test/fixtures/pg-rack.ts: node_a
 * primary, node_b streaming standby, slots both ways). The monitoring role is a pg_monitor member
 * that must authenticate with SCRAM using the password file of the config. One rack for the whole
 * file; the tests run in order and each leaves the rack in the state the next one starts from:
 * healthy → standby stopped and back → primary killed and standby promoted → old primary back
 * as a second writable primary (split brain).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventLog } from '../../../src/daemon/events.js';
import type { ControlHandler, Service } from '../../../src/daemon/service.js';
import { parseLsn } from '../../../src/pgsql/core/lsn.js';
import type { PreflightResult } from '../../../src/pgsql/observer/preflight.js';
import type { RackSnapshot } from '../../../src/pgsql/observer/types.js';
import { createPgsqlService } from '../../../src/pgsql/service.js';
import { runCli } from '../../fixtures/cli.js';
import { createPgRack, type PgRack } from '../../fixtures/pg-rack.js';
import { cleanupDir, tempDir, until } from '../../fixtures/proc.js';
import { makeServiceCtx, type TestCtx } from '../../unit/pgsql-observer/ctx.js';

const PASSWORD = 'observer-secret-1';

describe('pgsql observer against a real PG15 rack', () => {
  let rack: PgRack;
  let svc: Service;
  let events: EventLog;
  let metrics: TestCtx['metrics'];
  let handlers: Map<string, ControlHandler>;
  let configFile: string;

  const snap = () => (svc.snapshot() as { rack: RackSnapshot }).rack;
  const node = (s: RackSnapshot, n: string) => s.nodes.find((x) => x.name === n) as RackSnapshot['nodes'][number];
  const sentences = () => events.list().map((e) => e.sentence);
  const lsn = async (n: 'node_a' | 'node_b', fn: string) =>
    parseLsn(
      ((await rack.sql<{ l: string }>(rack.node(n), `SELECT ${fn}::text AS l`))[0] as { l: string }).l,
    ) as bigint;

  beforeAll(async () => {
    rack = await createPgRack();
    const [a, b] = rack.nodes;
    await rack.sql(a, `CREATE ROLE rackwitness LOGIN PASSWORD '${PASSWORD}' IN ROLE pg_monitor`);
    // the monitoring role must use its password (SCRAM); everything else stays trust
    for (const n of rack.nodes) {
      const hba = join(n.pgdata, 'pg_hba.conf');
      writeFileSync(hba, `host all rackwitness 127.0.0.1/32 scram-sha-256\n${readFileSync(hba, 'utf8')}`);
    }
    await rack.sql(a, 'SELECT pg_reload_conf()');
    await rack.sql(b, 'SELECT pg_reload_conf()');
    await until(
      async () => (await rack.sql(b, "SELECT 1 FROM pg_roles WHERE rolname = 'rackwitness'")).length === 1,
      10_000,
    );

    const dir = cleanupDir(tempDir('rwobs-'));
    const pwFile = join(dir, 'pg.pass');
    writeFileSync(pwFile, `${PASSWORD}\n`, { mode: 0o600 });
    const pgsql = {
      nodes: rack.nodes.map((n) => ({
        name: n.name,
        host: '127.0.0.1',
        port: n.port,
        user: 'rackwitness',
        password_file: pwFile,
      })),
      poll_interval_s: 0.25,
      connect_timeout_s: 1,
      statement_timeout_s: 1,
    };
    configFile = join(dir, 'rackwitness.yaml');
    writeFileSync(
      configFile,
      JSON.stringify({
        box: { name: 'rwobs', state_dir: join(dir, 'state') },
        control: { socket: join(dir, 'control.sock') },
        status: { enabled: false },
        pgsql,
      }),
    );
    const t = makeServiceCtx(pgsql, { demo: false, stateDir: dir });
    handlers = t.handlers;
    events = t.events;
    metrics = t.metrics;
    svc = createPgsqlService(t.ctx);
    await svc.start();
  });

  afterAll(async () => {
    await svc?.stop();
  });

  it('reports roles, timelines, WAL positions and lag as PostgreSQL does', async () => {
    const [a, b] = rack.nodes;
    await until(() => node(snap(), 'node_b').streaming, 15_000);
    let s = snap();
    expect(s.state).toBe('ok');
    expect(node(s, 'node_a')).toMatchObject({ role: 'primary', timeline: 1, score: 1001 });
    expect(node(s, 'node_b')).toMatchObject({
      role: 'standby',
      timeline: 1,
      score: 1000,
      syncState: 'async',
      senderState: 'streaming',
    });
    expect(node(s, 'node_a').slots).toEqual([expect.objectContaining({ name: 'node_b', active: true })]);
    expect(events.list()[0]?.sentence).toMatch(/^First observation of the rack: node_a is primary on timeline 1/);

    // WAL positions: the observed current LSN lies between two direct reads around a fresh poll
    await rack.sql(a, 'CREATE TABLE filler AS SELECT generate_series(1, 20000) AS g');
    const before = await lsn('node_a', 'pg_current_wal_lsn()');
    const fresh = (await (handlers.get('pgsql.preflight') as ControlHandler)({})) as PreflightResult;
    const after = await lsn('node_a', 'pg_current_wal_lsn()');
    s = snap();
    expect(s.at).toBe(fresh.snapshotAt);
    const observed = parseLsn(node(s, 'node_a').currentLsn) as bigint;
    expect(observed >= before && observed <= after).toBe(true);

    // replay paused on the standby: it receives (no flush lag) but does not replay
    await until(() => node(snap(), 'node_b').replayLagBytes === 0, 15_000);
    await rack.sql(b, 'SELECT pg_wal_replay_pause()');
    await until(
      async () => (await rack.sql<{ p: string }>(b, 'SELECT pg_get_wal_replay_pause_state() AS p'))[0]?.p === 'paused',
      10_000,
    );
    await rack.sql(a, 'INSERT INTO filler SELECT generate_series(1, 20000)');
    const written = await lsn('node_a', 'pg_current_wal_lsn()');
    const replayed = await lsn('node_b', 'pg_last_wal_replay_lsn()');
    // a snapshot taken entirely after the insert: the primary is at or past it, the standby received it
    await until(() => {
      const x = snap();
      return (parseLsn(node(x, 'node_a').currentLsn) ?? 0n) >= written && node(x, 'node_b').lagBytes === 0;
    }, 15_000);
    s = snap();
    const current = parseLsn(node(s, 'node_a').currentLsn) as bigint;
    expect(node(s, 'node_b').replayLagBytes).toBe(Number(current - replayed));
    expect(node(s, 'node_b').replayLagBytes).toBeGreaterThan(100_000);
    expect(node(s, 'node_b').replayLsn).toBe(
      `${(replayed >> 32n).toString(16).toUpperCase()}/${(replayed & 0xffffffffn).toString(16).toUpperCase()}`,
    );
    expect(node(s, 'node_b').replayPaused).toBe(true);
    let text = await metrics.metrics();
    // the scrape reads the latest snapshot, maybe a poll newer than s: same story, not the same bytes
    expect(Number(/rackwitness_pgsql_replay_lag_bytes\{node="node_b"\} (\d+)/.exec(text)?.[1])).toBeGreaterThan(
      100_000,
    );
    expect(text).toMatch(/rackwitness_pgsql_lag_bytes\{node="node_b"\} \d+/);

    await rack.sql(b, 'SELECT pg_wal_replay_resume()');
    await until(() => {
      const x = node(snap(), 'node_b');
      return x.replayLagBytes === 0 && x.lagSeconds === 0;
    }, 15_000);
    text = await metrics.metrics();
    expect(text).toContain('rackwitness_pgsql_up{node="node_a"} 1');
    expect(text).toContain('rackwitness_pgsql_primary{node="node_a"} 1');
    expect(text).toContain('rackwitness_pgsql_lag_seconds{node="node_b"} 0');
    expect(text).toContain('rackwitness_pgsql_timeline{node="node_b"} 1');
    expect(text).toMatch(/rackwitness_pgsql_slot_retained_bytes\{node="node_a",slot="node_b"\} \d+/);
  });

  it('preflight says safe when the standby streams and is caught up (CLI, direct connection, password file)', async () => {
    const r = await runCli(['pg', 'preflight', '--config', configFile, '--json']);
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout) as PreflightResult;
    expect(res).toMatchObject({ safe: true, from: 'node_a', to: 'node_b', reasons: [] });
    const t = await runCli(['pg', 'preflight', '--config', configFile]);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/^SAFE: A switchover from node_a to node_b would be lossless now/);
  });

  it('preflight says not safe, with the reason, when the standby is stopped; the observer notices', async () => {
    const [a, b] = rack.nodes;
    await rack.stop(b, 'fast');
    const r = await runCli(['pg', 'preflight', '--config', configFile, '--json']);
    expect(r.code).toBe(1);
    const res = JSON.parse(r.stdout) as PreflightResult;
    expect(res.safe).toBe(false);
    expect(res.reasons).toEqual([
      'node_b is down (connection refused (PostgreSQL not running)): there is nothing to switch over to',
    ]);
    const st = await runCli(['pg', 'status', '--config', configFile]);
    expect(st.code).toBe(1);
    expect(st.stdout).toMatch(/^rack DEGRADED: node_a is primary on timeline 1; node_b is down/);
    // the observer's open session is ended by the fast shutdown (57P01) or finds the port closed
    await until(() => sentences().some((x) => /^node_b is down: .* \(was a standby\)\.$/.test(x)), 10_000);
    expect(svc.health().state).toBe('degraded');

    await rack.start(b, { standby: true });
    await rack.waitStreaming(a, b);
    await until(() => sentences().includes('node_b streams from node_a on timeline 1 (async).'), 10_000);
    await until(() => svc.health().state === 'ok', 10_000);
  });

  it('notices the primary going down (kill -9) and the promotion of the standby', async () => {
    const [a, b] = rack.nodes;
    await rack.kill9(a);
    await until(() => sentences().some((x) => /^node_a is down: .* \(was primary\)\.$/.test(x)), 10_000);
    expect(snap().summary).toMatch(/^No writable primary: node_a is down/);
    expect(snap().candidate).toBe('node_b');
    await rack.sql(b, 'SELECT pg_promote(true, 30)');
    await until(() => sentences().includes('node_b is now primary on timeline 2 (was a standby).'), 10_000);
    const text = await metrics.metrics();
    expect(text).toContain('rackwitness_pgsql_primary{node="node_b"} 1');
    expect(text).toContain('rackwitness_pgsql_up{node="node_a"} 0');
    expect(text).toContain('rackwitness_pgsql_timeline{node="node_b"} 2');
  });

  it('two writable primaries at once are a loud degraded health with a sentence', async () => {
    const [a] = rack.nodes;
    // the killed old primary comes back WITHOUT standby.signal: a second writable primary
    await until(
      () =>
        rack.start(a).then(
          () => true,
          () => false,
        ),
      20_000,
      500,
    );
    await until(() => snap().writablePrimaries.length === 2, 10_000);
    const h = svc.health();
    expect(h.state).toBe('degraded');
    expect(h.reason).toBe(
      'SPLIT BRAIN: node_a on timeline 1 and node_b on timeline 2 are both writable primaries; writes to one of them will be lost, fence one now.',
    );
    expect(events.list().some((e) => e.kind === 'pgsql.split-brain' && e.sentence === h.reason)).toBe(true);
    expect(await metrics.metrics()).toContain('rackwitness_pgsql_writable_primaries 2');
    const r = await runCli(['pg', 'preflight', '--config', configFile, '--json']);
    expect(r.code).toBe(1);
    expect((JSON.parse(r.stdout) as PreflightResult).reasons[0]).toMatch(/both writable primaries \(split brain\)/);
  });
});
