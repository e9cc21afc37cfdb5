import { describe, expect, it } from 'vitest';
import { manpage, metadata, parseArgv, parseStdin, validate } from '../../../src/agents/fence/main.js';

describe('fence_rackwitness input parsing (fence-agents rules)', () => {
  it('stdin: comments and blanks skipped, last wins, quotes stripped, aliases mapped, unknown keys warned', () => {
    const warnings: string[] = [];
    const o = parseStdin(
      '# from pacemaker\n\nnodename=node-a\nipaddr=10.0.0.5\naction=status\naction=off\nport="node-a"\nkey-file=/k\nbogus=1\n  ipport = 9000  \n',
      (m) => warnings.push(m),
    );
    expect(o).toEqual({
      nodename: 'node-a',
      ip: '10.0.0.5',
      action: 'off',
      plug: 'node-a',
      key_file: '/k',
      ipport: '9000',
    });
    expect(warnings).toEqual(["Parse error: Ignoring unknown option 'bogus=1'"]);
  });

  it('argv: short and long options, strict about unknown ones', () => {
    expect(
      parseArgv(['-a', '10.0.0.5', '--ipport=9000', '-n', 'node-b', '-o', 'reboot', '--key-file', '/k', '-v']),
    ).toEqual({
      ip: '10.0.0.5',
      ipport: '9000',
      plug: 'node-b',
      action: 'reboot',
      key_file: '/k',
      verbose: '1',
    });
    expect(() => parseArgv(['--nope'])).toThrow(/unrecognized option '--nope'/);
    expect(() => parseArgv(['-n'])).toThrow(/requires an argument/);
  });

  it('validate: address and target required for power actions; nodename stands in for plug', () => {
    expect(() => validate({ action: 'off', plug: 'node-a' })).toThrow(/fence address/);
    expect(() => validate({ action: 'off', ip: 'h' })).toThrow(/plug/);
    expect(validate({ action: 'off', ip: 'h', nodename: 'node-a' })).toMatchObject({
      plug: 'node-a',
      port: 9642,
      keyId: 'cluster',
    });
    expect(validate({ action: 'list', ip: 'h' }).plug).toBeUndefined();
    expect(() => validate({ action: 'cycle', ip: 'h' })).toThrow(/Unrecognised action 'cycle'/);
    expect(() => validate({ action: 'off', ip: 'h', plug: 'x', ipport: '70000' })).toThrow(/ipport/);
  });

  it('manpage is a roff page naming every option and action of the metadata', () => {
    const man = manpage();
    expect(man.split('\n')[0]).toMatch(/^\.TH FENCE_RACKWITNESS 8 /);
    for (const name of [...metadata().matchAll(/<parameter name="([^"]+)"/g)].map((m) => m[1] as string)) {
      expect(man).toContain(`.B ${name.replace(/-/g, '\\-')}\n`);
    }
    for (const a of [...metadata().matchAll(/<action name="([^"]+)"/g)].map((m) => m[1] as string)) {
      expect(man).toContain(`\\fB${a.replace(/-/g, '\\-')}\\fP`);
    }
    expect(man).not.toContain('<');
  });

  it('metadata advertises plug (obsoletes port), every action, and no cycle method', () => {
    const xml = metadata();
    for (const a of ['on', 'off', 'reboot', 'status', 'list', 'list-status', 'monitor', 'metadata', 'validate-all']) {
      expect(xml).toContain(`<action name="${a}"`);
    }
    expect(xml).not.toMatch(/cycle/);
  });
});
