/**
 * The shipped unit files, checked offline with the real systemd tools (no running manager is
 * needed): `systemd-analyze verify` must be silent (it exits 0 on parse errors and unknown keys,
 * so any output is a failure), `systemd-analyze security --offline=true` must score the unit at
 * most 2.5, and systemd-sysusers must create the user with the groups the unit relies on.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { cleanupDir, tempDir } from '../../fixtures/proc.js';

const run = promisify(execFile);
const UNIT = resolve('systemd/rackwitness.service');
const SYSUSERS = resolve('systemd/rackwitness.sysusers.conf');

async function verify(file: string): Promise<{ code: number; out: string }> {
  try {
    const r = await run('systemd-analyze', ['verify', '--man=no', '--generators=no', file]);
    return { code: 0, out: `${r.stdout}${r.stderr}`.trim() };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: `${x.stdout}${x.stderr}`.trim() };
  }
}

async function exposure(file: string): Promise<{ score: number; code: number; out: string }> {
  let out: string;
  let code = 0;
  try {
    const r = await run('systemd-analyze', ['security', '--offline=true', '--threshold=25', '--no-pager', file]);
    out = r.stdout;
  } catch (e) {
    const x = e as { code: number; stdout: string };
    out = x.stdout;
    code = x.code;
  }
  const m = out.match(/Overall exposure level for \S+: (\d+\.\d+)/);
  if (!m) throw new Error(`no exposure level in:\n${out}`);
  return { score: Number(m[1]), code, out };
}

function directives(text: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = line.match(/^([A-Za-z]+)=(.*)$/);
    if (!m) continue;
    const k = m[1] as string;
    map.set(k, [...(map.get(k) ?? []), m[2] as string]);
  }
  return map;
}

describe('systemd/rackwitness.service', () => {
  it('passes systemd-analyze verify without a single warning', async () => {
    const r = await verify(UNIT);
    expect(r.out).toBe('');
    expect(r.code).toBe(0);
  });

  it('the verify gate catches what verify only warns about (typo, unknown key)', async () => {
    const dir = cleanupDir(tempDir('rwwd-unit-'));
    const bad = join(dir, 'rackwitness.service');
    writeFileSync(
      bad,
      readFileSync(UNIT, 'utf8').replace('Type=notify', 'Type=notfiy').replace('[Service]', '[Service]\nBogusKey=1'),
    );
    const r = await verify(bad);
    expect(r.out).toMatch(/notfiy/);
    expect(r.out).toMatch(/BogusKey/);
  });

  it('scores an exposure level of at most 2.5 in the offline security analysis', async () => {
    const r = await exposure(UNIT);
    expect(r.score).toBeLessThanOrEqual(2.5);
    expect(r.code).toBe(0);
  });

  it('the security gate fails a unit without the hardening', async () => {
    const dir = cleanupDir(tempDir('rwwd-unit-'));
    const plain = join(dir, 'plain.service');
    writeFileSync(plain, '[Service]\nType=notify\nExecStart=/usr/bin/node /x.js\n');
    const r = await exposure(plain);
    expect(r.score).toBeGreaterThan(2.5);
    expect(r.code).not.toBe(0);
  });

  it('is a notify service with a service watchdog below the hardware bound, restarts on failure, and owns the devices it needs', () => {
    const d = directives(readFileSync(UNIT, 'utf8'));
    expect(d.get('Type')).toEqual(['notify']);
    expect(d.get('NotifyAccess')).toEqual(['all']);
    expect(d.get('Restart')).toEqual(['on-failure']);
    const wd = Number((d.get('WatchdogSec')?.[0] ?? '').replace(/s$/, ''));
    expect(wd).toBeGreaterThan(0);
    expect(wd).toBeLessThanOrEqual(15);
    expect(Number((d.get('TimeoutStopSec')?.[0] ?? '').replace(/s$/, ''))).toBeLessThan(15);
    expect(d.get('User')).toEqual(['rackwitness']);
    expect(d.get('ProtectSystem')).toEqual(['strict']);
    expect(d.get('CapabilityBoundingSet')).toEqual(['']);
    expect(d.get('DevicePolicy')).toEqual(['closed']);
    expect(d.get('DeviceAllow')).toEqual(
      expect.arrayContaining(['/dev/watchdog0 rw', 'char-ttyUSB rw', 'char-gpiochip rw']),
    );
    expect(d.get('StateDirectory')).toEqual(['rackwitness']);
    expect(d.get('RuntimeDirectory')).toEqual(['rackwitness']);
    // the config directory holds key files: never world-readable, also after a start recreated it
    expect(d.get('ConfigurationDirectory')).toEqual(['rackwitness']);
    expect(d.get('ConfigurationDirectoryMode')).toEqual(['0750']);
  });
});

describe('systemd/rackwitness.sysusers.conf', () => {
  it('creates the daemon user with every supplementary group the unit names', async () => {
    const root = cleanupDir(tempDir('rwwd-sysusers-'));
    mkdirSync(join(root, 'etc'), { recursive: true });
    const conf = join(root, 'rackwitness.conf');
    copyFileSync(SYSUSERS, conf);
    await run('systemd-sysusers', [`--root=${root}`, conf]);
    const passwd = readFileSync(join(root, 'etc', 'passwd'), 'utf8');
    expect(passwd).toMatch(/^rackwitness:x:\d+:\d+:.*:\/var\/lib\/rackwitness:\/usr\/sbin\/nologin$/m);
    const group = readFileSync(join(root, 'etc', 'group'), 'utf8');
    const unitGroups = (directives(readFileSync(UNIT, 'utf8')).get('SupplementaryGroups')?.[0] ?? '').split(/\s+/);
    expect(unitGroups.length).toBeGreaterThan(0);
    for (const g of unitGroups) expect(group).toMatch(new RegExp(`^${g}:x:\\d+:(.*,)?rackwitness(,.*)?$`, 'm'));
  });
});
