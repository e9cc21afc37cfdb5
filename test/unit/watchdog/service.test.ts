import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Service } from '../../../src/daemon/service.js';
import { createWatchdogServiceWith, type WatchdogSnapshot } from '../../../src/watchdog/service.js';
import {
  makeExportedLine,
  makeGpioTree,
  makeWatchdogTree,
  PI4_CHIPS,
  PI5_CHIPS,
  readText,
} from '../../fixtures/fake-sysfs.js';
import { cleanupDir, tempDir } from '../../fixtures/proc.js';
import { adv, makeCtx, type TestCtx, useFakeFeedClock } from '../../fixtures/watchdog-ctx.js';

const BOARD = resolve('board');

useFakeFeedClock();

interface Setup {
  t: TestCtx;
  svc: Service;
  dir: string;
  device: string;
  bytes(): string;
  snap(): WatchdogSnapshot;
}

function setup(
  opts: { watchdog?: Record<string, unknown>; board?: Record<string, unknown>; timeout?: number; device?: string } = {},
): Setup {
  const dir = cleanupDir(tempDir('rwwd-svc-'));
  const device = opts.device ?? join(dir, 'watchdog0');
  if (!opts.device) writeFileSync(device, '');
  makeWatchdogTree(dir, 'watchdog0', { timeout: opts.timeout ?? 10 });
  const t = makeCtx(
    {
      watchdog: { mode: 'required', device, sysfs_root: dir, sysfs_name: 'watchdog0', ...opts.watchdog },
      board: { model_file: join(dir, 'no-model'), ...opts.board },
    },
    { fencing: { state: 'ok' }, arbitrator: { state: 'ok' }, optstatus: { state: 'ok' }, pgsql: { state: 'ok' } },
  );
  const svc = createWatchdogServiceWith(t.ctx, { now: () => Date.now(), env: {} });
  return {
    t,
    svc,
    dir,
    device,
    bytes: () => readFileSync(device).toString('latin1'),
    snap: () => svc.snapshot() as WatchdogSnapshot,
  };
}

describe('watchdog service (in process, fake clock, file as device)', () => {
  it('feeds once at start and once per period while every gated service is healthy', async () => {
    const s = setup();
    await s.svc.start();
    expect(s.bytes()).toBe('\0');
    await adv(2000 * 5);
    expect(s.bytes()).toBe('\0'.repeat(6));
    expect(s.snap()).toMatchObject({
      mode: 'required',
      device_open: true,
      timeout_s: 10,
      timeout_source: 'sysfs',
      feeding: true,
      feeds: 6,
      gated_services: ['fencing', 'arbitrator'],
      max_feed_interval_s: 2,
    });
    expect(s.svc.health()).toEqual({ state: 'ok' });
    await s.svc.stop();
  });

  it('gates on every non-optional service by default and stops feeding at the next tick when one fails', async () => {
    const s = setup();
    await s.svc.start();
    s.t.healths.arbitrator = { state: 'failed', reason: 'cannot bind UDP 9929' };
    await adv(2000 * 3);
    expect(s.bytes()).toBe('\0');
    expect(s.snap()).toMatchObject({
      feeding: false,
      reason_code: 'service-unhealthy',
      reason: 'service arbitrator is failed: cannot bind UDP 9929',
    });
    expect(s.svc.health()).toEqual({
      state: 'degraded',
      reason: 'not feeding: service arbitrator is failed: cannot bind UDP 9929',
    });
    expect(s.t.events.list().at(-1)?.sentence).toBe(
      `Not feeding the watchdog ${s.device}: service arbitrator is failed: cannot bind UDP 9929; the board resets within 10 s unless this clears.`,
    );
    // an optional service does not gate
    s.t.healths.arbitrator = { state: 'ok' };
    s.t.healths.optstatus = { state: 'failed' };
    await adv(2000);
    expect(s.bytes()).toBe('\0\0');
    // nor does the PostgreSQL observer: its health is the rack's (a dead primary), not the box's
    s.t.healths.pgsql = { state: 'failed', reason: 'node-a is down' };
    await adv(2000);
    expect(s.bytes()).toBe('\0\0\0');
    await s.svc.stop();
  });

  it('writes the magic close on stop and records that the watchdog is disarmed', async () => {
    const s = setup();
    await s.svc.start();
    await adv(4000);
    await s.svc.stop();
    expect(s.bytes()).toBe('\0\0\0V');
    expect(s.t.events.list().at(-1)).toMatchObject({ kind: 'watchdog.disarmed' });
    await adv(10_000);
    expect(s.bytes()).toBe('\0\0\0V');
  });

  it('publishes metrics and a status entity', async () => {
    const s = setup();
    await s.svc.start();
    await adv(2000);
    const text = await s.t.metrics.metrics();
    expect(text).toMatch(/rackwitness_watchdog_info\{mode="required",device="[^"]+watchdog0"\} 1/);
    expect(text).toMatch(/rackwitness_watchdog_timeout_seconds 10/);
    expect(text).toMatch(/^rackwitness_watchdog_feeding 1$/m);
    expect(text).toMatch(/^rackwitness_watchdog_feed_reason\{reason="ok"\} 1$/m);
    expect(text).toMatch(/^rackwitness_watchdog_feed_reason\{reason="service-unhealthy"\} 0$/m);
    expect(text).toMatch(/rackwitness_watchdog_feeds_total 2/);
    expect(text).toMatch(/rackwitness_watchdog_last_feed_age_seconds 0/);
    s.t.healths.fencing = { state: 'stopped' };
    await adv(2000);
    const withheld = await s.t.metrics.metrics();
    expect(withheld).toMatch(/^rackwitness_watchdog_feeding 0$/m);
    // same series set as before: the reason moved, no new series appeared
    expect(withheld).toMatch(/^rackwitness_watchdog_feed_reason\{reason="service-unhealthy"\} 1$/m);
    expect(withheld).toMatch(/^rackwitness_watchdog_feed_reason\{reason="ok"\} 0$/m);
    const series = (t: string) => t.split('\n').filter((l) => l.startsWith('rackwitness_watchdog_feed_reason{')).length;
    expect(series(withheld)).toBe(series(text));
    expect(s.svc.entities?.()[0]).toMatchObject({
      topic: 'watchdog',
      state: {
        mode: 'required',
        timeout_s: 10,
        feeding: false,
        reason: 'service fencing is stopped',
      },
      // the age moves every second: it goes to the non-retained bridge/health, never the retained state
      volatile: { last_feed_age_s: 2 },
    });
    expect(s.svc.entities?.()[0]?.state).not.toHaveProperty('last_feed_age_s');
    await s.svc.stop();
  });

  it('refuses to start in required mode when the effective timeout cannot be read, without arming', async () => {
    const s = setup({ watchdog: { sysfs_name: 'watchdog7' } });
    await expect(s.svc.start()).rejects.toThrowError(
      /^watchdog device .*watchdog0: cannot read its effective timeout from .*watchdog7\/timeout/,
    );
    expect(s.bytes()).toBe('');
  });

  it('refuses to start in required mode when the feed period does not fit the effective timeout', async () => {
    const s = setup({ timeout: 3 });
    await expect(s.svc.start()).rejects.toThrowError(/feed_period_s 2 is too long for its effective timeout 3 s/);
  });

  it('uses the sysfs timeout over the configured one and says so', async () => {
    const s = setup({ timeout: 12 });
    await s.svc.start();
    expect(s.snap().timeout_s).toBe(12);
    expect(s.t.events.list().map((e) => e.kind)).toContain('watchdog.timeout-mismatch');
    await s.svc.stop();
  });

  it('fails (and stops feeding) when a keepalive write fails', async () => {
    const s = setup({ device: '/dev/full' });
    await s.svc.start();
    expect(s.svc.health().state).toBe('failed');
    expect(s.snap()).toMatchObject({ feeding: false, reason_code: 'write-failed' });
    expect(s.snap().reason).toMatch(/keepalive write to \/dev\/full failed \(ENOSPC\)/);
    await s.svc.stop();
  });

  it('mode off is a null object: no device, but the gate still runs', async () => {
    const s = setup({ watchdog: { mode: 'off', device: '/nonexistent/watchdog9' } });
    await s.svc.start();
    await adv(4000);
    expect(s.snap()).toMatchObject({ mode: 'off', device: null, device_open: false, feeding: true, feeds: 3 });
    expect(s.svc.health()).toEqual({ state: 'ok' });
    await s.svc.stop();
  });

  it('watchdog.test needs yes, stops feeding on purpose, and reports a watchdog that did not reset the box', async () => {
    const s = setup();
    await s.svc.start();
    const test = s.t.handlers.get('watchdog.test');
    await expect(test?.({})).rejects.toThrowError(/yes: true/);
    const r = await test?.({ yes: true });
    expect(r).toMatchObject({ hardware: true, timeout_s: 10, expect: 'reset within 10 s', give_up_after_s: 17 });
    await adv(20_000);
    expect(s.bytes()).toBe('\0');
    expect(s.snap()).toMatchObject({ testing: true, reason_code: 'test' });
    expect(s.t.events.list().map((e) => e.kind)).toContain('watchdog.test-failed');
    expect(s.snap().problem).toMatch(/did not reset the box/);
    expect(await s.t.handlers.get('watchdog.status')?.({})).toMatchObject({ testing: true });
    await s.svc.stop();
  });
});

describe('external GPIO watchdog strobe', () => {
  it('toggles the board file’s strobe line on every feed and stops with the feed (Pi 5 layout)', async () => {
    const s = setup({ watchdog: { gpio_strobe: {} }, board: { file: join(BOARD, 'rpi5.yaml') } });
    makeGpioTree(s.dir, PI5_CHIPS);
    const line = makeExportedLine(s.dir, 575);
    s.t.ctx.config.board = { ...s.t.ctx.config.board!, sysfs_root: s.dir };
    await s.svc.start();
    expect(readText(join(line, 'direction'))).toBe('low');
    const seen = [readText(join(line, 'value'))];
    for (let i = 0; i < 4; i++) {
      await adv(2000);
      seen.push(readText(join(line, 'value')));
    }
    expect(seen).toEqual(['1', '0', '1', '0', '1']);
    expect(s.snap().gpio_strobe).toBe('pinctrl-rp1:4 (gpio575)');
    s.t.healths.fencing = { state: 'failed' };
    await adv(6000);
    expect(readText(join(line, 'value'))).toBe('1');
    await s.svc.stop();
  });

  it('refuses to start in required mode when the strobe line is not on this board, naming the key and the label', async () => {
    const s = setup({ watchdog: { gpio_strobe: {} }, board: { file: join(BOARD, 'rpi5.yaml') } });
    makeGpioTree(s.dir, PI4_CHIPS);
    s.t.ctx.config.board = { ...s.t.ctx.config.board!, sysfs_root: s.dir };
    await expect(s.svc.start()).rejects.toThrowError(/^watchdog\.gpio_strobe: no gpiochip labelled "pinctrl-rp1"/);
    expect(s.bytes()).toBe(''); // the device was never opened
  });
});

describe('gate configuration checks at start', () => {
  it('refuses a gated or cluster-view service that does not run, naming it and the running ones', async () => {
    const s = setup({ watchdog: { gate: { services: ['fencing', 'fenceing'] } } });
    await expect(s.svc.start()).rejects.toThrowError(
      /^watchdog\.gate: no running service named fenceing \(running: fencing, arbitrator, optstatus, pgsql\)/,
    );
    const c = setup({ watchdog: { gate: { cluster_view_service: 'booth' } } });
    await expect(c.svc.start()).rejects.toThrowError(/no running service named booth/);
    expect(s.bytes()).toBe('');
  });
});

describe('health when nothing supervises the feed', () => {
  it('stays ok in mode off without systemd pings, while status still says why it would not feed', async () => {
    const s = setup({ watchdog: { mode: 'off' } });
    await s.svc.start();
    s.t.healths.fencing = { state: 'failed' };
    await adv(2000);
    expect(s.snap()).toMatchObject({ feeding: false, reason: 'service fencing is failed' });
    expect(s.svc.health()).toEqual({ state: 'ok' });
    await s.svc.stop();
  });
});
