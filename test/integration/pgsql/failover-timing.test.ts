/**
 * Failover promote against a peer that is gone the way a fenced node is gone: its address still
 * takes the TCP connection (here a local "blackhole" server that accepts and never answers, the way
 * a dead host's SYN is dropped or a hung server never replies), so a libpq probe only ends at its
 * connect_timeout. Measures the promote action itself; the partition (crm_node --partition
 * stand-in) holds only the surviving node, as Pacemaker's would after fencing.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgRack, type PgRack, type PgRackNode } from '../../fixtures/pg-rack.js';
import { cleanupDir, tempDir } from '../../fixtures/proc.js';
import {
  type AttrStore,
  createHarness,
  ensureAgentBuilt,
  type Harness,
  installFakeCrm,
  notifyVars,
} from './agent-harness.js';

let rack: PgRack;
let h: Harness;
let attrs: AttrStore;
let hole: Server;
let holePort = 0;
const sockets: Socket[] = [];

beforeAll(async () => {
  ensureAgentBuilt();
  rack = await createPgRack({ prefix: 'rwpg-fot-' });
  attrs = installFakeCrm(cleanupDir(tempDir('rwpg-crm-')));
  h = createHarness(rack, attrs);
  hole = createServer((s) => {
    sockets.push(s);
    s.on('error', () => {});
  });
  await new Promise<void>((r) => hole.listen(0, '127.0.0.1', () => r()));
  holePort = (hole.address() as { port: number }).port;
}, 120_000);

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => hole.close(() => r(undefined)));
});

describe('failover promote with the old primary gone', () => {
  it('promotes without waiting on the unreachable peer (promote action timed)', async () => {
    const [primary, standby] = rack.nodes as [PgRackNode, PgRackNode];
    await rack.sql(primary, 'CREATE TABLE fot AS SELECT generate_series(1, 10) AS id');
    await rack.waitStreaming(primary, standby);
    await rack.kill9(primary);
    // primary_conninfo now leads to an address that accepts and never answers (the fenced peer / its VIP)
    await rack.sql(
      standby,
      `ALTER SYSTEM SET primary_conninfo = 'host=127.0.0.1 port=${holePort} user=postgres application_name=${standby.name}'`,
    );
    await rack.sql(standby, 'SELECT pg_reload_conf()');
    const partition = { RW_FAKE_PARTITION: standby.name };
    const sets = { active: [standby.name], inactive: [primary.name], slave: [standby.name], promote: [standby.name] };
    const pre = await h.agent('notify', standby, { ...partition, ...notifyVars('pre', 'promote', sets) });
    expect(pre.rc, pre.stderr).toBe(0);
    // even when the election list names the lost node (Pacemaker's notify still counted it active),
    // nobody waits for its lsn_location: it is not in the partition
    attrs.put(standby.name, 'nodes-pgsqld', `${standby.name} ${primary.name}`);
    const p = await h.agent('promote', standby, partition);
    expect(p.stderr).toMatch(new RegExp(`${primary.name} is not in this partition: it is not a candidate`));
    process.stdout.write(`failover promote action: ${Math.round(p.ms)} ms\n`);
    expect(p.rc, p.stderr).toBe(0);
    expect(await rack.role(standby)).toBe('primary');
    expect(p.stderr).toMatch(/no other node is in this partition: the primary_conninfo probe .* is skipped/);
    expect(p.ms).toBeLessThan(1500);

    // the peer still in the partition (Pacemaker did not lose it) but its address hangs: the
    // other-primary probe is bounded (500 ms), not libpq's 2 s minimum connect_timeout
    const d = await h.agent('demote', standby, partition);
    expect(d.rc, d.stderr).toBe(0);
    const two = { RW_FAKE_PARTITION: `${standby.name} ${primary.name}` };
    await h.agent('notify', standby, { ...two, ...notifyVars('pre', 'promote', sets) });
    const q = await h.agent('promote', standby, two);
    process.stdout.write(`promote, peer in the partition but hanging: ${Math.round(q.ms)} ms\n`);
    expect(q.rc, q.stderr).toBe(0);
    expect(q.stderr).toMatch(/no primary answered at 127\.0\.0\.1:\d+ within \d+ ms/);
    expect(q.ms).toBeLessThan(1800);
  }, 120_000);
});
