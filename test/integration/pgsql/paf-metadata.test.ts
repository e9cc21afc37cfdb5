/**
 * A PAF user moves a CIB over by changing the provider: our pgsqlms must know every parameter of
 * the installed PAF (Debian's resource-agents-paf 2.3.0) under the same name, with the same type
 * and default. Differences are allowed only where listed below, each with its reason.
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const PAF = '/usr/lib/ocf/resource.d/heartbeat/pgsqlms';
const OURS = resolve(import.meta.dirname, '../../../dist/agents/pgsql/main.js');

/** Our own parameters, which PAF does not have. */
const OUR_EXTRA_PARAMETERS: Record<string, string> = {
  logfile: 'pg_ctl -l target; PAF always starts the server with its log to /dev/null',
  rewind: 'pg_rewind of a diverged returning ex-primary; PAF refuses to start it',
  manage_slots: 'replication slots named after the other nodes, created on promote',
  switchover_wait_s: 'how long the designated standby waits for the old primary’s shutdown checkpoint',
};

/**
 * PAF parameters whose meta-data default is a placeholder text, not a value: PAF computes the
 * value from pgdata at run time, as we do, so the behaviour a PAF user relies on is the same.
 */
const PLACEHOLDER_DEFAULTS: Record<string, { paf: string; ours: string; why: string }> = {
  datadir: { paf: 'PGDATA', ours: '', why: 'empty = pgdata, as PAF’s "PGDATA"' },
  recovery_template: {
    paf: 'PGDATA/recovery.conf.pcmk',
    ours: '',
    why: 'PostgreSQL 11 and older only; on 12+ both refuse such a file in the data directory',
  },
};

interface Param {
  type: string;
  default: string | undefined;
}

function parameters(xml: string): Map<string, Param> {
  const out = new Map<string, Param>();
  for (const m of xml.matchAll(/<parameter name="([^"]+)"[^>]*>([\s\S]*?)<\/parameter>/g)) {
    const c = /<content type="([^"]+)"(?: default="([^"]*)")?/.exec(m[2] ?? '');
    out.set(m[1] ?? '', { type: c?.[1] ?? '?', default: c?.[2] });
  }
  return out;
}

const metaData = (cmd: string, args: string[]) =>
  execFileSync(cmd, [...args, 'meta-data'], { encoding: 'utf8', env: { ...process.env, OCF_ROOT: '/usr/lib/ocf' } });

describe('pgsqlms parameters against the installed PAF (resource-agents-paf)', () => {
  const paf = parameters(metaData(PAF, []));
  const ours = parameters(metaData(process.execPath, [OURS]));

  it('reads both meta-data documents', () => {
    expect(paf.size).toBeGreaterThanOrEqual(9);
    expect(paf.get('pghost')).toEqual({ type: 'string', default: '/var/run/postgresql' });
  });

  it('has every PAF parameter with PAF’s type and default (placeholders listed)', () => {
    const diffs: string[] = [];
    for (const [name, p] of paf) {
      const o = ours.get(name);
      if (!o) {
        diffs.push(`${name}: missing`);
        continue;
      }
      if (o.type !== p.type) diffs.push(`${name}: type ${o.type}, PAF ${p.type}`);
      const allowed = PLACEHOLDER_DEFAULTS[name];
      if (allowed) {
        expect([p.default, o.default], `${name}: ${allowed.why}`).toEqual([allowed.paf, allowed.ours]);
      } else if ((o.default ?? '') !== (p.default ?? '')) {
        diffs.push(`${name}: default "${o.default}", PAF "${p.default}"`);
      }
    }
    expect(diffs).toEqual([]);
  });

  it('has no parameter beyond PAF’s except the listed extras', () => {
    expect([...ours.keys()].filter((n) => !paf.has(n)).sort()).toEqual(Object.keys(OUR_EXTRA_PARAMETERS).sort());
  });
});
