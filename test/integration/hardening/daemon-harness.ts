/**
 * The real daemon (`node dist/cli/main.js run --config ...`) with a fencing section on simulated
 * devices and the signed agent API, for the hardening tests (issue 12). Requests are signed with
 * the same protocol module the agent uses, so a "captured" request is exactly what travels.
 */

import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { signedHeaders } from '../../../src/fencing/api/protocol.js';
import { startDaemon } from '../../fixtures/cli.js';
import { cleanupDir, freePort, type Spawned, tempDir } from '../../fixtures/proc.js';

export const KEY = 'hardening-test-key-0123456789abcdef0123456789';

export interface Box {
  dir: string;
  file: string;
  api: number;
  http: number;
  start(env?: Record<string, string>): Promise<Spawned>;
}

export interface Captured {
  path: string;
  method: string;
  body: string;
  headers: Record<string, string>;
}

export interface Reply {
  status: number;
  body: Record<string, unknown>;
}

/** Writes a config; `extra` is appended as YAML (other sections), `fencingExtra` inside fencing. */
export async function makeBox(
  opts: { switchDelayMs?: number; initial?: 'on' | 'off'; extra?: string; fencingExtra?: string } = {},
): Promise<Box> {
  const dir = cleanupDir(tempDir('rw-harden-'));
  const http = await freePort();
  const api = await freePort();
  const key = join(dir, 'fence.key');
  writeFileSync(key, `${KEY}\n`, { mode: 0o600 });
  const file = join(dir, 'rackwitness.yaml');
  writeFileSync(
    file,
    `box: {name: rack1, state_dir: state}
control: {socket: run/control.sock}
log: {format: json}
status:
  mqtt: {enabled: false}
  http: {host: 127.0.0.1, port: ${http}}
fencing:
  corosync_token_ms: 100
  corosync_consensus_ms: 120
  boot_delay_s: 0.5
  power_timeout_s: 3
  poll_interval_ms: 100
  allow_simulated: true
  devices:
    - {driver: sim, name: bmc-a, plugs: [chassis], initial: ${opts.initial ?? 'on'}, latency_ms: 5, switch_delay_ms: ${opts.switchDelayMs ?? 50}}
  targets:
    node-a: {levels: [{plugs: [{device: bmc-a, plug: chassis}]}]}
  api: {host: 127.0.0.1, port: ${api}, clock_skew_s: 300, rate_burst: 1000, rate_per_min: 6000, keys: [{id: cluster, key_file: ${key}}]}
${opts.fencingExtra ?? ''}${opts.extra ?? ''}`,
  );
  return { dir, file, api, http, start: (env = {}) => startDaemon(['--config', file], env) };
}

export function sign(body: object | string, path = '/v1/fence', method = 'POST'): Captured {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return { path, method, body: text, headers: signedHeaders(Buffer.from(KEY), 'cluster', method, path, text) };
}

/** Sends a (captured) request as is. Resolves with status 0 and `error` when the connection broke. */
export function send(port: number, r: Captured, timeoutMs = 30_000): Promise<Reply> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: r.method,
        path: r.path,
        headers: { ...r.headers, 'content-type': 'application/json' },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let body: Record<string, unknown>;
          try {
            body = JSON.parse(text) as Record<string, unknown>;
          } catch {
            body = { raw: text };
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
        res.on('error', (e) => resolve({ status: 0, body: { error: (e as NodeJS.ErrnoException).code ?? e.message } }));
      },
    );
    req.on('error', (e) => resolve({ status: 0, body: { error: (e as NodeJS.ErrnoException).code ?? e.message } }));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(r.body);
  });
}
