/**
 * The demo's PostgreSQL rack: a real primary + streaming standby when the PG15 binaries exist,
 * the labelled simulation otherwise; the observer service runs against either from the returned
 * config section, and stop() leaves no PostgreSQL process or directory behind.
 */
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Service } from '../../../src/daemon/service.js';
import { type DemoRack, startDemoRack } from '../../../src/demo/pg-rack.js';
import type { RackSnapshot } from '../../../src/pgsql/observer/types.js';
import { createPgsqlService } from '../../../src/pgsql/service.js';
import { onCleanup } from '../../fixtures/proc.js';
import { makeServiceCtx } from '../../unit/pgsql-observer/ctx.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

let svc: Service | undefined;
afterEach(async () => {
  await svc?.stop();
  svc = undefined;
});

describe('startDemoRack', () => {
  it('builds a real two-instance rack the observer sees as healthy, and stop() removes it', async () => {
    const demo: DemoRack = await startDemoRack();
    onCleanup(() => demo.stop());
    expect(demo.kind).toBe('real');
    expect(demo.config.simulated).toBe(false);
    expect(demo.config.nodes.map((n) => n.name)).toEqual(['node-a', 'node-b']);
    expect(demo.describe()).toMatch(
      /^PostgreSQL rack \(real, PG15\): node-a 127\.0\.0\.1:\d+, node-b 127\.0\.0\.1:\d+/,
    );

    const t = makeServiceCtx(demo.config as unknown as Record<string, unknown>, { demo: true });
    svc = createPgsqlService(t.ctx);
    await svc.start();
    const s = (svc.snapshot() as { rack: RackSnapshot }).rack;
    expect(s.source).toBe('postgresql');
    expect(s.state).toBe('ok');
    expect(s.primary).toBe('node-a');
    await svc.stop();
    svc = undefined;

    const real = demo.real;
    if (!real) throw new Error('a real demo rack has its handle');
    const pids = real.nodes.map((n) => real.postmasterPid(n.name)).filter((p): p is number => p !== undefined);
    expect(pids).toHaveLength(2);
    await demo.stop();
    expect(pids.filter(alive)).toEqual([]);
    expect(existsSync(real.dir)).toBe(false);
  });

  it('falls back to the labelled simulation when PostgreSQL is not installed', async () => {
    const demo = await startDemoRack({ pgBin: '/nonexistent/bin' });
    expect(demo.kind).toBe('simulated');
    expect(demo.config.simulated).toBe(true);
    expect(demo.describe()).toBe(
      'PostgreSQL rack: SIMULATED in-process (PostgreSQL server binaries not usable in /nonexistent/bin): node-a, node-b',
    );
    const t = makeServiceCtx(demo.config as unknown as Record<string, unknown>, { demo: true });
    if (demo.simulation) t.ctx.providers.provide('pgsql.simulatedRack', demo.simulation);
    svc = createPgsqlService(t.ctx);
    await svc.start();
    expect(svc.snapshot()).toMatchObject({ simulated: true, rack: { source: 'simulated', primary: 'node-a' } });
    demo.simulation?.crash('node-a');
    await (t.handlers.get('pgsql.preflight') as (p: Record<string, unknown>) => Promise<unknown>)({});
    expect(svc.health().reason).toMatch(/^No writable primary: node-a is down .*\[SIMULATED rack\]$/);
    await demo.stop();
  });
});
