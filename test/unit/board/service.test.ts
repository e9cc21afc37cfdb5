/**
 * The board service in process with the watchdog service (fake clock, fake LED-class tree): the
 * LEDs follow the watchdog's feed ticks and the events log.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createBoardServiceWith } from '../../../src/board/service.js';
import type { Service } from '../../../src/daemon/service.js';
import { createWatchdogServiceWith } from '../../../src/watchdog/service.js';
import { makeLedTree, makeWatchdogTree, readText } from '../../fixtures/fake-sysfs.js';
import { cleanupDir, tempDir } from '../../fixtures/proc.js';
import { adv, makeCtx, type TestCtx, useFakeFeedClock } from '../../fixtures/watchdog-ctx.js';

const BOARD = resolve('board');
const LABELS = ['rackwitness-healthy', 'rackwitness-degraded', 'rackwitness-fencing'];

useFakeFeedClock();

interface Setup {
  t: TestCtx;
  watchdog: Service;
  board: Service;
  /** brightness of the healthy, degraded and fencing LEDs. */
  lit(): string[];
  led(l: string, f: string): string;
}

function setup(opts: { leds?: boolean; board?: Record<string, unknown> } = {}): Setup {
  const dir = cleanupDir(tempDir('rwwd-board-'));
  const device = join(dir, 'watchdog0');
  writeFileSync(device, '');
  makeWatchdogTree(dir, 'watchdog0', { timeout: 10 });
  if (opts.leds !== false) makeLedTree(dir, LABELS);
  const t = makeCtx(
    {
      watchdog: { mode: 'required', device, sysfs_root: dir, sysfs_name: 'watchdog0' },
      board: { file: join(BOARD, 'rpi4.yaml'), sysfs_root: dir, ...opts.board },
    },
    { fencing: { state: 'ok' }, arbitrator: { state: 'ok' }, optstatus: { state: 'ok' } },
  );
  const led = (l: string, f: string) => readText(join(dir, 'class', 'leds', `rackwitness-${l}`, f));
  return {
    t,
    watchdog: createWatchdogServiceWith(t.ctx, { now: () => Date.now(), env: {} }),
    board: createBoardServiceWith(t.ctx, { now: () => Date.now() }),
    lit: () => ['healthy', 'degraded', 'fencing'].map((l) => led(l, 'brightness')),
    led,
  };
}

/** Starts both in the daemon's order: the watchdog, then the board. */
async function startBoth(s: Setup): Promise<void> {
  await s.watchdog.start();
  await s.board.start();
}

describe('board service: the status LEDs', () => {
  it('shows healthy, degraded and fencing on the LED-class LEDs', async () => {
    const s = setup();
    await startBoth(s);
    // the watchdog's first tick ran before the board started: it is shown at once
    expect(s.lit()).toEqual(['1', '0', '0']);
    s.t.healths.optstatus = { state: 'degraded', reason: 'broker down' };
    await adv(2000);
    expect(s.lit().slice(0, 2)).toEqual(['0', '1']);
    s.t.events.record('fencing', 'fence.off', 'Powering node-b off.');
    await adv(2000);
    expect(s.led('fencing', 'trigger')).toBe('timer');
    expect(s.led('degraded', 'brightness')).toBe('0');
    await s.board.stop();
    await s.watchdog.stop();
    expect(s.led('healthy', 'brightness')).toBe('0');
  });

  it('follows events: a fence event blinks the fencing LED from the next feed tick for 60 s, then the LEDs show health again', async () => {
    const s = setup();
    await startBoth(s);
    s.t.events.record('fencing', 'fence.reboot', 'Rebooting node-a.');
    // nothing changes between ticks: the LEDs move with the watchdog's decisions
    expect(s.lit()).toEqual(['1', '0', '0']);
    await adv(2000);
    expect(s.led('fencing', 'trigger')).toBe('timer');
    expect(s.board.snapshot()).toMatchObject({ leds: 'fencing', status_leds: true, board: expect.any(String) });
    await adv(56_000);
    expect(s.led('fencing', 'trigger')).toBe('timer');
    await adv(4000);
    expect(s.lit()).toEqual(['1', '0', '0']);
    expect(s.led('fencing', 'trigger')).toBe('none');
    await s.board.stop();
    await s.watchdog.stop();
  });

  it('shows degraded while the watchdog withholds the feed, and ignores the watchdog’s and its own health', async () => {
    const s = setup();
    await startBoth(s);
    s.t.healths.watchdog = { state: 'degraded', reason: 'strobe failed' };
    s.t.healths.board = { state: 'starting' };
    await adv(2000);
    expect(s.lit()).toEqual(['1', '0', '0']);
    s.t.healths.fencing = { state: 'failed', reason: 'queue wedged' };
    await adv(2000);
    expect(s.lit()).toEqual(['0', '1', '0']);
    await s.board.stop();
    await s.watchdog.stop();
  });

  it('leaves the LEDs alone without a watchdog, and stops following when stopped', async () => {
    const s = setup();
    await s.board.start();
    expect(s.lit()).toEqual(['0', '0', '0']);
    expect(s.board.health()).toEqual({ state: 'ok' });
    await s.board.stop();
    await s.watchdog.start();
    await adv(2000);
    expect(s.lit()).toEqual(['0', '0', '0']);
    await s.watchdog.stop();
  });

  it('reports an LED write error once as an event and stays ok', async () => {
    const s = setup({ leds: false });
    await startBoth(s);
    s.t.healths.optstatus = { state: 'degraded' };
    await adv(4000);
    const errs = s.t.events.list().filter((e) => e.kind === 'board.leds');
    expect(errs).toHaveLength(1);
    expect(errs[0]?.sentence).toMatch(/^cannot drive the status LEDs under .*class\/leds: /);
    expect(s.board.health()).toEqual({ state: 'ok' });
    await s.board.stop();
    await s.watchdog.stop();
  });

  it('is degraded, naming the model, when no board file matches it', async () => {
    const model = join(cleanupDir(tempDir('rwwd-model-')), 'model');
    writeFileSync(model, 'Acme Toaster 3\0');
    const s = setup({ board: { file: undefined, model_file: model } });
    await startBoth(s);
    expect(s.board.health()).toEqual({
      state: 'degraded',
      reason: 'no board file matches the model "Acme Toaster 3"; set board.file',
    });
    expect(s.watchdog.health()).toEqual({ state: 'ok' });
    await s.board.stop();
    await s.watchdog.stop();
  });
});
