import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decide, type Phase, type PlugView, type Snapshot, table } from '../../../src/fencing/core.js';

const plug = (state: PlugView['state'], extra: Partial<PlugView> = {}): PlugView => ({
  device: 'd',
  plug: 'p',
  state,
  ...extra,
});
const two = (a: PlugView['state'], b: PlugView['state']): PlugView[] => [
  { device: 'pdu1', plug: '3', state: a },
  { device: 'pdu2', plug: '3', state: b },
];

function snap(s: Partial<Snapshot>): Snapshot {
  return {
    action: 'off',
    phase: 'read',
    level: 0,
    levels: 1,
    plugs: [plug('on')],
    readDone: false,
    deadlinePassed: false,
    offVerified: false,
    ...s,
  };
}

/** One snapshot per row that must land on that row, with the steps the row must produce. */
const walk: Array<{ row: string; s: Snapshot; expect: (steps: ReturnType<typeof decide>['steps']) => void }> = [
  { row: 'read.first', s: snap({}), expect: (st) => expect(st).toEqual([{ do: 'read' }]) },
  {
    row: 'read.unreadable',
    s: snap({ readDone: true, plugs: [plug('on'), plug('unknown', { readError: 'timeout' })] }),
    expect: (st) => expect(st).toEqual([{ do: 'phase', phase: 'level-failed' }]),
  },
  {
    row: 'read.status',
    s: snap({ action: 'status', readDone: true, plugs: two('off', 'on') }),
    expect: (st) => expect(st).toEqual([{ do: 'finish', result: 'success', power: 'on', verified: true }]),
  },
  {
    row: 'read.already-off',
    s: snap({ readDone: true, plugs: two('off', 'off') }),
    expect: (st) => expect(st[0]).toMatchObject({ do: 'finish', result: 'success', power: 'off', note: 'already off' }),
  },
  {
    row: 'read.send-off',
    s: snap({ action: 'reboot', readDone: true, plugs: two('off', 'on') }),
    expect: (st) =>
      expect(st).toEqual([
        { do: 'phase', phase: 'verify-off' },
        { do: 'off', plugs: [1] },
      ]),
  },
  {
    row: 'read.already-on',
    s: snap({ action: 'on', readDone: true, plugs: two('on', 'on') }),
    expect: (st) => expect(st[0]).toMatchObject({ do: 'finish', result: 'success', power: 'on' }),
  },
  {
    row: 'read.send-on',
    s: snap({ action: 'on', readDone: true, plugs: two('on', 'off') }),
    expect: (st) =>
      expect(st).toEqual([
        { do: 'phase', phase: 'verify-on' },
        { do: 'on', plugs: [1] },
      ]),
  },
  {
    row: 'off.refused',
    s: snap({ phase: 'verify-off', plugs: [plug('on', { sendError: 'privilege' })] }),
    expect: (st) => expect(st).toEqual([{ do: 'phase', phase: 'level-failed' }]),
  },
  {
    row: 'off.verified-off',
    s: snap({ phase: 'verify-off', readDone: true, plugs: two('off', 'off') }),
    expect: (st) => expect(st).toEqual([{ do: 'finish', result: 'success', power: 'off', verified: true }]),
  },
  {
    row: 'off.verified-reboot',
    s: snap({ action: 'reboot', phase: 'verify-off', readDone: true, plugs: two('off', 'off') }),
    expect: (st) => expect(st).toEqual([{ do: 'phase', phase: 'boot-wait' }]),
  },
  {
    row: 'off.timeout',
    s: snap({ phase: 'verify-off', readDone: true, deadlinePassed: true, plugs: two('off', 'on') }),
    expect: (st) => expect(st).toEqual([{ do: 'phase', phase: 'level-failed' }]),
  },
  {
    row: 'off.poll',
    s: snap({ phase: 'verify-off', readDone: true, plugs: [plug('on', { sendError: 'timeout' })] }),
    expect: (st) => expect(st).toEqual([{ do: 'poll' }]),
  },
  {
    row: 'boot.wait',
    s: snap({ action: 'reboot', phase: 'boot-wait', offVerified: true, plugs: two('off', 'off') }),
    expect: (st) => expect(st).toEqual([{ do: 'wait-boot' }]),
  },
  {
    row: 'boot.power-on',
    s: snap({
      action: 'reboot',
      phase: 'boot-wait',
      offVerified: true,
      deadlinePassed: true,
      plugs: two('off', 'off'),
    }),
    expect: (st) =>
      expect(st).toEqual([
        { do: 'phase', phase: 'verify-on' },
        { do: 'on', plugs: [0, 1] },
      ]),
  },
  {
    row: 'on.refused-after-off',
    s: snap({
      action: 'reboot',
      phase: 'verify-on',
      offVerified: true,
      plugs: [plug('off', { sendError: 'refused' })],
    }),
    expect: (st) => expect(st[0]).toMatchObject({ do: 'finish', result: 'success', power: 'off', verified: true }),
  },
  {
    row: 'on.refused',
    s: snap({ action: 'on', phase: 'verify-on', plugs: [plug('off', { sendError: 'auth' })] }),
    expect: (st) => expect(st).toEqual([{ do: 'phase', phase: 'level-failed' }]),
  },
  {
    row: 'on.verified',
    s: snap({ action: 'reboot', phase: 'verify-on', offVerified: true, readDone: true, plugs: two('on', 'on') }),
    expect: (st) => expect(st[0]).toMatchObject({ do: 'finish', result: 'success', power: 'on', note: 'rebooted' }),
  },
  {
    row: 'on.timeout-after-off',
    s: snap({
      action: 'reboot',
      phase: 'verify-on',
      offVerified: true,
      readDone: true,
      deadlinePassed: true,
      plugs: two('on', 'off'),
    }),
    expect: (st) => expect(st[0]).toMatchObject({ do: 'finish', result: 'success', power: 'off' }),
  },
  {
    row: 'on.timeout',
    s: snap({ action: 'on', phase: 'verify-on', readDone: true, deadlinePassed: true, plugs: two('on', 'off') }),
    expect: (st) => expect(st).toEqual([{ do: 'phase', phase: 'level-failed' }]),
  },
  {
    row: 'on.poll',
    s: snap({ action: 'on', phase: 'verify-on', readDone: true, plugs: two('on', 'off') }),
    expect: (st) => expect(st).toEqual([{ do: 'poll' }]),
  },
  {
    row: 'level.next',
    s: snap({ phase: 'level-failed', level: 0, levels: 2 }),
    expect: (st) => expect(st).toEqual([{ do: 'next-level' }]),
  },
  {
    row: 'level.exhausted',
    s: snap({ phase: 'level-failed', level: 1, levels: 2 }),
    expect: (st) => expect(st[0]).toMatchObject({ do: 'finish', result: 'failed', verified: false }),
  },
];

describe('fencing decision table', () => {
  it('is well-formed: unique ids, a comment per row, and every phase ends with a catch-all row', () => {
    const ids = table.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const r of table) expect(r.comment.length).toBeGreaterThan(10);
    const phases: Phase[] = ['read', 'verify-off', 'boot-wait', 'verify-on', 'level-failed'];
    for (const p of phases) {
      const rows = table.filter((r) => r.phase === p);
      expect(rows.length, p).toBeGreaterThan(0);
      // the last row of each phase matches any snapshot of that phase
      expect(
        (rows.at(-1) as (typeof rows)[number]).when(snap({ phase: p, readDone: true, deadlinePassed: true })),
      ).toBe(true);
    }
  });

  it('the walk covers every row of the table', () => {
    expect(walk.map((w) => w.row).sort()).toEqual(table.map((r) => r.id).sort());
  });

  for (const w of walk) {
    it(`row ${w.row}`, () => {
      const d = decide(w.s);
      expect(d.row).toBe(w.row);
      expect(d.reason.length).toBeGreaterThan(5);
      w.expect(d.steps);
    });
  }

  it('never yields success for off/reboot unless every plug was read off in this operation', () => {
    // exhaustive over small snapshots: a success finish for off/reboot with power off needs all plugs read off
    const states: PlugView['state'][] = ['on', 'off', 'unknown'];
    const phases: Phase[] = ['read', 'verify-off', 'boot-wait', 'verify-on', 'level-failed'];
    for (const action of ['off', 'reboot'] as const)
      for (const phase of phases)
        for (const a of states)
          for (const b of states)
            for (const readDone of [true, false])
              for (const deadlinePassed of [true, false])
                for (const offVerified of phase === 'boot-wait' || phase === 'verify-on' ? [true] : [false])
                  for (const sendError of [undefined, 'timeout', 'refused'] as const) {
                    const s = snap({
                      action,
                      phase,
                      readDone,
                      deadlinePassed,
                      offVerified,
                      plugs: [plug(a, { sendError }), plug(b)],
                    });
                    const d = decide(s);
                    for (const st of d.steps) {
                      if (st.do === 'finish' && st.result === 'success') {
                        const allOffNow = s.plugs.every((p) => p.state === 'off');
                        expect(allOffNow || offVerified, `${action}/${phase}/${a}/${b} via ${d.row}`).toBe(true);
                      }
                      // a reboot never switches anything on before off was verified
                      if (st.do === 'on' && action === 'reboot') expect(phase).toBe('boot-wait');
                    }
                  }
  });

  it('docs/fencing.md lists every row of the table', () => {
    const doc = readFileSync(new URL('../../../docs/fencing.md', import.meta.url), 'utf8');
    for (const r of table) expect(doc, r.id).toContain(`| ${r.phase} | \`${r.id}\` |`);
  });

  it('a plug in "unknown" state never counts as off', () => {
    const d = decide(
      snap({ phase: 'verify-off', readDone: true, plugs: [plug('off'), plug('unknown', { readError: 'timeout' })] }),
    );
    expect(d.row).toBe('off.poll');
  });
});
