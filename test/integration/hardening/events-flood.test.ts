/**
 * Issue 12 item 4: unauthenticated traffic must not flush the events log. The real daemon with
 * events.max_entries 100: one genuine fence, then 2,100 unsigned requests from 105 loopback
 * addresses. The fence's events must survive, and the refusals must be aggregated with counts.
 */
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { EventEntry } from '../../../src/daemon/events.js';
import { runCli } from '../../fixtures/cli.js';
import { waitFor } from '../../fixtures/proc.js';
import { makeBox, send, sign } from './daemon-harness.js';

function unsigned(port: number, localAddress: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/fence', localAddress }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end('{"target":"node-a","action":"on"}');
  });
}

describe('a flood of unsigned requests and the events log', () => {
  it('keeps the genuine fence events; refusals are counted per source and reason', async () => {
    const box = await makeBox({ extra: 'events: {max_entries: 100, refusal_interval_s: 1}\n' });
    const daemon = await box.start();
    expect((await send(box.api, sign({ target: 'node-a', action: 'off' }))).body).toMatchObject({
      result: 'success',
    });

    const sources = Array.from({ length: 105 }, (_, i) => `127.0.${1 + Math.floor(i / 200)}.${1 + (i % 200)}`);
    const jobs: Array<() => Promise<number>> = [];
    for (let round = 0; round < 20; round++) for (const s of sources) jobs.push(() => unsigned(box.api, s));
    const statuses: number[] = [];
    for (let i = 0; i < jobs.length; i += 60)
      statuses.push(...(await Promise.all(jobs.slice(i, i + 60).map((j) => j()))));
    expect(statuses.filter((s) => s === 401).length).toBe(2100);
    // the aggregation interval ends: the summaries are written (waited for, not slept on)
    const read = async () =>
      (await runCli(['events', '--json', '--config', box.file])).stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as EventEntry);
    const events = await waitFor(
      'the refusal summaries of the interval to be written',
      async () => {
        const ev = await read();
        return ev.some((e) => e.kind === 'fence.api.refused.summary') ? ev : undefined;
      },
      10_000,
      200,
    );
    const kinds = events.map((e) => e.kind);
    expect(kinds).toContain('fence.off');
    expect(kinds).toContain('fence.success');
    const refusals = events.filter((e) => e.kind.startsWith('fence.api.refused'));
    expect(refusals.length).toBeGreaterThan(0);
    expect(refusals.length).toBeLessThanOrEqual(25); // a quarter of max_entries
    expect(refusals.every((e) => e.class === 'refusal' && typeof e.data?.count === 'number')).toBe(true);
    expect(refusals.some((e) => e.kind === 'fence.api.refused.summary' && (e.data?.count as number) > 1)).toBe(true);
    await daemon.kill('SIGTERM');
  });
});
