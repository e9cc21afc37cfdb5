/**
 * The PostgreSQL rack, live: real corosync + Pacemaker on node1/node2 run PostgreSQL 15 under
 * ocf:rackwitness:pgsqlms (promotable clone, notify), a VIP and a pooler stand-in follow the
 * primary, and the box fences through the BMCs. A writer through the VIP records every
 * acknowledged COMMIT; each scenario checks what a user relies on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PgLab, startPgLab } from '../../fixtures/rack-lab/pgsql.js';
import { isStreaming, roleOf } from '../../fixtures/rack-pg.js';

describe.sequential('PostgreSQL rack, live', () => {
  let lab: PgLab;
  beforeAll(async () => {
    lab = await startPgLab();
  });
  afterAll(async () => {
    await lab?.stop();
  });

  it('brings up a primary from two stopped instances: VIP and pooler on it, the standby streaming', async () => {
    const v = await lab.waitHealthy(60_000);
    expect(await roleOf(lab.sh, v.primary)).toBe('primary');
    const standby = v.standbys[0];
    expect(standby).toBeDefined();
    expect(await isStreaming(lab.sh, standby as string)).toBe(true);
  });
});
