import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keyFromBytes, readAuthKey } from '../../../src/arbitrator/authkey.js';
import { parseBoothConf, parseLine, parseTime } from '../../../src/arbitrator/boothconf.js';
import { findSelf } from '../../../src/arbitrator/identity.js';
import { cleanupDir, tempDir } from '../../fixtures/proc.js';

const LAB = `transport = UDP
port = 9929
authfile = /tmp/blab/authkey
site = 10.213.77.11
site = 10.213.77.12
arbitrator = 10.213.77.13
ticket = "ticketA"
    expire = 12
    timeout = 1
    retries = 3
    acquire-after = 2
    before-acquire-handler = /tmp/blab/bin/before-acquire res-A
ticket = "ticketM"
    mode = manual
    expire = 12
    timeout = 1
    retries = 3
`;

describe('booth.conf', () => {
  it('parses the lab configuration', () => {
    const c = parseBoothConf(LAB);
    expect(c.port).toBe(9929);
    expect(c.authfile).toBe('/tmp/blab/authkey');
    expect(c.members.map((m) => [m.type, m.address, m.id])).toEqual([
      ['site', '10.213.77.11', 0x17be2063],
      ['site', '10.213.77.12', 0x09dab5c0],
      ['arbitrator', '10.213.77.13', 0x7edd8556],
    ]);
    expect(c.tickets).toEqual([
      {
        name: 'ticketA',
        expireMs: 12000,
        timeoutMs: 1000,
        retries: 3,
        renewalFreqMs: 6000,
        acquireAfterMs: 2000,
        manual: false,
      },
      {
        name: 'ticketM',
        expireMs: 12000,
        timeoutMs: 1000,
        retries: 3,
        renewalFreqMs: 6000,
        acquireAfterMs: 0,
        manual: true,
      },
    ]);
    expect(c.timeMult).toBe(1);
    expect(c.maxTimeSkewS).toBe(600);
  });
  it('switches term_valid_for to milliseconds when any time is fractional', () => {
    expect(parseBoothConf(LAB.replace('acquire-after = 2', 'acquire-after = 1500ms')).timeMult).toBe(1000);
    expect(
      parseBoothConf(
        LAB.replace(
          'expire = 12\n    timeout = 1\n    retries = 3\n    acquire',
          'expire = 12.5\n    timeout = 1\n    retries = 3\n    acquire',
        ),
      ).timeMult,
    ).toBe(1000);
  });
  it('comments: at line start or after a quoted value; inside an unquoted value # is part of it', () => {
    expect(parseLine('  # comment', 1)).toBeUndefined();
    expect(parseLine('ticket = "a" # comment', 1)).toEqual({ key: 'ticket', value: 'a' });
    expect(parseLine("authfile = '/x y' ", 1)).toEqual({ key: 'authfile', value: '/x y' });
    expect(parseLine('authfile = /etc/booth#key', 1)).toEqual({ key: 'authfile', value: '/etc/booth#key' });
  });
  it('ticket keys before the first ticket and in __defaults__ are defaults', () => {
    const c = parseBoothConf(
      `site = 10.0.0.1\nsite = 10.0.0.2\narbitrator = 10.0.0.3\nexpire = 60\nticket = "__defaults__"\ntimeout = 2\nticket = "t1"\n`,
    );
    expect(c.tickets[0]).toMatchObject({ expireMs: 60000, timeoutMs: 2000, renewalFreqMs: 30000 });
  });
  it('refuses what booth refuses, naming the line', () => {
    const bad: Array<[string, RegExp]> = [
      [`${LAB}bogus = 1\n`, /line 18: unknown key "bogus"/],
      [LAB.replace('authfile = /tmp/blab/authkey', `authfile = /${'x'.repeat(70)}`), /longer than 64/],
      [LAB.replace('retries = 3', 'retries = 2'), /retries "2" must be 3-100/],
      [LAB.replace('timeout = 1', 'timeout = 2'), /must be below renewal-freq/],
      [`${LAB}transport = UDP\n`, /"transport" given twice/],
      [LAB.replace('transport = UDP', 'transport = SCTP'), /SCTP/],
      [LAB.replace('site = 10.213.77.12', 'site = 10.213.77.11'), /appears twice/],
      [LAB.replace('ticket = "ticketM"', 'ticket = "ticket M"'), /ticket name/],
      [`${LAB}ticket = "__defaults__"\n`, /must be the first ticket/],
      ['site = 10.0.0.1\n', /no ticket/],
      [LAB.replace('mode = manual', 'mode = sometimes'), /mode "sometimes"/],
      [LAB.replace('expire = 12', 'expire = soon'), /"expire" must be seconds/],
      ['ticket\n', /expected "key = value"/],
    ];
    for (const [text, re] of bad) expect(() => parseBoothConf(text)).toThrow(re);
  });
  it('parses times', () => {
    expect(parseTime('12', 'expire', 1)).toBe(12000);
    expect(parseTime('250ms', 'timeout', 1)).toBe(250);
    expect(parseTime('0.5', 'timeout', 1)).toBe(500);
  });
});

describe('finding myself', () => {
  const c = parseBoothConf(LAB);
  it('matches a local address byte for byte and must be an arbitrator line', () => {
    expect(findSelf(c, ['127.0.0.1', '10.213.77.13']).address).toBe('10.213.77.13');
    expect(() => findSelf(c, ['10.213.77.11'])).toThrow(/is a booth site/);
    expect(() => findSelf(c, ['127.0.0.1'])).toThrow(/cannot find myself/);
    expect(findSelf(c, [], '10.213.77.13').id).toBe(0x7edd8556);
    expect(() => findSelf(c, [], '10.9.9.9')).toThrow(/not a site or arbitrator/);
  });
});

describe('authfile', () => {
  const dir = cleanupDir(tempDir('rwbth-key-'));
  it('trims whitespace around a text key (trailing newline)', () => {
    expect(keyFromBytes(Buffer.from('  booth-lab-secret\n'), 'k').toString()).toBe('booth-lab-secret');
  });
  it('keeps binary keys as they are and reads at most 64 bytes', () => {
    const bin = Buffer.alloc(80, 0x20);
    bin[0] = 0x80;
    const k = keyFromBytes(bin, 'k');
    expect(k.length).toBe(64);
    expect(k[63]).toBe(0x20);
    const f = join(dir, 'long');
    writeFileSync(f, 'a'.repeat(100), { mode: 0o600 });
    expect(readAuthKey(f).length).toBe(64);
  });
  it('refuses keys shorter than 8 bytes after trimming', () => {
    expect(() => keyFromBytes(Buffer.from('short  \n'), 'k')).toThrow(/at least 8/);
  });
  it('refuses a group/other-readable file', () => {
    const f = join(dir, 'open');
    writeFileSync(f, 'a-long-enough-key\n');
    chmodSync(f, 0o640);
    expect(() => readAuthKey(f)).toThrow(/readable by group or other/);
    chmodSync(f, 0o600);
    expect(readAuthKey(f).toString()).toBe('a-long-enough-key');
    expect(() => readAuthKey(join(dir, 'missing'))).toThrow(/cannot open/);
  });
});
