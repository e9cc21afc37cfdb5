import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createStatusLeds, ledStateFor } from '../../../src/board/leds.js';
import { makeLedTree, readText } from '../../fixtures/fake-sysfs.js';
import { cleanupDir, tempDir } from '../../fixtures/proc.js';

const labels = {
  healthy: { label: 'rackwitness-healthy' },
  degraded: { label: 'rackwitness-degraded' },
  fencing: { label: 'rackwitness-fencing' },
};

describe('status LEDs', () => {
  it('lights exactly one LED per state and blinks the fencing LED with the timer trigger', () => {
    const root = makeLedTree(
      cleanupDir(tempDir('rwwd-leds-')),
      Object.values(labels).map((l) => l.label),
    );
    const leds = createStatusLeds(labels, { sysfsRoot: root });
    const read = (l: string, f = 'brightness') => readText(join(root, 'class', 'leds', `rackwitness-${l}`, f));
    expect(leds.show('healthy')).toBeUndefined();
    expect([read('healthy'), read('degraded'), read('fencing')]).toEqual(['1', '0', '0']);
    leds.show('degraded');
    expect([read('healthy'), read('degraded'), read('fencing')]).toEqual(['0', '1', '0']);
    leds.show('fencing');
    expect(read('fencing', 'trigger')).toBe('timer');
    expect([read('healthy'), read('degraded')]).toEqual(['0', '0']);
    leds.show('off');
    expect([read('healthy'), read('degraded'), read('fencing'), read('fencing', 'trigger')]).toEqual([
      '0',
      '0',
      '0',
      'none',
    ]);
  });

  it('reports a missing LED once and never throws', () => {
    const root = cleanupDir(tempDir('rwwd-leds-'));
    const leds = createStatusLeds(labels, { sysfsRoot: root });
    expect(leds.show('healthy')).toMatch(/cannot drive the status LEDs under .*class\/leds/);
    expect(leds.show('degraded')).toBeUndefined();
    expect(leds.current).toBeUndefined();
  });

  it('fencing wins over problems, problems over healthy', () => {
    expect(ledStateFor({ fencing: true, feeding: false, allHealthy: false })).toBe('fencing');
    expect(ledStateFor({ fencing: false, feeding: false, allHealthy: true })).toBe('degraded');
    expect(ledStateFor({ fencing: false, feeding: true, allHealthy: false })).toBe('degraded');
    expect(ledStateFor({ fencing: false, feeding: true, allHealthy: true })).toBe('healthy');
  });
});
