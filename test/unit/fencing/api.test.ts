import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedHeaders } from '../../../src/fencing/api/protocol.js';
import { type Attempt, FenceApi } from '../../../src/fencing/api/server.js';
import { type FencingConfig, fencingConfigSchema } from '../../../src/fencing/config.js';
import { createSimDriver, simDeviceSchema } from '../../../src/fencing/devices/sim/index.js';
import { FenceJournal } from '../../../src/fencing/journal.js';
import { Fencer } from '../../../src/fencing/operations/fencer.js';
import { type JsonReply, requestJson } from '../../fixtures/http-json.js';
import { cleanupDir, tempDir } from '../../fixtures/proc.js';

const KEY = Buffer.from('0123456789abcdef0123456789abcdef-test-key');

function config(): FencingConfig {
  return fencingConfigSchema.parse({
    boot_delay_s: 0.05,
    corosync_token_ms: 10,
    corosync_consensus_ms: 10,
    power_timeout_s: 1,
    poll_interval_ms: 50,
    command_timeout_s: 0.5,
    allow_simulated: true,
    devices: [{ driver: 'sim', name: 'bmc', plugs: ['a', 'b'], latency_ms: 0, switch_delay_ms: 10 }],
    targets: {
      'node-a': { levels: [{ plugs: [{ device: 'bmc', plug: 'a' }] }], addresses: ['10.9.9.1'] },
      'node-b': { levels: [{ plugs: [{ device: 'bmc', plug: 'b' }] }], addresses: ['127.0.0.1'] },
    },
    api: { keys: [{ id: 'cluster', key_file: '/dev/null' }], rate_burst: 40, rate_per_min: 60 },
  });
}

function send(
  port: number,
  method: string,
  path: string,
  body: string,
  headers: Record<string, string>,
): Promise<JsonReply> {
  return requestJson({ port, method, path, headers }, body);
}

describe('fence agent API authentication', () => {
  const attempts: Attempt[] = [];
  const sim = createSimDriver(
    simDeviceSchema.parse({ driver: 'sim', name: 'bmc', plugs: ['a', 'b'], latency_ms: 0, switch_delay_ms: 10 }),
  );
  let api: FenceApi;
  let port = 0;
  let journal: FenceJournal;
  let stateDir = '';
  let now = Date.now();

  beforeAll(async () => {
    stateDir = cleanupDir(tempDir());
    journal = FenceJournal.open(stateDir);
    const fencer = new Fencer(config(), new Map([['bmc', sim]]), journal);
    api = new FenceApi({
      host: '127.0.0.1',
      port: 0,
      keys: new Map([['cluster', KEY]]),
      clockSkewMs: 30_000,
      ratePerMin: 60,
      rateBurst: 40,
      stateDir,
      fencer,
      health: () => ({ targets: { 'node-a': true } }),
      onAttempt: (a) => attempts.push(a),
      now: () => now,
    });
    port = await api.start();
  });
  afterAll(async () => {
    await api.stop();
    journal.close();
  });

  const fence = (body: object, key = KEY, keyId = 'cluster', ts = now) => {
    const text = JSON.stringify(body);
    return { text, headers: signedHeaders(key, keyId, 'POST', '/v1/fence', text, ts) };
  };
  const lastAttempt = () => attempts.at(-1) as Attempt;

  it('refuses unsigned, wrongly signed, unknown-key, stale and tampered requests without touching a device', async () => {
    const body = JSON.stringify({ target: 'node-a', action: 'off' });
    let r = await send(port, 'POST', '/v1/fence', body, {});
    expect([r.status, r.body.error, lastAttempt().reason]).toEqual([401, 'missing-auth', 'missing-auth']);

    const wrongKey = fence({ target: 'node-a', action: 'off' }, Buffer.from('another-key-another-key-another-key!!'));
    r = await send(port, 'POST', '/v1/fence', wrongKey.text, wrongKey.headers);
    expect([r.status, r.body.error]).toEqual([401, 'bad-signature']);

    const unknownKey = fence({ target: 'node-a', action: 'off' }, KEY, 'other');
    r = await send(port, 'POST', '/v1/fence', unknownKey.text, unknownKey.headers);
    expect([r.status, r.body.error]).toEqual([401, 'unknown-key']);

    const old = fence({ target: 'node-a', action: 'off' }, KEY, 'cluster', now - 120_000);
    r = await send(port, 'POST', '/v1/fence', old.text, old.headers);
    expect([r.status, r.body.error]).toEqual([401, 'stale-timestamp']);

    const signed = fence({ target: 'node-b', action: 'status' });
    r = await send(port, 'POST', '/v1/fence', JSON.stringify({ target: 'node-a', action: 'off' }), signed.headers);
    expect([r.status, r.body.error]).toEqual([401, 'bad-signature']);

    const unknownTarget = fence({ target: 'node-z', action: 'off' });
    r = await send(port, 'POST', '/v1/fence', unknownTarget.text, unknownTarget.headers);
    expect([r.status, r.body.error]).toEqual([404, 'unknown-target']);

    expect(sim.requests()).toEqual([]);
    expect(sim.peek('a')).toBe('on');
    expect(attempts.filter((a) => a.outcome === 'refused').map((a) => a.reason)).toEqual([
      'missing-auth',
      'bad-signature',
      'unknown-key',
      'stale-timestamp',
      'bad-signature',
      'unknown-target',
    ]);
  });

  it('accepts a signed request once, answers after verification, and refuses its replay', async () => {
    const req = fence({ target: 'node-a', action: 'off' });
    const r = await send(port, 'POST', '/v1/fence', req.text, req.headers);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ ok: true, result: 'success', power: 'off', target: 'node-a', level: 1 });
    expect(sim.peek('a')).toBe('off');
    const before = sim.requests().length;
    sim.force('a', 'on');
    const replay = await send(port, 'POST', '/v1/fence', req.text, req.headers);
    expect([replay.status, replay.body.error]).toEqual([401, 'replay']);
    expect(sim.requests().length).toBe(before);
    expect(sim.peek('a')).toBe('on');
    expect(journal.history()[0]).toMatchObject({
      target: 'node-a',
      action: 'off',
      result: 'success',
      requester: { via: 'api', who: 'cluster' },
    });
  });

  it('answers a signed non-object body (null, [], "x", 42) with 400 bad-request, never 500', async () => {
    for (const text of ['null', '[]', '"x"', '42']) {
      const headers = signedHeaders(KEY, 'cluster', 'POST', '/v1/fence', text, now);
      const r = await send(port, 'POST', '/v1/fence', text, headers);
      expect([text, r.status, r.body.error]).toEqual([text, 400, 'bad-request']);
      expect(String(r.body.message)).toMatch(/JSON object/);
    }
  });

  it('reports an accepted fence without an HTTP status until it is answered (never "status": 0)', async () => {
    const req = fence({ target: 'node-b', action: 'status' });
    const r = await send(port, 'POST', '/v1/fence', req.text, req.headers);
    expect(r.status).toBe(200);
    const accepted = attempts.filter((a) => a.outcome === 'accepted').at(-1) as Attempt;
    expect(accepted).toMatchObject({ target: 'node-b', action: 'status' });
    expect(accepted.status).toBeUndefined();
    expect(attempts.some((a) => a.status === 0)).toBe(false);
  });

  it('refuses a fence request from a node that was just fenced (fence race guard)', async () => {
    // 127.0.0.1 is node-b's address; node-b was not fenced, node-a was: fence node-b from node-a's address is not testable
    // over loopback, so fence node-b first, then node-b (127.0.0.1) asks to fence node-a
    const first = fence({ target: 'node-b', action: 'off' });
    expect((await send(port, 'POST', '/v1/fence', first.text, first.headers)).body.result).toBe('success');
    const racing = fence({ target: 'node-a', action: 'off' });
    const r = await send(port, 'POST', '/v1/fence', racing.text, racing.headers);
    expect(r.body).toMatchObject({ result: 'refused' });
    // node-b was verified off and a fresh read still says off: the request cannot come from it
    expect(String(r.body.reason)).toMatch(/node-b reads off right now/);
    expect(sim.peek('a')).toBe('on');
  });

  it('lists targets and health only to signed requests', async () => {
    const h = signedHeaders(KEY, 'cluster', 'GET', '/v1/targets', '', now);
    const r = await send(port, 'GET', '/v1/targets', '', h);
    expect(r.body).toEqual({ ok: true, targets: ['node-a', 'node-b'] });
    expect((await send(port, 'GET', '/v1/targets', '', {})).status).toBe(401);
  });

  it('rate-limits one source address, counting refused attempts, and recovers with time', async () => {
    let limited = 0;
    for (let i = 0; i < 50; i++) {
      const r = await send(port, 'GET', '/v1/health', '', {});
      if (r.status === 429) limited++;
    }
    expect(limited).toBeGreaterThan(0);
    expect(attempts.some((a) => a.reason === 'rate-limited')).toBe(true);
    now += 120_000; // two minutes later the bucket is full again
    const h = signedHeaders(KEY, 'cluster', 'GET', '/v1/health', '', now);
    expect((await send(port, 'GET', '/v1/health', '', h)).status).toBe(200);
  });
});
