import { describe, expect, it } from 'vitest';
import { tablesDocs } from '../../../src/decisions/registry.js';
import { checkTable, tableMarkdown } from '../../../src/decisions/table.js';
import {
  admit,
  type FenceAction,
  type GuardSnapshot,
  guardTable,
  type PowerKnowledge,
  type RunningView,
} from '../../../src/fencing/decisions/core.js';

const NOW = 1_000_000;
const BOOT = 6_600;

function g(s: Partial<GuardSnapshot>): GuardSnapshot {
  return {
    action: 'reboot',
    target: 'node1',
    requester: 'node2',
    nowMs: NOW,
    running: {},
    power: {},
    requesterBootMs: BOOT,
    ...s,
  };
}
const fence = (action: FenceAction = 'reboot', sinceMs = NOW - 300): RunningView => ({
  action,
  stage: 'fence',
  sinceMs,
});
const followUp = (sinceMs = NOW - 2_000): RunningView => ({ action: 'reboot', stage: 'follow-up', sinceMs });
const off = (ago: number): PowerKnowledge => ({ state: 'off', atMs: NOW - ago, how: 'verified-off' });
const poweredOn = (ago: number): PowerKnowledge => ({ state: 'on', atMs: NOW - ago, how: 'powered-on' });
const readOn = (ago: number): PowerKnowledge => ({ state: 'on', atMs: NOW - ago, how: 'read' });

/** One snapshot per row that must land on that row. */
const walk: Array<{ row: string; s: GuardSnapshot }> = [
  { row: 'guard.requester-being-fenced', s: g({ running: { node2: fence('off') } }) },
  { row: 'guard.requester-power-on-pending', s: g({ running: { node2: followUp() }, power: { node2: off(2_000) } }) },
  { row: 'guard.requester-reads-off', s: g({ power: { node2: off(60_000) }, requesterRead: 'off' }) },
  { row: 'guard.requester-off-unconfirmed', s: g({ power: { node2: off(60_000) } }) },
  { row: 'guard.requester-just-powered-on', s: g({ power: { node2: poweredOn(2_000) } }) },
  { row: 'busy.idle', s: g({ power: { node2: poweredOn(84_000) } }) },
  { row: 'busy.join', s: g({ running: { node1: fence('reboot') } }) },
  { row: 'busy.wait', s: g({ action: 'off', running: { node1: fence('reboot') } }) },
  { row: 'busy.follow-up-status', s: g({ action: 'status', running: { node1: followUp() } }) },
  { row: 'busy.follow-up-cancel', s: g({ action: 'off', running: { node1: followUp() } }) },
  { row: 'busy.follow-up-on', s: g({ action: 'on', running: { node1: followUp() } }) },
];

describe('fence request guard table', () => {
  it('is well-formed: unique ids, a comment per row, a catch-all last row', () => {
    expect(checkTable(guardTable)).toEqual([]);
    expect((guardTable.rows.at(-1) as (typeof guardTable.rows)[number]).when).toBeUndefined();
  });

  it('the walk covers every row', () => {
    expect(walk.map((w) => w.row).sort()).toEqual(guardTable.rows.map((r) => r.id).sort());
  });

  for (const w of walk) {
    it(`row ${w.row}`, () => {
      const d = admit(w.s);
      expect(d.row).toBe(w.row);
      expect(d.reason.length).toBeGreaterThan(10);
      if (d.verdict === 'refuse') expect(d.reason).toMatch(/^refused: .*node2/);
    });
  }

  it('the outage: node2 rebooted by the box, powered on again, asks 94 s later to fence node1 → granted', () => {
    // reboot of node2 at t-94 s: off verified at t-93.7, power-on verified at t-83.5
    const d = admit(g({ power: { node2: poweredOn(83_500), node1: readOn(30_000) } }));
    expect([d.row, d.verdict]).toEqual(['busy.idle', 'run']);
  });

  it('the true race: the request of the node being fenced is refused while the first runs, and during its power-on', () => {
    expect(admit(g({ running: { node2: fence('reboot', NOW - 400) } })).verdict).toBe('refuse');
    expect(admit(g({ running: { node2: followUp() }, power: { node2: off(1_000) } })).verdict).toBe('refuse');
  });

  it('a requester the box verified off is read before refusing; refused only if it still reads off', () => {
    expect(admit(g({ power: { node2: off(300_000) } })).verdict).toBe('read-requester');
    expect(admit(g({ power: { node2: off(300_000) }, requesterRead: 'off' })).verdict).toBe('refuse');
    // powered on by hand (or a missed read): it is alive, serve it
    expect(admit(g({ power: { node2: off(300_000) }, requesterRead: 'on' })).verdict).toBe('run');
    // cannot be read: no positive knowledge, serve it
    expect(admit(g({ power: { node2: off(300_000) }, requesterRead: 'unreadable' })).verdict).toBe('run');
  });

  it('exhaustively: refuses only with positive knowledge; never refuses a live, idle requester; reads at most once', () => {
    const runs: Array<RunningView | undefined> = [
      undefined,
      fence('off'),
      fence('reboot'),
      fence('status'),
      fence('on'),
      followUp(),
    ];
    const powers: Array<PowerKnowledge | undefined> = [
      undefined,
      off(1_000),
      off(600_000),
      poweredOn(1_000),
      poweredOn(BOOT + 1),
      readOn(1_000),
      { state: 'off', atMs: NOW - 5_000, how: 'read' },
    ];
    let n = 0;
    for (const action of ['off', 'on', 'reboot', 'status'] as const)
      for (const requester of [undefined, 'node1', 'node2'])
        for (const reqRun of runs)
          for (const tgtRun of runs)
            for (const reqPower of powers)
              for (const requesterRead of [undefined, 'on', 'off', 'unreadable'] as const) {
                const running: Record<string, RunningView> = {};
                if (reqRun && requester && requester !== 'node1') running[requester] = reqRun;
                if (tgtRun) running.node1 = tgtRun;
                const power: Record<string, PowerKnowledge> = {};
                if (reqPower && requester) power[requester] = reqPower;
                const s = g({
                  action,
                  ...(requester ? { requester } : { requester: undefined }),
                  running,
                  power,
                  ...(requesterRead ? { requesterRead } : {}),
                });
                const d = admit(s);
                n++;
                const at = `${action} from ${requester} run=${JSON.stringify(running)} power=${JSON.stringify(power)} read=${requesterRead} → ${d.row}`;
                const guardedReq = (action === 'off' || action === 'reboot') && requester === 'node2';
                if (d.verdict === 'refuse') {
                  expect(guardedReq, at).toBe(true);
                  const r = running.node2;
                  const positive =
                    (r !== undefined && (r.stage === 'follow-up' || ['off', 'reboot'].includes(r.action))) ||
                    requesterRead === 'off' ||
                    (reqPower?.how === 'powered-on' && NOW - reqPower.atMs < BOOT && requesterRead !== 'unreadable');
                  expect(positive, at).toBe(true);
                }
                if (d.verdict === 'read-requester') expect(requesterRead, at).toBeUndefined();
                // a requester that is known alive (read on, or powered on longer than the boot window ago), has nothing
                // running, and whose target is idle, is always served
                if (
                  guardedReq &&
                  running.node2 === undefined &&
                  running.node1 === undefined &&
                  requesterRead !== 'off' &&
                  (reqPower === undefined || reqPower.how === 'read'
                    ? reqPower?.state !== 'off'
                    : reqPower.state === 'on' && NOW - reqPower.atMs >= BOOT)
                )
                  expect(d.verdict, at).toBe('run');
              }
    expect(n).toBeGreaterThan(3000);
  });

  it('the generated docs (docs/tables.md) list every guard row with its verdict', () => {
    const doc = tablesDocs();
    expect(doc).toContain(tableMarkdown(guardTable));
    for (const w of walk) expect(doc, w.row).toMatch(new RegExp(`\`${w.row}\`[^|]*\\| ${admit(w.s).verdict} \\|`));
  });
});
