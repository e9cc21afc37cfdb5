import { describe, expect, it } from 'vitest';
import { SimulatedRack } from '../../../src/demo/pg-simulated-rack.js';
import { preflight } from '../../../src/pgsql/observer/preflight.js';
import { buildSnapshot } from '../../../src/pgsql/observer/snapshot.js';
import type { RackSnapshot } from '../../../src/pgsql/observer/types.js';

const NODES = [
  { name: 'node-a', host: 'sim-a', port: 5432 },
  { name: 'node-b', host: 'sim-b', port: 5432 },
];

function rig() {
  let now = 1_795_322_200_000;
  const rack = new SimulatedRack({ now: () => now, walBytesPerSecond: 1_000_000 });
  let prev: RackSnapshot | undefined;
  const observe = async () => {
    const probes = new Map([
      ['node-a', await rack.probe('node-a')],
      ['node-b', await rack.probe('node-b')],
    ]);
    prev = buildSnapshot({
      nodes: NODES,
      probes,
      prev,
      seq: (prev?.seq ?? 0) + 1,
      source: rack.kind,
      maxlagBytes: 0,
      at: now,
    });
    return prev;
  };
  return { rack, observe, tick: (ms: number) => (now += ms) };
}

const node = (s: RackSnapshot, n: string) => s.nodes.find((x) => x.name === n) as RackSnapshot['nodes'][number];

describe('SimulatedRack through the real snapshot builder', () => {
  it('starts as primary + streaming standby whose WAL follows the primary', async () => {
    const { observe, tick } = rig();
    const s0 = await observe();
    expect(s0.source).toBe('simulated');
    expect(s0.state).toBe('ok');
    tick(2000);
    const s1 = await observe();
    // 2 s at 1 MB/s: the primary moved about 2 MB, the standby trails by at most 100 ms of WAL
    const a = node(s1, 'node-a');
    const b = node(s1, 'node-b');
    expect(a.position).not.toBe(node(s0, 'node-a').position);
    expect(b.streaming).toBe(true);
    expect(b.lagBytes).toBeLessThanOrEqual(100_000);
  });

  it('a cut stream makes the standby fall behind and the preflight refuse', async () => {
    const { rack, observe, tick } = rig();
    await observe();
    rack.setStreaming('node-b', false);
    tick(1000);
    const s = await observe();
    expect(node(s, 'node-b').streaming).toBe(false);
    expect(node(s, 'node-b').lagBytes).toBeGreaterThanOrEqual(1_000_000);
    const r = preflight(s, { requireSync: false, maxlagBytes: 0, maxlagSeconds: 0 });
    expect(r.safe).toBe(false);
    expect(r.reasons[0]).toBe('node-a has no walsender for node-b: the standby is not streaming');
  });

  it('switchover swaps the roles on a new timeline, and the old primary streams again', async () => {
    const { rack, observe, tick } = rig();
    await observe();
    rack.switchover();
    tick(500);
    const s = await observe();
    expect(s.primary).toBe('node-b');
    expect(node(s, 'node-b').timeline).toBe(2);
    expect(node(s, 'node-a')).toMatchObject({ role: 'standby', streaming: true, timeline: 2 });
  });

  it('crash, promote and rejoin', async () => {
    const { rack, observe, tick } = rig();
    await observe();
    rack.crash('node-a');
    expect(node(await observe(), 'node-a').role).toBe('down');
    rack.promote('node-b');
    tick(100);
    const s = await observe();
    expect(s.primary).toBe('node-b');
    expect(() => rack.promote('node-b')).toThrow(/not a running standby/);
    rack.startAsStandby('node-a');
    tick(100);
    expect(node(await observe(), 'node-a')).toMatchObject({ role: 'standby', streaming: true, timeline: 2 });
  });
});
