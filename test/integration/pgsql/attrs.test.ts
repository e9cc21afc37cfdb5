/**
 * The agent's attribute layer (src/agents/pgsql/attrs.ts) against the attrd_updater/crm_attribute
 * stand-ins. Not evidence of Pacemaker's behaviour (the stand-ins emulate what a real 2.1.5 cluster
 * showed); it checks that the agent uses the commands the way that behaviour needs: private values
 * through attrd only, a bounded read-back after a write, readers on another node polling.
 */
import { execFileSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { Attributes, parseAttrdQuery } from '../../../src/agents/pgsql/attrs.js';
import { Deadline } from '../../../src/agents/pgsql/io.js';
import { cleanupDir, tempDir, waitFor } from '../../fixtures/proc.js';
import { type AttrStore, installFakeCrm } from './agent-harness.js';

let store: AttrStore;
const saved = { ...process.env };

beforeAll(() => {
  store = installFakeCrm(cleanupDir(tempDir('rwpg-attrs-')));
  process.env.PATH = `${store.bin}:${process.env.PATH}`;
  process.env.RW_FAKE_ATTRD = store.dir;
  return () => {
    process.env = saved;
  };
});

const as = (node: string) => {
  process.env.OCF_RESKEY_CRM_meta_on_node = node;
  return new Attributes('pgsqld', new Deadline(20_000));
};

describe('attrd_updater output parsing', () => {
  it('takes the value of the asked host only, keeps inner quotes, reads "" (deleted) as unset', () => {
    const out =
      'name="lsn_location-pgsqld" host="node1" value="1#123"\nname="lsn_location-pgsqld" host="node2" value="1#456"\n';
    expect(parseAttrdQuery(out, 'lsn_location-pgsqld', 'node2')).toBe('1#456');
    expect(parseAttrdQuery(out, 'lsn_location-pgsqld', 'node3')).toBeNull();
    expect(parseAttrdQuery('name="r-x" host="n" value="a "q" b"', 'r-x', 'n')).toBe('a "q" b');
    expect(parseAttrdQuery('name="r-x" host="n" value=""', 'r-x', 'n')).toBeNull();
  });
});

describe('private values through the attrd_updater stand-in', () => {
  it('a write is read back on the writer node before set() returns; another node sees it after the replication lag', async () => {
    const a = as('node1');
    expect(await a.set('node1', 'lsn_location', '2#100')).toBe(true);
    expect(await a.get('node1', 'lsn_location')).toBe('2#100');
    const b = as('node2');
    const t0 = performance.now();
    expect(await b.poll('node1', 'lsn_location', 2000)).toBe('2#100');
    expect(performance.now() - t0).toBeLessThan(2000);
    await a.del('node1', 'lsn_location');
    // the delete replicates like the write did: wait for node2 to see it gone
    await waitFor(
      'node2 to see the deleted lsn_location gone',
      async () => (await b.get('node1', 'lsn_location')) === null,
      2000,
    );
    expect(await b.poll('node1', 'never_set', 300)).toBeNull();
  });

  it('nothing private reaches the CIB stand-in; scores do, as transient (lifetime reboot) attributes', async () => {
    const a = as('node1');
    await a.set('node1', 'cancel_reason', 'a "quoted" reason, with spaces');
    expect(await as('node1').get('node1', 'cancel_reason')).toBe('a "quoted" reason, with spaces');
    await a.setScore('node1', -1000);
    expect(await a.getScore('node1')).toBe(-1000);
    expect(store.cib('node1', 'cancel_reason-pgsqld')).toBeNull();
    expect(store.cib('node1', 'master-pgsqld', 'forever')).toBeNull();
    expect(store.score('node1')).toBe(-1000);
    const crm = store
      .calls()
      .split('\n')
      .filter((l) => l && !l.startsWith('attrd_updater'));
    expect(crm.every((l) => l.includes('master-pgsqld'))).toBe(true);
    // the real tool lists every node without -N; the agent always names the node
    const all = execFileSync('attrd_updater', ['-Q', '-n', 'cancel_reason-pgsqld'], { env: process.env }).toString();
    expect(all).toMatch(/host="node1"/);
  });
});
