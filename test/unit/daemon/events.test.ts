import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EVENTS_FILE, EventLog, parseDuration } from '../../../src/daemon/events.js';
import { cleanupDir, tempDir } from '../../fixtures/proc.js';

describe('events log', () => {
  it('keeps at most max entries in memory and compacts the file', () => {
    const dir = cleanupDir(tempDir());
    const log = new EventLog(dir, 100);
    for (let i = 0; i < 250; i++) log.record('test', 'tick', `Decision ${i}.`);
    const list = log.list();
    expect(list.length).toBe(100);
    expect(list[0]?.sentence).toBe('Decision 150.');
    const lines = readFileSync(join(dir, EVENTS_FILE), 'utf8').trim().split('\n');
    expect(lines.length).toBeLessThanOrEqual(200);
    expect(JSON.parse(lines.at(-1) as string).sentence).toBe('Decision 249.');
  });

  it('survives a restart and a torn last line (power loss mid-append)', () => {
    const dir = cleanupDir(tempDir());
    const a = new EventLog(dir, 100);
    a.record('fencing', 'fence.off', 'Node b is off, verified by chassis status.');
    appendFileSync(join(dir, EVENTS_FILE), '{"ts":"2026-');
    const b = new EventLog(dir, 100);
    expect(b.list().map((e) => e.sentence)).toEqual(['Node b is off, verified by chassis status.']);
    b.record('daemon', 'x', 'After restart.');
    expect(new EventLog(dir, 100).list().map((e) => e.sentence)).toContain('After restart.');
  });

  it('filters by time and notifies listeners; a throwing listener does not break the caller', () => {
    const log = new EventLog(undefined, 100);
    const seen: string[] = [];
    log.onEvent(() => {
      throw new Error('boom');
    });
    log.onEvent((e) => seen.push(e.kind));
    log.record('a', 'k1', 'One.');
    expect(seen).toEqual(['k1']);
    expect(log.list(Date.now() + 60_000)).toEqual([]);
    expect(log.list(Date.now() - 60_000).length).toBe(1);
  });
});

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['15m', 900_000],
    ['1h30m', 5_400_000],
    ['2d', 172_800_000],
    ['500ms', 500],
  ])('%s', (text, ms) => expect(parseDuration(text)).toBe(ms));
  it.each(['', 'abc', '10', '1h junk', '-5m'])('rejects %j', (text) => expect(parseDuration(text)).toBeUndefined());
});
