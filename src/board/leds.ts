/**
 * Status LEDs through the kernel LED class (the gpio-led overlay names them, so no GPIO number
 * is involved): <sysfs_root>/class/leds/<label>/{brightness,trigger}. Exactly one of healthy /
 * degraded / fencing is lit; fencing blinks with the kernel "timer" trigger when available.
 * LEDs are indication only: a write error is reported once and never stops the caller.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type LedState = 'healthy' | 'degraded' | 'fencing' | 'off';

export interface LedLabels {
  healthy?: { label: string } | undefined;
  degraded?: { label: string } | undefined;
  fencing?: { label: string } | undefined;
}

export interface StatusLeds {
  readonly current: LedState | undefined;
  /** Shows a state; returns an error sentence when a write failed (first failure only). */
  show(state: LedState): string | undefined;
}

/** Chooses what the LEDs show: fencing wins, then any problem, then healthy. */
export function ledStateFor(input: { fencing: boolean; feeding: boolean; allHealthy: boolean }): LedState {
  if (input.fencing) return 'fencing';
  if (!input.feeding || !input.allHealthy) return 'degraded';
  return 'healthy';
}

export function createStatusLeds(labels: LedLabels, opts: { sysfsRoot?: string } = {}): StatusLeds {
  const root = join(opts.sysfsRoot ?? '/sys', 'class', 'leds');
  let current: LedState | undefined;
  let reported = false;
  const write = (label: string, file: string, value: string) => writeFileSync(join(root, label, file), value);
  const set = (label: string | undefined, on: boolean, blink: boolean) => {
    if (!label) return;
    if (blink) {
      write(label, 'trigger', 'timer');
      // delay_on/delay_off appear once the timer trigger is active (kernel LED class)
      if (existsSync(join(root, label, 'delay_on'))) {
        write(label, 'delay_on', '250');
        write(label, 'delay_off', '250');
      }
      return;
    }
    write(label, 'trigger', 'none');
    write(label, 'brightness', on ? '1' : '0');
  };
  return {
    get current() {
      return current;
    },
    show(state) {
      if (state === current) return undefined;
      try {
        set(labels.healthy?.label, state === 'healthy', false);
        set(labels.degraded?.label, state === 'degraded', false);
        set(labels.fencing?.label, state === 'fencing', state === 'fencing');
        current = state;
        return undefined;
      } catch (e) {
        current = undefined;
        if (reported) return undefined;
        reported = true;
        return `cannot drive the status LEDs under ${root}: ${(e as Error).message}`;
      }
    },
  };
}
