/**
 * The observer service over the demo's simulated rack (in-process, fast): start/stop contract,
 * events, health, entities, metrics text and the control API, driven by the simulation's controls.
 */
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/config/schema.js';
import type { ControlHandler, Service } from '../../../src/daemon/service.js';
import { SimulatedRack } from '../../../src/demo/pg-simulated-rack.js';
import { pgsqlConfigSchema, pgsqlRules } from '../../../src/pgsql/config.js';
import { maxLsn, parseLsn } from '../../../src/pgsql/core/lsn.js';
import type { RackSnapshot } from '../../../src/pgsql/observer/types.js';
import { createPgsqlService } from '../../../src/pgsql/service.js';
import { makeServiceCtx } from './ctx.js';

const NODES = [
  { name: 'node-a', host: 'simulated-node-a' },
  { name: 'node-b', host: 'simulated-node-b', port: 5433 },
];

function makeCtx(pgsql: Record<string, unknown>, demo = true, sections: Record<string, unknown> = {}) {
  // a frozen clock: WAL does not move, so lags and sentences are exact
  const rack = new SimulatedRack({ names: ['node-a', 'node-b'], now: () => 1_795_322_200_000 });
  const t = makeServiceCtx(pgsql, { demo, sections });
  t.ctx.providers.provide('pgsql.simulatedRack', rack);
  return { ...t, rack };
}

let svc: Service | undefined;
afterEach(async () => {
  await svc?.stop();
  svc = undefined;
});

describe('pgsql service over the simulated rack', () => {
  it('observes at start, publishes entities, metrics and an event, and is labelled simulated', async () => {
    const t = makeCtx({ nodes: NODES, simulated: true, poll_interval_s: 60 });
    svc = createPgsqlService(t.ctx);
    expect(svc.name).toBe('pgsql');
    await svc.start();
    expect(svc.health()).toEqual({ state: 'ok' });
    const snap = svc.snapshot() as { simulated: boolean; rack: RackSnapshot };
    expect(snap.simulated).toBe(true);
    expect(snap.rack.primary).toBe('node-a');
    expect(t.changes()).toBeGreaterThan(0);
    expect(t.events.list().map((e) => e.sentence)).toEqual([
      'First observation of the rack (SIMULATED): node-a is primary on timeline 1; node-b streams (async) 0 B behind.',
    ]);
    const ents = svc.entities?.() ?? [];
    expect(ents.map((e) => e.topic)).toEqual(['pgsql/rack', 'pgsql/node-a', 'pgsql/node-b']);
    expect(ents[0]?.state).toMatchObject({ state: 'ok', primary: 'node-a', simulated: true });
    expect(ents[2]?.state).toMatchObject({ role: 'standby', streaming: true, promotion_score: 1000, simulated: true });
    const text = await t.metrics.metrics();
    expect(text).toContain('rackwitness_pgsql_up{node="node-a"} 1');
    expect(text).toContain('rackwitness_pgsql_primary{node="node-a"} 1');
    expect(text).toContain('rackwitness_pgsql_primary{node="node-b"} 0');
    expect(text).toContain('rackwitness_pgsql_timeline{node="node-b"} 1');
    expect(text).toContain('rackwitness_pgsql_simulated 1');
    expect(text).toContain('rackwitness_pgsql_writable_primaries 1');
    expect(text).toMatch(/rackwitness_pgsql_slot_retained_bytes\{node="node-a",slot="node_b"\} \d+/);
    expect(text).toMatch(/rackwitness_pgsql_last_poll_timestamp_seconds \d+/);
    expect(text).toContain('rackwitness_pgsql_polls_total{node="node-a",result="ok"} 1');
    // failure series exist from start, so increase() sees the first failed poll
    expect(text).toContain('rackwitness_pgsql_polls_total{node="node-b",result="error"} 0');
    expect(text).toContain('rackwitness_pgsql_failover_targets 1');
    expect(text).toMatch(/^rackwitness_pgsql_maxlag_bytes \d+$/m);
    expect(text).toMatch(/^rackwitness_pgsql_maxlag_seconds \d+$/m);
  });

  it('tells a crash and a promotion through events and health, and answers the control API', async () => {
    const t = makeCtx({ nodes: NODES, simulated: true, poll_interval_s: 60 });
    svc = createPgsqlService(t.ctx);
    await svc.start();
    const rack = t.rack;
    const status = t.handlers.get('pgsql.status') as ControlHandler;
    const pre = t.handlers.get('pgsql.preflight') as ControlHandler;
    expect(await pre({})).toMatchObject({ safe: true, from: 'node-a', to: 'node-b' });

    rack.crash('node-a');
    const afterCrash = (await pre({})) as { safe: boolean; reasons: string[] };
    expect(afterCrash.safe).toBe(false);
    expect(afterCrash.reasons).toEqual(['there is no writable primary to switch over from']);
    expect(await t.metrics.metrics()).toContain('rackwitness_pgsql_failover_targets 0');
    expect(svc.health()).toEqual({
      state: 'degraded',
      reason:
        'No writable primary: node-a is down (connection refused (PostgreSQL not running)); node-b is a standby on timeline 1. [SIMULATED rack]',
    });

    rack.promote('node-b');
    // pgsql.status answers from the last poll (no new poll): still no primary
    expect(((await status({})) as RackSnapshot).primary).toBeNull();
    // pgsql.preflight polls afresh
    expect(await pre({})).toMatchObject({ safe: false, from: 'node-b', to: 'node-a' });
    const sentences = t.events.list().map((e) => e.sentence);
    expect(sentences).toContain('node-a is down: connection refused (PostgreSQL not running) (was primary).');
    expect(sentences).toContain('node-b is now primary on timeline 2 (was a standby).');

    rack.startAsStandby('node-a');
    await pre({});
    expect(svc.health()).toEqual({ state: 'ok' });
    expect(t.events.list().at(-1)?.sentence).toBe(
      'Rack healthy again: node-b is primary on timeline 2; node-a streams (async) 0 B behind.',
    );
    const text = await t.metrics.metrics();
    expect(text).toContain('rackwitness_pgsql_primary{node="node-b"} 1');
    expect(text).toContain('rackwitness_pgsql_timeline{node="node-a"} 2');
    expect(text).toContain('rackwitness_pgsql_polls_total{node="node-a",result="error"}');
  });

  it('feeds the arbitrator vote guard the last WAL position seen per node, and detaches on stop', async () => {
    const guard = {
      arbitrator: {
        booth_config: '/etc/booth/booth.conf',
        pg_guard: { enabled: true, tickets: ['db'], nodes: { '10.0.0.1': 'node-a', '10.0.0.2': 'node-b' } },
      },
    };
    const t = makeCtx({ nodes: NODES, simulated: true, poll_interval_s: 60 }, true, guard);
    svc = createPgsqlService(t.ctx);
    await svc.start();
    const snap = (await (t.handlers.get('pgsql.status') as ControlHandler)({})) as RackSnapshot;
    for (const n of snap.nodes) {
      const seen = t.ctx.providers.get('pgsql.lastKnownLsn')?.(n.name);
      const expected = maxLsn(parseLsn(n.currentLsn), parseLsn(n.receiveLsn), parseLsn(n.replayLsn));
      expect(expected).not.toBeNull();
      expect(seen).toEqual({ lsn: expected, observedAt: Date.parse(snap.at) });
    }
    expect(t.ctx.providers.get('pgsql.lastKnownLsn')?.('no-such-node')).toBeUndefined();
    await svc.stop();
    svc = undefined;
    expect(t.ctx.providers.get('pgsql.lastKnownLsn')).toBeUndefined();
  });

  it('polls on its own every poll_interval_s', async () => {
    const t = makeCtx({ nodes: NODES, simulated: true, poll_interval_s: 0.2 });
    const s = createPgsqlService(t.ctx);
    svc = s;
    await s.start();
    const seq0 = (s.snapshot() as { rack: RackSnapshot }).rack.seq;
    t.rack.crash('node-b');
    await expect.poll(() => (s.snapshot() as { rack: RackSnapshot }).rack.seq, { timeout: 5000 }).toBeGreaterThan(seq0);
    await expect
      .poll(() => t.events.list().map((e) => e.sentence), { timeout: 5000 })
      .toContain('node-b is down: connection refused (PostgreSQL not running) (was a standby).');
  });

  it('stops cleanly and unregisters its metrics (a restart in the same registry works)', async () => {
    const t = makeCtx({ nodes: NODES, simulated: true, poll_interval_s: 0.2 });
    const a = createPgsqlService(t.ctx);
    await a.start();
    await a.stop();
    await a.stop();
    expect(await t.metrics.metrics()).not.toContain('rackwitness_pgsql_');
    svc = createPgsqlService(t.ctx);
    await svc.start();
    expect(await t.metrics.metrics()).toContain('rackwitness_pgsql_up');
  });

  it('refuses the simulated source outside demo mode, naming the key', async () => {
    const t = makeCtx({ nodes: NODES, simulated: true }, false);
    const s = createPgsqlService(t.ctx);
    await expect(s.start()).rejects.toThrow(/pgsql\.simulated is only allowed in demo mode/);
    await s.stop();
  });

  it('reports unreachable real nodes as a degraded rack, not a failed start', async () => {
    // port 9 on loopback: nothing listens (connection refused)
    const t = makeCtx({
      nodes: [
        { name: 'node-a', host: '127.0.0.1', port: 9 },
        { name: 'node-b', host: '127.0.0.1', port: 10 },
      ],
      poll_interval_s: 60,
      connect_timeout_s: 1,
      statement_timeout_s: 1,
    });
    svc = createPgsqlService(t.ctx);
    await svc.start();
    expect(svc.health().state).toBe('degraded');
    expect(svc.health().reason).toMatch(/^No node answers: node-a is down \(connection refused/);
  });
});

describe('pgsql service against a black-holed node', () => {
  it('bounds the poll by connect_timeout_s and reports the node unknown, not down', async () => {
    // accepts TCP and never answers: like a host whose PostgreSQL hangs
    const sockets = new Set<Socket>();
    const srv = createServer((sock) => {
      sockets.add(sock);
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as AddressInfo).port;
    try {
      const t = makeServiceCtx(
        {
          nodes: [
            { name: 'node-a', host: '127.0.0.1', port },
            { name: 'node-b', host: '127.0.0.1', port: 9 },
          ],
          poll_interval_s: 60,
          connect_timeout_s: 0.5,
          statement_timeout_s: 0.5,
        },
        { demo: false },
      );
      svc = createPgsqlService(t.ctx);
      // start() polls once: it returns only because the connect timeout fired (reason below)
      await svc.start();
      const rack = (svc.snapshot() as { rack: RackSnapshot }).rack;
      expect(rack.nodes[0]).toMatchObject({ role: 'unknown', reason: expect.stringMatching(/^no answer in time/) });
      expect(rack.nodes[1]).toMatchObject({ role: 'down' });
      expect(rack.summary).toMatch(/^No node answers: node-a is unknown \(no answer in time/);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => srv.close(r));
    }
  });
});

describe('pgsql config', () => {
  it('needs exactly two nodes and fills defaults', () => {
    const c = pgsqlConfigSchema.parse({
      nodes: [
        { name: 'a', host: 'h1' },
        { name: 'b', host: 'h2' },
      ],
    });
    expect(c).toMatchObject({
      enabled: true,
      poll_interval_s: 2,
      connect_timeout_s: 2,
      maxlag_bytes: 0,
      simulated: false,
    });
    expect(c.nodes[0]).toMatchObject({ port: 5432, dbname: 'postgres', user: 'rackwitness' });
    expect(() => pgsqlConfigSchema.parse({ nodes: [{ name: 'a', host: 'h1' }] })).toThrow(/exactly two/);
    expect(() =>
      pgsqlConfigSchema.parse({
        nodes: [
          { name: 'A!', host: 'h' },
          { name: 'b', host: 'h' },
        ],
      }),
    ).toThrow();
    expect(() =>
      pgsqlConfigSchema.parse({
        nodes: [
          { name: 'a', host: 'h1', password: 'x' },
          { name: 'b', host: 'h2' },
        ],
      }),
    ).toThrow(/password/);
  });

  it('rules name the key: duplicate names, the same server twice', () => {
    const run = (pgsql: Record<string, unknown>) => {
      const config = configSchema.parse({ pgsql });
      return pgsqlRules.map((r) => r.check(config)).filter(Boolean);
    };
    expect(
      run({
        nodes: [
          { name: 'a', host: 'h1' },
          { name: 'a', host: 'h2' },
        ],
      }),
    ).toEqual(['both nodes are named "a"']);
    expect(
      run({
        nodes: [
          { name: 'a', host: 'h' },
          { name: 'b', host: 'h' },
        ],
      }),
    ).toEqual(['both nodes point at h:5432; the observer would see one server twice']);
    expect(
      run({
        nodes: [
          { name: 'a', host: 'h' },
          { name: 'b', host: 'h', port: 5433 },
        ],
      }),
    ).toEqual([]);
  });
});
