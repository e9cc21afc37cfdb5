import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EVENTS_FILE, EventLog } from '../../../src/daemon/events.js';
import { RefusalAggregator } from '../../../src/daemon/refusals.js';
import { cleanupDir, tempDir } from '../../fixtures/proc.js';

const total = (log: EventLog) =>
  log
    .list()
    .filter((e) => e.class === 'refusal')
    .reduce((n, e) => n + (e.data?.count as number), 0);

describe('refusal aggregation', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date', 'setInterval', 'clearInterval'] });
    vi.setSystemTime(1_800_000_000_000);
  });
  afterEach(() => vi.useRealTimers());

  it('21,000 refusals from 1,050 addresses: counted exactly, few events, the fence decision kept', () => {
    const log = new EventLog(undefined, 100, { refusalIntervalMs: 60_000 });
    log.record('fencing', 'fence.success', 'Off of node-b succeeded at level 1 in 1.2 s.');
    for (let i = 0; i < 21_000; i++) {
      const src = `127.0.${Math.floor((i % 1050) / 250)}.${i % 250}`;
      log.refusal('fencing', 'fence.api.refused', { source: src, reason: 'missing-auth' }, `Refused ${src}.`);
    }
    log.close();
    const refusals = log.list().filter((e) => e.class === 'refusal');
    expect(refusals.length).toBeLessThanOrEqual(25);
    expect(log.list().map((e) => e.kind)).toContain('fence.success');
    // nothing dropped yet in a bigger log: the counts add up to every refusal
    const big = new EventLog(undefined, 10_000, { refusalIntervalMs: 60_000 });
    for (let i = 0; i < 21_000; i++)
      big.refusal('fencing', 'fence.api.refused', { source: `s${i % 1050}`, reason: 'missing-auth' }, 'x');
    big.close();
    expect(total(big)).toBe(21_000);
    expect(big.list().length).toBe(20 + 20 + 1); // 20 singles, 20 per-source summaries, one "other sources"
  });

  it('a flood over many intervals never pushes out a decision (also after a restart from disk)', () => {
    const dir = cleanupDir(tempDir());
    const log = new EventLog(dir, 100, { refusalIntervalMs: 1000 });
    for (let i = 0; i < 60; i++) log.record('fencing', 'fence.success', `decision ${i}`);
    for (let i = 0; i < 5000; i++) {
      vi.setSystemTime(Date.now() + 10);
      log.refusal('fencing', 'fence.api.refused', { source: `10.0.0.${i % 40}`, reason: 'bad-signature' }, 'x');
    }
    log.close();
    const decisions = (l: EventLog) => l.list().filter((e) => e.kind === 'fence.success').length;
    expect(decisions(log)).toBe(60);
    expect(log.list().filter((e) => e.class === 'refusal').length).toBeLessThanOrEqual(25);
    expect(decisions(new EventLog(dir, 100))).toBe(60);
    expect(readFileSync(join(dir, EVENTS_FILE), 'utf8').split('\n').length).toBeLessThan(5000);
  });

  it('summarizes when the interval ends, with a timer (no further traffic needed)', () => {
    const log = new EventLog(undefined, 100, { refusalIntervalMs: 1000 });
    for (let i = 0; i < 5; i++) log.refusal('fencing', 'fence.api.refused', { source: 'a', reason: 'r' }, 'x');
    expect(log.list().length).toBe(1);
    vi.advanceTimersByTime(1500);
    const s = log.list().at(-1);
    expect(s?.kind).toBe('fence.api.refused.summary');
    expect(s?.data).toMatchObject({ source: 'a', reason: 'r', count: 4 });
    expect(s?.sentence).toMatch(/^4 more refused request\(s\) from a \(r\)/);
  });

  it('the core records the first per key and interval, then counts', () => {
    const a = new RefusalAggregator(1000, 2);
    expect([a.offer({ source: 'x', reason: 'r' }, 0), a.offer({ source: 'x', reason: 'r' }, 1)]).toEqual([
      'record',
      'count',
    ]);
    expect(a.offer({ source: 'y', reason: 'r' }, 2)).toBe('record');
    expect(a.offer({ source: 'z', reason: 'r' }, 3)).toBe('count'); // over maxKeys: "other sources"
    expect(a.due(500)).toEqual([]);
    expect(a.due(1003)).toEqual([
      { key: { source: 'x', reason: 'r' }, count: 1, pairs: 1, firstMs: 1, lastMs: 1 },
      { count: 1, pairs: 1, firstMs: 3, lastMs: 3 },
    ]);
    expect(a.offer({ source: 'x', reason: 'r' }, 1100)).toBe('record');
  });
});
