/**
 * Issue 12 item 7: `config check` must find every refusal of `run`. Each config below is refused
 * by `rackwitness run` (the real daemon process); `config check` must refuse it too, naming the
 * same culprit, and neither may start anything.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, cleanEnv, NODE_FLAGS, runCli } from '../../fixtures/cli.js';
import { cleanupDir, freePort, spawnProc, tempDir } from '../../fixtures/proc.js';

interface Case {
  name: string;
  /** culprit both must name */
  culprit: RegExp;
  build(dir: string, ports: { http: number; api: number; booth: number }): string;
}

const KEY = 'config-check-test-key-0123456789abcdef0123';

function base(dir: string, http: number): string {
  return `box: {name: rack1, state_dir: ${join(dir, 'state')}}
control: {socket: ${join(dir, 'control.sock')}}
log: {format: json}
status:
  mqtt: {enabled: false}
  http: {host: 127.0.0.1, port: ${http}}
`;
}

function fencing(dir: string, o: { api: number; host?: string; sim?: boolean; keyFile?: string }): string {
  const key = o.keyFile ?? join(dir, 'fence.key');
  if (!o.keyFile) writeFileSync(key, `${KEY}\n`, { mode: 0o600 });
  return `fencing:
  corosync_token_ms: 100
  boot_delay_s: 1
${o.sim === false ? '' : '  allow_simulated: true\n'}  devices: [{driver: sim, name: bmc-a, plugs: [chassis]}]
  targets: {node-a: {levels: [{plugs: [{device: bmc-a, plug: chassis}]}]}}
  api: {host: ${o.host ?? '127.0.0.1'}, port: ${o.api}, keys: [{id: cluster, key_file: ${key}}]}
`;
}

function booth(dir: string, port: number, authMode = 0o600, authInConf = true): string {
  const key = join(dir, 'booth.key');
  writeFileSync(key, 'booth-key-for-config-check-0123\n');
  chmodSync(key, authMode);
  const conf = join(dir, 'booth.conf');
  writeFileSync(
    conf,
    `port = ${port}\n${authInConf ? `authfile = ${key}\n` : ''}site = 127.0.0.11\nsite = 127.0.0.12\narbitrator = 127.0.0.13\nticket = "db"\n  expire = 12\n  timeout = 1\n  retries = 3\n`,
  );
  return `arbitrator: {booth_config: ${conf}, address: 127.0.0.13}\n`;
}

const cases: Case[] = [
  {
    name: 'a booth authfile (named in booth.conf) with mode 0644',
    culprit: /authfile .*booth\.key.*readable by group or other/,
    build: (dir, p) => base(dir, p.http) + booth(dir, p.booth, 0o644),
  },
  {
    name: 'a booth port equal to the fence API port',
    culprit: /port \d+ .*(booth|arbitrator).*fence|fence.*port \d+.*(booth|arbitrator)/i,
    build: (dir, p) => base(dir, p.http) + booth(dir, p.api) + fencing(dir, { api: p.api, host: '0.0.0.0' }),
  },
  {
    name: 'an empty key file',
    culprit: /fence\.key/,
    build: (dir, p) => {
      const empty = join(dir, 'fence.key');
      writeFileSync(empty, '', { mode: 0o600 });
      return base(dir, p.http) + fencing(dir, { api: p.api, keyFile: empty });
    },
  },
  {
    name: 'sim devices without fencing.allow_simulated',
    culprit: /fencing\.devices.*bmc-a.*simulated/,
    build: (dir, p) => base(dir, p.http) + fencing(dir, { api: p.api, sim: false }),
  },
  {
    name: 'watchdog timing that breaks its rules, in mode off',
    culprit: /watchdog\.feed_period_s: feed_period_s 4 must be at most timeout_s\/3/,
    build: (dir, p) => `${base(dir, p.http)}watchdog: {mode: off, timeout_s: 10, feed_period_s: 4}\n`,
  },
];

describe('config check agrees with run', () => {
  it.each(cases)('$name: refused by run and by config check', async (c) => {
    const dir = cleanupDir(tempDir('rw-check-'));
    const ports = { http: await freePort(), api: await freePort(), booth: await freePort('127.0.0.13') };
    const file = join(dir, 'rackwitness.yaml');
    writeFileSync(file, c.build(dir, ports));

    const run = spawnProc(process.execPath, [...NODE_FLAGS, CLI, 'run', '--config', file], {
      env: cleanEnv({ RW_READY_LINE: '1' }),
    });
    const ran = await Promise.race([
      run.exited,
      run.waitFor(/^READY \d+$/m, 20_000).then(() => ({ code: 'ready' as const })),
    ]);
    await run.kill('SIGTERM');
    expect(ran.code, run.output()).not.toBe('ready');
    expect(ran.code).not.toBe(0);
    expect(run.output()).toMatch(c.culprit);
    expect(run.output()).not.toMatch(/"msg":"started"[^\n]*\n[^\n]*READY/);

    const check = await runCli(['config', 'check', '--config', file]);
    expect(check.code, `config check passed:\n${check.stdout}`).toBe(1);
    expect(check.stderr).toMatch(c.culprit);
  });
});
