/**
 * fence_rackwitness's metadata and man page against reviewed golden files. A change to an option
 * shows up here as a diff to review; regenerate with RW_UPDATE_GOLDEN=1 after checking it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { manpage, metadata, parseArgv, parseStdin, validate } from '../../../src/agents/fence/main.js';

const GOLDEN = join(import.meta.dirname, '../../golden');

function golden(name: string, actual: string): void {
  const file = join(GOLDEN, name);
  if (process.env.RW_UPDATE_GOLDEN === '1') writeFileSync(file, actual);
  expect(existsSync(file), `${file} is missing: review the output, then run with RW_UPDATE_GOLDEN=1`).toBe(true);
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

/** Option names (--x) of the PARAMETERS section of the man page, in order. */
function manOptions(man: string): string[] {
  const sec = man.slice(man.indexOf('.SH PARAMETERS'), man.indexOf('.SH ACTIONS'));
  return [...sec.matchAll(/^\.B (.*)$/gm)].flatMap((m) =>
    [...(m[1] ?? '').matchAll(/\\-\\-([a-z_\\-]+)/g)].map((x) => (x[1] ?? '').replace(/\\-/g, '-')),
  );
}

describe('fence_rackwitness metadata and man page (golden files)', () => {
  it('metadata matches test/golden/fence_rackwitness.metadata.xml', () => {
    golden('fence_rackwitness.metadata.xml', metadata());
  });

  it('man page matches test/golden/fence_rackwitness.8', () => {
    golden('fence_rackwitness.8', manpage());
  });

  it('the man page lists each option once (deprecated names only under STDIN PARAMETERS)', () => {
    const opts = manOptions(manpage());
    expect(opts).toContain('ip');
    expect(opts).toContain('plug');
    expect(opts.filter((o, i) => opts.indexOf(o) !== i)).toEqual([]);
    const stdin = manpage().slice(manpage().indexOf('.SH STDIN PARAMETERS'));
    for (const [old, cur] of [
      ['ipaddr', 'ip'],
      ['port', 'plug'],
      ['login', 'username'],
      ['passwd', 'password'],
      ['passwd_script', 'password_script'],
    ]) {
      expect(stdin).toContain(`.B ${old}\n`);
      expect(stdin).toContain(`(deprecated name of ${cur})`);
    }
  });

  it('metadata lists each deprecated fence-agents name next to its current one, as fence-agents does', () => {
    const xml = metadata();
    for (const [old, cur] of [
      ['ipaddr', 'ip'],
      ['port', 'plug'],
      ['login', 'username'],
      ['passwd', 'password'],
      ['passwd_script', 'password_script'],
    ]) {
      expect(xml).toMatch(new RegExp(`<parameter name="${cur}" unique="0" required="[01]" obsoletes="${old}">`));
      expect(xml).toMatch(new RegExp(`<parameter name="${old}" unique="0" required="[01]" deprecated="1">`));
    }
    for (const t of ['login_timeout', 'power_timeout', 'power_wait', 'retry_on'])
      expect(xml).toContain(`<parameter name="${t}" unique="0" required="0">`);
    expect(xml).toMatch(/<parameter name="power_timeout"[\s\S]*?<content type="second" default="20" \/>/);
    expect(xml).toMatch(/<parameter name="retry_on"[\s\S]*?<content type="integer" default="1" \/>/);
  });
});

describe('fence_rackwitness deprecated names and fence_ipmilan timing options', () => {
  it('stdin maps every deprecated fence-agents name (and "-" spellings) to the current one', () => {
    const warnings: string[] = [];
    const o = parseStdin(
      'ipaddr=h\nport=node-a\nlogin=k1\npasswd=secret-secret-secret-secret\npasswd_script=cat /k\npasswd-script=cat /k2\npower-wait=2\nretry_on=3\nlogin_timeout=4\npower_timeout=30\n',
      (m) => warnings.push(m),
    );
    expect(warnings).toEqual([]);
    expect(o).toEqual({
      ip: 'h',
      plug: 'node-a',
      username: 'k1',
      password: 'secret-secret-secret-secret',
      password_script: 'cat /k2',
      power_wait: '2',
      retry_on: '3',
      login_timeout: '4',
      power_timeout: '30',
    });
    expect(validate(o)).toMatchObject({ keyId: 'k1', keySource: 'password_script', plug: 'node-a' });
  });

  it('the timing options are command-line options too, and bad values are clear errors', () => {
    expect(parseArgv(['--power-timeout=30', '--power-wait', '1', '--login-timeout=2', '--retry-on=0'])).toEqual({
      power_timeout: '30',
      power_wait: '1',
      login_timeout: '2',
      retry_on: '0',
    });
    // deprecated names are stdin-only, as in fence-agents (its getopt knows only the long names)
    expect(() => parseArgv(['--ipaddr=h'])).toThrow(/unrecognized option '--ipaddr=h'/);
    const base = { action: 'off', ip: 'h', plug: 'node-a' };
    expect(() => validate({ ...base, power_wait: 'soon' })).toThrow(/power_wait must be a number of seconds/);
    expect(() => validate({ ...base, retry_on: '-1' })).toThrow(/retry_on must be a number of attempts/);
    expect(() => validate({ ...base, login_timeout: 'x' })).toThrow(/login_timeout/);
  });

  it('-V prints the package version, not a constant', () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '../../../package.json'), 'utf8')) as {
      version: string;
    };
    const agent = join(import.meta.dirname, '../../../dist/agents/fence/main.js');
    expect(execFileSync(process.execPath, [agent, '-V'], { encoding: 'utf8' })).toBe(`${pkg.version}\n`);
    expect(execFileSync(process.execPath, [agent], { input: 'version=1\n', encoding: 'utf8' })).toBe(
      `${pkg.version}\n`,
    );
  });
});
