import { describe, expect, it } from 'vitest';
import { tablesDocs } from '../../../src/decisions/registry.js';
import { checkTable, type DecisionTable, decideBy, tableMarkdown } from '../../../src/decisions/table.js';
import {
  type Decision,
  decide,
  fencingTable,
  type Phase,
  type PlugView,
  phases,
  type Row,
  type Snapshot,
  type Step,
} from '../../../src/fencing/decisions/core.js';

const table = fencingTable.rows;

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
    cancelled: false,
    rebootPowerOn: 'after-answer',
    ...s,
  };
}

/** One snapshot per row that must land on that row, with the steps the row must produce. */
const walk: Array<{ row: string; s: Snapshot; expect: (steps: ReturnType<typeof decide>['steps']) => void }> = [
  {
    row: 'read.after-answer',
    s: snap({ action: 'reboot', offVerified: true, readDone: true, plugs: two('off', 'off') }),
    expect: (st) => expect(st).toEqual([{ do: 'finish', result: 'failed', verified: false }]),
  },
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
    row: 'read.already-off-stay-off',
    s: snap({ action: 'reboot', rebootPowerOn: 'never', readDone: true, plugs: two('off', 'off') }),
    expect: (st) => expect(st).toEqual([expect.objectContaining({ do: 'finish', result: 'success', power: 'off' })]),
  },
  {
    row: 'read.already-off-reboot',
    s: snap({ action: 'reboot', readDone: true, plugs: two('off', 'off') }),
    expect: (st) =>
      expect(st).toEqual([
        { do: 'answer', result: 'success', power: 'off', verified: true, note: 'already off' },
        { do: 'phase', phase: 'boot-wait' },
      ]),
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
    row: 'off.not-allowed',
    s: snap({ action: 'on', phase: 'verify-off', readDone: true, plugs: two('off', 'off') }),
    expect: (st) => expect(st).toEqual([{ do: 'finish', result: 'failed', verified: false }]),
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
    row: 'off.verified-reboot-stay-off',
    s: snap({
      action: 'reboot',
      rebootPowerOn: 'never',
      phase: 'verify-off',
      readDone: true,
      plugs: two('off', 'off'),
    }),
    expect: (st) => expect(st).toEqual([expect.objectContaining({ do: 'finish', result: 'success', power: 'off' })]),
  },
  {
    row: 'off.verified-reboot',
    s: snap({ action: 'reboot', phase: 'verify-off', readDone: true, plugs: two('off', 'off') }),
    expect: (st) =>
      expect(st).toEqual([
        { do: 'answer', result: 'success', power: 'off', verified: true },
        { do: 'phase', phase: 'boot-wait' },
      ]),
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
    row: 'boot.unverified',
    s: snap({ action: 'reboot', phase: 'boot-wait', offVerified: false, plugs: two('off', 'off') }),
    expect: (st) => expect(st).toEqual([{ do: 'finish', result: 'failed', verified: false }]),
  },
  {
    row: 'boot.cancelled',
    s: snap({ action: 'reboot', phase: 'boot-wait', offVerified: true, cancelled: true, plugs: two('off', 'off') }),
    expect: (st) => expect(st).toEqual([{ do: 'finish', result: 'cancelled', power: 'off', verified: false }]),
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
    row: 'on.not-allowed',
    s: snap({ action: 'reboot', phase: 'verify-on', readDone: true, plugs: two('on', 'on') }),
    expect: (st) => expect(st).toEqual([{ do: 'finish', result: 'failed', verified: false }]),
  },
  {
    row: 'on.cancelled',
    s: snap({ action: 'reboot', phase: 'verify-on', offVerified: true, cancelled: true, plugs: two('on', 'off') }),
    expect: (st) => expect(st).toEqual([{ do: 'finish', result: 'cancelled', verified: false }]),
  },
  {
    row: 'on.refused-after-off',
    s: snap({
      action: 'reboot',
      phase: 'verify-on',
      offVerified: true,
      plugs: [plug('off', { sendError: 'refused' })],
    }),
    expect: (st) => expect(st[0]).toMatchObject({ do: 'finish', result: 'failed', power: 'off', verified: false }),
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
    expect: (st) => expect(st[0]).toMatchObject({ do: 'finish', result: 'failed', verified: false }),
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
    row: 'level.after-answer',
    s: snap({ action: 'reboot', phase: 'level-failed', offVerified: true, level: 0, levels: 2 }),
    expect: (st) => expect(st).toEqual([{ do: 'finish', result: 'failed', verified: false }]),
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

/** The real decision loop (decideBy) over another table (to prove the safety checker catches broken rows). */
const decideWith =
  (t: DecisionTable<Snapshot, Step[]>) =>
  (s: Snapshot): Decision => {
    const d = decideBy(t, s);
    return { row: d.row, steps: d.outcome, reason: d.reason };
  };

/** The table with one row changed. */
function mutate(id: string, change: Partial<Row>): DecisionTable<Snapshot, Step[]> {
  expect(
    table.some((r) => r.id === id),
    id,
  ).toBe(true);
  return { ...fencingTable, rows: table.map((r) => (r.id === id ? { ...r, ...change } : r)) };
}

/**
 * The safety properties, checked exhaustively over small snapshots in EVERY phase, with
 * offVerified and cancelled both ways (a snapshot the runner never builds must fail closed, not
 * succeed), every action, both levels of two. Returns every violation, named by property.
 */
function checkSafety(dec: (s: Snapshot) => Decision): { n: number; violations: string[] } {
  const states: PlugView['state'][] = ['on', 'off', 'unknown'];
  const phases: Phase[] = ['read', 'verify-off', 'boot-wait', 'verify-on', 'level-failed'];
  const violations: string[] = [];
  let n = 0;
  for (const action of ['off', 'reboot', 'on', 'status'] as const)
    for (const phase of phases)
      for (const level of [0, 1])
        for (const a of states)
          for (const b of states)
            for (const readDone of [true, false])
              for (const deadlinePassed of [true, false])
                for (const offVerified of [true, false])
                  for (const cancelled of [true, false])
                    for (const rebootPowerOn of ['after-answer', 'never'] as const)
                      for (const sendError of [undefined, 'timeout', 'refused'] as const) {
                        const s = snap({
                          action,
                          phase,
                          level,
                          levels: 2,
                          readDone,
                          deadlinePassed,
                          offVerified,
                          cancelled,
                          rebootPowerOn,
                          plugs: [plug(a, { sendError }), plug(b)],
                        });
                        const d = dec(s);
                        n++;
                        const at = `${action}/${phase}/L${level}/${a}/${b}/rd=${readDone}/dl=${deadlinePassed}/ov=${offVerified}/c=${cancelled}/${rebootPowerOn}/se=${sendError} via ${d.row}`;
                        const bad = (property: string) => violations.push(`${property}: ${at}`);
                        const readOffNow = readDone && s.plugs.every((p) => p.state === 'off');
                        const readOnNow = readDone && s.plugs.every((p) => p.state === 'on');
                        const followUp = action === 'reboot' && offVerified;
                        for (const st of d.steps) {
                          // the answer (a reboot's fence result) only from plugs read off in this very snapshot
                          if (st.do === 'answer') {
                            if (action !== 'reboot') bad('answer for an action other than reboot');
                            if (!readOffNow) bad('answer without every plug read off now');
                            if (rebootPowerOn !== 'after-answer') bad('answer with reboot_power_on: never');
                          }
                          // a success that is the fence result (off, or a reboot not answered yet) needs the
                          // same; offVerified is no excuse outside a reboot's follow-up
                          if (
                            st.do === 'finish' &&
                            st.result === 'success' &&
                            (action === 'off' || (action === 'reboot' && !offVerified)) &&
                            !readOffNow
                          )
                            bad('success without every plug read off now');
                          // after the answer a reboot's finish is its follow-up: success only with every plug read on
                          if (st.do === 'finish' && followUp && st.result === 'success' && !readOnNow)
                            bad('follow-up success without every plug read on');
                          // on: success only with every plug read on
                          if (st.do === 'finish' && action === 'on' && st.result === 'success' && !readOnNow)
                            bad('on success without every plug read on');
                          // cancelled only ends a follow-up
                          if (st.do === 'finish' && st.result === 'cancelled' && !followUp)
                            bad('cancelled outside a follow-up');
                          // a reboot switches nothing on before its answer, and only when leaving the boot delay
                          if (
                            st.do === 'on' &&
                            action === 'reboot' &&
                            (phase !== 'boot-wait' || !offVerified || cancelled)
                          )
                            bad('reboot switched on outside the end of the boot delay');
                          // off and status never switch anything on
                          if (st.do === 'on' && (action === 'off' || action === 'status')) bad(`${action} switched on`);
                          // status and on never switch anything off
                          if (st.do === 'off' && (action === 'status' || action === 'on'))
                            bad(`${action} switched off`);
                          // after the answer, no other level is tried and nothing is switched off or read anew
                          if (followUp && ['answer', 'read', 'next-level', 'off'].includes(st.do))
                            bad(`follow-up did ${st.do}`);
                          // never a level beyond the last
                          if (st.do === 'next-level' && level + 1 >= 2) bad('next-level past the last level');
                        }
                      }
  return { n, violations };
}

describe('fencing decision table', () => {
  it('is well-formed: unique ids, a comment per row, and every phase ends with a catch-all row', () => {
    expect(checkTable(fencingTable)).toEqual([]);
    for (const p of phases) {
      const rows = table.filter((r) => r.phase === p);
      expect(rows.length, p).toBeGreaterThan(0);
      // the last row of each phase is its catch-all: it has no condition
      expect((rows.at(-1) as (typeof rows)[number]).when, p).toBeUndefined();
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

  it('never answers or yields off/reboot success unless every plug reads off now; nothing goes on before the answer', () => {
    const { n, violations } = checkSafety(decide);
    expect(violations.slice(0, 10)).toEqual([]);
    expect(n).toBeGreaterThan(30_000);
  });

  // The checker above must be able to fail: broken tables, each breaking one property, fed to it.
  describe('the safety checker reports a broken table', () => {
    it('an "unknown" plug counted as off (a success without every plug read off)', () => {
      const broken = mutate('off.verified-off', {
        when: (s) => s.readDone && s.action === 'off' && s.plugs.every((p) => p.state !== 'on'),
      });
      const { violations } = checkSafety(decideWith(broken));
      expect(violations.length).toBeGreaterThan(0);
      expect(
        violations.every((v) => v.startsWith('success without every plug read off now')),
        violations[0],
      ).toBe(true);
      expect(violations[0]).toContain('via off.verified-off');
    });

    it('a reboot that switches on with its answer (power on before the boot delay)', () => {
      const broken = mutate('off.verified-reboot', {
        outcome: (s) => [
          { do: 'answer', result: 'success', power: 'off', verified: true },
          { do: 'phase', phase: 'verify-on' },
          { do: 'on', plugs: s.plugs.map((_, i) => i) },
        ],
      });
      const { violations } = checkSafety(decideWith(broken));
      expect(violations.length).toBeGreaterThan(0);
      expect(violations.some((v) => v.startsWith('reboot switched on outside the end of the boot delay'))).toBe(true);
      expect(
        violations.every((v) => v.includes('via off.verified-reboot')),
        violations[0],
      ).toBe(true);
    });

    it('an answer from a snapshot whose plugs were not read in this phase', () => {
      const broken = mutate('off.verified-reboot', { when: (s) => s.plugs.every((p) => p.state === 'off') });
      const { violations } = checkSafety(decideWith(broken));
      expect(violations.some((v) => v.startsWith('answer without every plug read off now'))).toBe(true);
    });
  });

  it('the generated docs (docs/tables.md) list every row of the table with its phase', () => {
    const doc = tablesDocs();
    expect(doc).toContain(tableMarkdown(fencingTable));
    for (const r of table) expect(doc, r.id).toContain(`| \`${r.id}\``);
    for (const r of table)
      expect(tableMarkdown(fencingTable), r.id).toMatch(new RegExp(`${r.id}\`[^|]*\\| ${r.phase} \\|`));
  });

  it('a plug in "unknown" state never counts as off', () => {
    const d = decide(
      snap({ phase: 'verify-off', readDone: true, plugs: [plug('off'), plug('unknown', { readError: 'timeout' })] }),
    );
    expect(d.row).toBe('off.poll');
  });
});
