/**
 * Fence arbitration through the real fence API: signed HTTP requests as fence_rackwitness sends
 * them, each from its node's own source address (node_a 127.0.0.2, node_b 127.0.0.3, both on
 * loopback), simulated power devices, and the real PostgreSQL observer watching a real PG15 pair
 * (test/fixtures/pg-rack.ts: node_a primary, node_b streaming standby).
 *
 * In order: the standby's node asks first and the primary's node second: the primary's request
 * wins and the standby's is refused with one sentence in the journal; a request from an address
 * of no node is refused; with the primary's PostgreSQL killed, the standby (highest timeline and
 * WAL position) is preferred and granted at once.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../../src/daemon/service.js';
import { signedHeaders } from '../../../src/fencing/api/protocol.js';
import type { RackSnapshot } from '../../../src/pgsql/observer/types.js';
import { createPgsqlService } from '../../../src/pgsql/service.js';
import { type JsonReply, requestJson } from '../../fixtures/http-json.js';
import { createPgRack, type PgRack } from '../../fixtures/pg-rack.js';
import { sleep, until } from '../../fixtures/proc.js';
import { makeServiceCtx } from '../../unit/pgsql-observer/ctx.js';
import { type Harness, startFencing, TEST_KEY } from './fencing-harness.js';

const ADDR = { node_a: '127.0.0.2', node_b: '127.0.0.3' } as const;

function fence(port: number, from: string, target: string, action = 'reboot'): Promise<JsonReply> {
  const body = JSON.stringify({ target, action });
  const headers = signedHeaders(Buffer.from(TEST_KEY), 'cluster', 'POST', '/v1/fence', body);
  return requestJson({ port, from, method: 'POST', path: '/v1/fence', headers }, body);
}

describe('fence arbitration through the fence API, preferring the observed primary', () => {
  let rack: PgRack;
  let pgsql: Service;
  let h: Harness;

  const observed = () => (pgsql.snapshot() as { rack?: RackSnapshot }).rack;

  beforeAll(async () => {
    rack = await createPgRack({ prefix: 'rwarb-' });
    await rack.sql(rack.nodes[0], 'CREATE ROLE rackwitness LOGIN IN ROLE pg_monitor');
    const t = makeServiceCtx(
      {
        nodes: rack.nodes.map((n) => ({ name: n.name, host: '127.0.0.1', port: n.port })),
        poll_interval_s: 0.25,
        connect_timeout_s: 1,
        statement_timeout_s: 1,
      },
      { demo: false },
    );
    pgsql = createPgsqlService(t.ctx);
    await pgsql.start();
    h = await startFencing(
      `
  boot_delay_s: 0.3
  corosync_token_ms: 100
  corosync_consensus_ms: 100
  power_timeout_s: 2
  poll_interval_ms: 50
  command_timeout_s: 1
  allow_simulated: true
  devices:
    - {driver: sim, name: bmc, plugs: [a, b], latency_ms: 5, switch_delay_ms: 50}
  targets:
    node_a: {levels: [{plugs: [{device: bmc, plug: a}]}], addresses: ['${ADDR.node_a}']}
    node_b: {levels: [{plugs: [{device: bmc, plug: b}]}], addresses: ['${ADDR.node_b}']}
  arbitration: {hold_s: 4, observer_max_age_s: 3}`,
      undefined,
      undefined,
      t.ctx.providers, // the daemon gives every service one registry: fencing reads the observer's rack
    );
    await until(() => observed()?.nodes.find((n) => n.name === 'node_b')?.streaming === true, 15_000);
  }, 90_000);

  afterAll(async () => {
    await pgsql?.stop();
  });

  it('the primary’s request wins the race; the standby’s is refused with one sentence in the journal', async () => {
    expect(observed()?.primary).toBe('node_a');
    const status = (await h.handlers.get('fence.status')?.({})) as { arbitration: Record<string, unknown> };
    expect(status.arbitration).toMatchObject({
      enabled: true,
      prefers: { node: 'node_a', source: 'postgresql' },
    });

    // the standby's node asks first: held
    const t0 = performance.now();
    const loser = fence(h.port, ADDR.node_b, 'node_a');
    await until(async () => {
      const s = (await h.handlers.get('fence.status')?.({})) as { arbitration: { holding: number } };
      return s.arbitration.holding === 1;
    }, 3000);
    // nothing of node_a was touched while held
    expect(h.journal().filter((e) => e.target === 'node_a')).toEqual([]);
    // the primary's node asks second: granted, and it decides the race
    const winner = await fence(h.port, ADDR.node_a, 'node_b');
    const lost = await loser;
    expect(performance.now() - t0).toBeLessThan(4000); // the loser did not wait out the window

    expect(winner.status).toBe(200);
    expect(winner.body).toMatchObject({ ok: true, result: 'success', target: 'node_b', power: 'off' });
    expect(lost.status).toBe(200);
    expect(lost.body).toMatchObject({ ok: true, result: 'refused', target: 'node_a' });
    const sentence =
      "refused: node_b asked to reboot node_a, but node_a holds the writable primary and node_a asked to fence node_b too; the box granted node_a's request (fence arbitration)";
    expect(lost.body.reason).toBe(sentence);

    const journal = h.journal();
    const refused = journal.filter((e) => e.result === 'refused');
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ target: 'node_a', action: 'reboot', reason: sentence });
    expect(refused[0]?.requester).toMatchObject({ via: 'api', addr: ADDR.node_b, node: 'node_b' });
    // node_a was never switched: its only journal entry is the refusal
    expect(journal.filter((e) => e.target === 'node_a').map((e) => e.result)).toEqual(['refused']);
    expect(journal.find((e) => e.target === 'node_b' && e.action === 'reboot')?.result).toBe('success');
    // the events log says why the request was held, then refused
    const events = readFileSync(join(h.dir, 'state', 'events.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; sentence: string });
    expect(events.find((e) => e.kind === 'fence.arbitration.hold')?.sentence).toBe(
      "Holding node_b's reboot of node_a for up to 4 s: node_a holds the writable primary, so its request wins if it comes.",
    );
    expect(events.find((e) => e.kind === 'fence.refused')?.sentence).toBe(`Refused reboot of node_a: ${sentence}.`);
  }, 30_000);

  it('a fence request from an address that belongs to no node is refused in one sentence', async () => {
    const r = await fence(h.port, '127.0.0.4', 'node_b', 'off');
    expect(r.body).toMatchObject({ result: 'refused' });
    expect(r.body.reason).toBe(
      'refused: the request to off node_b comes from 127.0.0.4, which belongs to no node of the rack (fencing.targets.*.addresses)',
    );
  });

  it('with the primary gone, the standby is preferred (highest timeline, then WAL position) and granted at once', async () => {
    // node_b's reboot follow-up (power-on) must be over, so the race guard lets node_b ask again
    await until(async () => {
      const s = (await h.handlers.get('fence.status')?.({})) as {
        targets: Record<string, { power: string; in_progress?: unknown }>;
      };
      return s.targets.node_b?.in_progress === undefined;
    }, 10_000);
    await sleep(300); // requester_boot_s (token + consensus = 200 ms) after the box powered node_b on
    await rack.kill9(rack.nodes[0]);
    await until(() => observed()?.primary === null && observed()?.nodes[0]?.role === 'down', 10_000);
    const t0 = performance.now();
    const r = await fence(h.port, ADDR.node_b, 'node_a');
    expect(r.body).toMatchObject({ result: 'success', target: 'node_a', power: 'off' });
    expect(performance.now() - t0).toBeLessThan(4000); // not held
    const status = (await h.handlers.get('fence.status')?.({})) as { arbitration: { prefers: unknown } };
    expect(status.arbitration.prefers).toMatchObject({ node: 'node_b', source: 'postgresql' });
  }, 30_000);

  it('without observer data no node is preferred (first come)', async () => {
    await pgsql.stop();
    const status = (await h.handlers.get('fence.status')?.({})) as { arbitration: { prefers: unknown } };
    expect(status.arbitration.prefers).toBeNull();
  });
});
