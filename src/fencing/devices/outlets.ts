/**
 * Small pieces the PDU and relay drivers share: the outlet naming map, plug resolution,
 * secret reading, and racing a device operation against the caller's AbortSignal.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { z } from 'zod';
import { DriverError } from './driver.js';

/** What every PDU/relay driver factory accepts besides its config. */
export interface PduDriverDeps {
  log?: Logger;
  /** Reads a secret file; default: the file's content without the trailing newline. */
  readSecret?: (file: string) => Promise<string>;
}

export const deviceNameField = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'letters, digits, "_", "." and "-", at most 63 characters')
  .meta({ description: 'Device name used in fencing levels, logs, the fence journal and status.' });

/** outlet number -> node name (the node whose power that outlet feeds). */
export function outletsField(what = 'outlet') {
  return z
    .record(z.string().regex(/^\d+$/, `${what} numbers are written as digits`), z.string().min(1))
    .default({})
    .meta({
      description: `Names for ${what}s: ${what} number -> node name. A plug may then be given as the node name instead of the number.`,
    });
}

export async function defaultReadSecret(file: string): Promise<string> {
  const text = await readFile(file, 'utf8');
  return text.replace(/\r?\n$/, '');
}

/** Reads a secret, turning a missing/unreadable file into a config error that names the key. */
export async function readSecretFor(
  device: string,
  key: string,
  file: string,
  read: (file: string) => Promise<string>,
): Promise<string> {
  let v: string;
  try {
    v = await read(file);
  } catch (e) {
    throw new DriverError('config', device, `cannot read ${key} ${file}: ${(e as Error).message}`, { cause: e });
  }
  if (v.length === 0) throw new DriverError('config', device, `${key} ${file} is empty`);
  return v;
}

/**
 * Turns a plug into an outlet number: digits are the number itself, otherwise the configured
 * naming map is asked (node name -> number). Returns the name when neither knows it, so a driver
 * can still ask the device for its own outlet names.
 */
export function resolvePlug(
  device: string,
  plug: string,
  outlets: Record<string, string>,
): { outlet: number } | { name: string } {
  const p = plug.trim();
  if (p === '') throw new DriverError('no-such-plug', device, 'empty plug');
  if (/^\d+$/.test(p)) {
    const n = Number(p);
    if (n < 1 || n > 4096) throw new DriverError('no-such-plug', device, `outlet ${p} is out of range`);
    return { outlet: n };
  }
  const hits = Object.entries(outlets)
    .filter(([, node]) => node === p)
    .map(([num]) => Number(num));
  if (hits.length > 1)
    // a dual-PSU node: switching only the first outlet would leave it powered
    throw new DriverError(
      'config',
      device,
      `"${p}" names outlets ${hits.join(' and ')}: list each outlet as its own plug in the fencing level (plug: "${hits[0]}", plug: "${hits[1]}")`,
    );
  if (hits.length === 1) return { outlet: hits[0] as number };
  return { name: p };
}

/** Runs `fn`, rejecting with a DriverError('timeout') as soon as `signal` aborts. */
export async function abortable<T>(device: string, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  if (signal.aborted) throw abortError(device, signal);
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortError(device, signal));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([fn(), aborted]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

function abortError(device: string, signal: AbortSignal): DriverError {
  const why = signal.reason instanceof Error ? signal.reason.message : String(signal.reason ?? 'aborted');
  return new DriverError('timeout', device, `operation abandoned: ${why}`);
}
