import { describe, expect, it } from 'vitest';
import { Deadline, parseConninfo, splitOpts } from '../../../src/agents/pgsql/io.js';
import { METHODS, metaData, PARAM_SPECS, readParams } from '../../../src/agents/pgsql/params.js';

describe('agent parameters (PAF names and defaults)', () => {
  it('defaults are PAF’s, datadir follows pgdata', () => {
    const { params, errors } = readParams({ OCF_RESKEY_pgdata: '/srv/pg' });
    expect(errors).toEqual([]);
    expect(params).toMatchObject({
      systemUser: 'postgres',
      bindir: '/usr/bin',
      pgdata: '/srv/pg',
      datadir: '/srv/pg',
      pghost: '/var/run/postgresql',
      pgport: 5432,
      maxlag: 0,
      rewind: true,
      manageSlots: false,
    });
  });
  it('names the culprit of a bad value', () => {
    const { errors } = readParams({ OCF_RESKEY_pgport: '70000', OCF_RESKEY_maxlag: '-1', OCF_RESKEY_rewind: 'maybe' });
    expect(errors.map((e) => e.key).sort()).toEqual(['maxlag', 'pgport', 'rewind']);
    expect(errors.find((e) => e.key === 'rewind')?.message).toMatch(/rewind="maybe" is not a boolean/);
  });
  it('meta-data declares every parameter, PAF’s actions and the two monitor roles with different intervals', () => {
    const md = metaData();
    expect(md).toContain('<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">');
    for (const p of PARAM_SPECS) expect(md).toContain(`<parameter name="${p.name}"`);
    expect(md).toMatch(/interval="15s" role="Master"/);
    expect(md).toMatch(/interval="16s" role="Slave"/);
    for (const a of ['start', 'stop', 'promote', 'demote', 'notify', 'reload', 'validate-all', 'meta-data', 'methods'])
      expect(METHODS).toContain(a);
  });
});

describe('agent I/O helpers', () => {
  it('splits start_opts and parses conninfo like libpq', () => {
    expect(splitOpts("-c config_file=/etc/pg.conf -c 'x=a b'")).toEqual([
      '-c',
      'config_file=/etc/pg.conf',
      '-c',
      'x=a b',
    ]);
    const c = parseConninfo(
      "host=10.0.0.9 port=5433 user=repl application_name='node 1' passfile=/var/lib/postgresql/.pgpass",
    );
    expect([c.get('host'), c.get('port'), c.get('application_name')]).toEqual(['10.0.0.9', '5433', 'node 1']);
  });
  it('a deadline keeps a margin and never hands out more than what is left', () => {
    const d = new Deadline(10_000);
    expect(d.remainingMs()).toBeLessThanOrEqual(9_000);
    expect(d.cap(60_000)).toBeLessThanOrEqual(9_000);
    expect(d.cap(100)).toBe(100);
    expect(new Deadline(0).cap(100)).toBe(1);
  });
});
