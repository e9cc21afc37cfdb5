import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkTable, tableMarkdown } from '../../../src/decisions/table.js';
import {
  Arbiter,
  type ArbitrationSnapshot,
  type ArbObserverView,
  arbitrate,
  arbitrationTable,
  observerView,
  postgresPreference,
  preference,
} from '../../../src/fencing/decisions/arbitration.js';
import type { RackSnapshot } from '../../../src/pgsql/observer/types.js';

const NOW = 1_800_000_000_000;

/** node-a primary (timeline 3, ahead), node-b streaming standby; polled 1 s ago. */
function observer(over: Partial<ArbObserverView> = {}): ArbObserverView {
  return {
    atMs: NOW - 1000,
    writablePrimaries: ['node-a'],
    nodes: [
      { name: 'node-a', role: 'primary', timeline: 3, position: 0x3000200n },
      { name: 'node-b', role: 'standby', timeline: 3, position: 0x3000100n },
    ],
    ...over,
  };
}

/** node-b asks to fence node-a (the primary's node) over the API; nothing held yet. */
function snap(over: Partial<ArbitrationSnapshot> = {}): ArbitrationSnapshot {
  return {
    enabled: true,
    action: 'reboot',
    target: 'node-a',
    via: 'api',
    requester: 'node-b',
    addr: '10.0.0.2',
    addressesConfigured: true,
    nowMs: NOW,
    holdMs: 5000,
    observerMaxAgeMs: 10_000,
    observer: observer(),
    arrivedAtMs: NOW,
    ...over,
  };
}

/** One snapshot per row, in table order: each must land on exactly that row. */
const cases: Record<string, ArbitrationSnapshot> = {
  'arb.disabled': snap({ enabled: false }),
  'arb.not-a-fence': snap({ action: 'status' }),
  'arb.local': snap({ via: 'local', requester: undefined, addr: undefined }),
  'arb.unknown-address': snap({ requester: undefined, addr: '192.0.2.9' }),
  'arb.no-addresses': snap({ requester: undefined, addr: '192.0.2.9', addressesConfigured: false }),
  'arb.self': snap({ requester: 'node-a' }),
  'arb.rival-won': snap({ rivalAskedAtMs: NOW - 300 }),
  'arb.window-over': snap({ heldSinceMs: NOW - 5000 }),
  'arb.await-observer': snap({ observerExpected: true, observer: undefined, target: 'node-b', requester: 'node-a' }),
  'arb.requester-preferred': snap({ target: 'node-b', requester: 'node-a' }),
  'arb.preferred-off': snap({ targetVerifiedOff: true }),
  'arb.hold-for-preferred': snap(),
  'arb.first-come': snap({ observer: undefined }),
};

describe('fence arbitration table', () => {
  it('is well formed', () => {
    expect(checkTable(arbitrationTable)).toEqual([]);
  });

  it('has a case for every row, and every case lands on its row', () => {
    expect(Object.keys(cases)).toEqual(arbitrationTable.rows.map((r) => r.id));
    for (const [row, s] of Object.entries(cases)) {
      const d = arbitrate(s);
      expect(d.row, row).toBe(row);
      expect(d.reason, row).not.toMatch(/undefined|NaN/);
      expect(d.reason.split(/[.;:] /).length, row).toBeLessThan(5);
    }
  });

  it('holds the standby side and grants the primary side at once', () => {
    expect(arbitrate(snap()).outcome).toBe('hold');
    expect(arbitrate(snap()).reason).toContain('node-a holds the writable primary');
    const primarySide = arbitrate(snap({ target: 'node-b', requester: 'node-a' }));
    expect(primarySide.outcome).toBe('pass');
    expect(primarySide.reason).toContain('granted at once');
  });

  it('refuses the loser when the preferred node asked before or during the hold, in one sentence', () => {
    const before = arbitrate(snap({ rivalAskedAtMs: NOW - 2000 }));
    expect(before.outcome).toBe('refuse');
    expect(before.reason).toBe(
      "refused: node-b asked to reboot node-a, but node-a holds the writable primary and node-a asked to fence node-b too; the box granted node-a's request (fence arbitration)",
    );
    const during = arbitrate(snap({ heldSinceMs: NOW - 1200, arrivedAtMs: NOW - 1200, rivalAskedAtMs: NOW - 10 }));
    expect(during.outcome).toBe('refuse');
    // an ask long before this request is another race: it does not count
    expect(arbitrate(snap({ rivalAskedAtMs: NOW - 60_000 })).row).toBe('arb.hold-for-preferred');
  });

  it('treats observer data older than the bound as unknown: configured node, then first come', () => {
    const stale = observer({ atMs: NOW - 11_000 });
    expect(arbitrate(snap({ observer: stale })).row).toBe('arb.first-come');
    expect(arbitrate(snap({ observer: stale })).reason).toContain('PostgreSQL data too old');
    // the configured node wins over the stale data, which named node-a
    const cfg = arbitrate(snap({ observer: stale, preferredNode: 'node-b', target: 'node-a', requester: 'node-b' }));
    expect(cfg.row).toBe('arb.requester-preferred');
    expect(cfg.reason).toContain('11 s old (bound 10 s) and counts as unknown');
    expect(arbitrate(snap({ observer: stale, preferredNode: 'node-a' })).row).toBe('arb.hold-for-preferred');
    // data from the future (box clock stepped back) is not fresh either
    expect(arbitrate(snap({ observer: observer({ atMs: NOW + 5000 }) })).row).toBe('arb.first-come');
    // no observer at all
    expect(preference(snap({ observer: undefined, preferredNode: 'node-b' }))?.why).toContain('no PostgreSQL data');
  });

  it('with an observer running, missing or stale data holds either side for a fresh poll, within one window', () => {
    for (const obs of [undefined, observer({ atMs: NOW - 11_000 })]) {
      for (const [requester, target] of [
        ['node-a', 'node-b'],
        ['node-b', 'node-a'],
      ] as const) {
        const d = arbitrate(snap({ observerExpected: true, observer: obs, requester, target }));
        expect(d.row).toBe('arb.await-observer');
      }
    }
    expect(arbitrate(snap({ observerExpected: true, observer: undefined })).reason).toBe(
      "holding node-b's reboot of node-a for up to 5 s: the PostgreSQL observer has not polled yet, and the box decides on a fresh poll",
    );
    // the window is one: held since 5 s, the request goes on even without data
    expect(arbitrate(snap({ observerExpected: true, observer: undefined, heldSinceMs: NOW - 5000 })).row).toBe(
      'arb.window-over',
    );
    // fresh data decides as usual
    expect(arbitrate(snap({ observerExpected: true })).row).toBe('arb.hold-for-preferred');
  });

  it('a zero window never holds', () => {
    expect(arbitrate(snap({ holdMs: 0 })).row).toBe('arb.first-come');
  });
});

describe('who PostgreSQL prefers', () => {
  it('the one writable primary', () => {
    expect(postgresPreference(observer())?.node).toBe('node-a');
  });

  it('no primary: the highest timeline, then the highest WAL position', () => {
    const none = (a: [number, bigint], b: [number, bigint]) =>
      observer({
        writablePrimaries: [],
        nodes: [
          { name: 'node-a', role: 'down', timeline: null, position: null },
          { name: 'node-b', role: 'standby', timeline: b[0], position: b[1] },
          { name: 'node-c', role: 'standby', timeline: a[0], position: a[1] },
        ],
      });
    expect(postgresPreference(none([4, 1n], [3, 9n]))?.node).toBe('node-c');
    expect(postgresPreference(none([3, 1n], [3, 9n]))?.node).toBe('node-b');
    expect(postgresPreference(none([3, 9n], [3, 9n]))).toBeUndefined(); // a tie singles out nobody
  });

  it('two writable primaries: the higher timeline of the two', () => {
    const two = observer({
      writablePrimaries: ['node-a', 'node-b'],
      nodes: [
        { name: 'node-a', role: 'primary', timeline: 3, position: 0x9000000n },
        { name: 'node-b', role: 'primary', timeline: 4, position: 0x3000000n },
      ],
    });
    expect(postgresPreference(two)?.node).toBe('node-b');
    expect(postgresPreference(two)?.why).toContain('of the two writable primaries');
  });

  it('nothing read: no preference', () => {
    expect(
      postgresPreference(
        observer({
          writablePrimaries: [],
          nodes: [
            { name: 'node-a', role: 'unknown', timeline: null, position: null },
            { name: 'node-b', role: 'down', timeline: null, position: null },
          ],
        }),
      ),
    ).toBeUndefined();
  });

  it('reads a rack snapshot: poll time, roles, timelines, LSNs', () => {
    const rack = {
      at: new Date(NOW).toISOString(),
      writablePrimaries: ['node-a'],
      nodes: [
        { name: 'node-a', role: 'primary', timeline: 2, position: '0/3000148' },
        { name: 'node-b', role: 'standby', timeline: 2, position: null },
      ],
    } as unknown as RackSnapshot;
    expect(observerView(rack)).toEqual({
      atMs: NOW,
      writablePrimaries: ['node-a'],
      nodes: [
        { name: 'node-a', role: 'primary', timeline: 2, position: 0x3000148n },
        { name: 'node-b', role: 'standby', timeline: 2, position: null },
      ],
    });
    expect(observerView(undefined)).toBeUndefined();
  });
});

describe('the arbiter (holding edge)', () => {
  const arbiter = (holdMs: number, obs: ArbObserverView | undefined = observer({ atMs: Date.now() })) =>
    new Arbiter({
      enabled: true,
      holdMs,
      observerMaxAgeMs: 10_000,
      addressesConfigured: true,
      observer: () => (obs ? { ...obs, atMs: Date.now() } : undefined),
    });

  it('a held request is refused as soon as the preferred node asks', async () => {
    const a = arbiter(30_000);
    const held = a.decide({ target: 'node-a', action: 'reboot', via: 'api', requester: 'node-b' });
    await new Promise((r) => setImmediate(r));
    expect(a.holding()).toBe(1);
    const winner = await a.decide({ target: 'node-b', action: 'reboot', via: 'api', requester: 'node-a' });
    expect(winner.verdict).toBe('pass');
    const loser = await held;
    expect(loser).toMatchObject({ verdict: 'refuse', row: 'arb.rival-won' });
    expect(a.holding()).toBe(0);
  });

  it('a held request goes on when the window ends without the preferred node asking', async () => {
    const a = arbiter(150);
    const t0 = performance.now();
    const r = await a.decide({ target: 'node-a', action: 'off', via: 'api', requester: 'node-b' });
    expect(r).toMatchObject({ verdict: 'pass', row: 'arb.window-over' });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
  });

  it('a request held for missing observer data is decided by the first fresh poll, and reported once per row', async () => {
    let obs: ArbObserverView | undefined;
    const rows: string[] = [];
    const a = new Arbiter({
      enabled: true,
      holdMs: 30_000,
      observerMaxAgeMs: 10_000,
      addressesConfigured: true,
      observer: () => obs,
      observerExpected: () => true,
      observerRecheckMs: 20,
      onDecision: (_req, d) => rows.push(d.row),
    });
    // the primary's node (node-a) asks first, before the box's first poll
    const primarySide = a.decide({ target: 'node-b', action: 'reboot', via: 'api', requester: 'node-a' });
    const standbySide = a.decide({ target: 'node-a', action: 'reboot', via: 'api', requester: 'node-b' });
    await new Promise((r) => setTimeout(r, 100));
    expect(a.holding()).toBe(2);
    obs = observer({ atMs: Date.now() });
    expect(await primarySide).toMatchObject({ verdict: 'pass', row: 'arb.requester-preferred' });
    expect(await standbySide).toMatchObject({ verdict: 'refuse', row: 'arb.rival-won' });
    expect(rows.filter((r) => r === 'arb.await-observer')).toHaveLength(2);
  });

  it('the loser asking after the winner is refused at once', async () => {
    const a = arbiter(30_000);
    expect((await a.decide({ target: 'node-b', action: 'reboot', via: 'api', requester: 'node-a' })).verdict).toBe(
      'pass',
    );
    expect(await a.decide({ target: 'node-a', action: 'reboot', via: 'api', requester: 'node-b' })).toMatchObject({
      verdict: 'refuse',
      row: 'arb.rival-won',
    });
  });
});

describe('docs', () => {
  it('docs/partitions.md carries the table as the code has it', () => {
    const doc = readFileSync(new URL('../../../docs/partitions.md', import.meta.url), 'utf8');
    expect(doc).toContain(tableMarkdown(arbitrationTable));
  });
});
