import { describe, expect, it } from 'vitest';
import {
  checkTable,
  constantOutcomes,
  type DecisionTable,
  decideBy,
  tableMarkdown,
} from '../../../src/decisions/table.js';

interface Light {
  phase: 'idle' | 'busy';
  load: number;
}

const lights: DecisionTable<Light, 'green' | 'amber' | 'red'> = {
  name: 'lights',
  summary: 'A test table.',
  phases: ['idle', 'busy'],
  phaseOf: (s) => s.phase,
  outcomeLabel: (row) => row.id.split('.')[1] ?? '',
  rows: [
    { id: 'idle.green', phase: 'idle', comment: 'Idle is always green.', outcome: () => 'green', reason: () => 'idle' },
    {
      id: 'busy.red',
      phase: 'busy',
      comment: 'Overloaded: red | stop.',
      when: (s) => s.load > 10,
      outcome: () => 'red',
      reason: (s) => `load ${s.load} is over 10`,
    },
    { id: 'busy.amber', phase: 'busy', comment: 'Busy but fine.', outcome: () => 'amber', reason: () => 'busy' },
  ],
};

describe('decision table', () => {
  it('picks the first matching row of the snapshot phase, with its reason', () => {
    expect(decideBy(lights, { phase: 'busy', load: 11 })).toEqual({
      row: 'busy.red',
      outcome: 'red',
      reason: 'load 11 is over 10',
    });
    expect(decideBy(lights, { phase: 'busy', load: 3 }).row).toBe('busy.amber');
    expect(decideBy(lights, { phase: 'idle', load: 99 }).row).toBe('idle.green');
  });

  it('a well-formed table has no problems', () => {
    expect(checkTable(lights)).toEqual([]);
  });

  it('names duplicate ids, missing comments, a catch-all that is not last, a phase without rows', () => {
    const bad: DecisionTable<Light, string> = {
      name: 'bad',
      summary: '',
      phases: ['idle', 'busy', 'gone'],
      phaseOf: (s) => s.phase,
      rows: [
        { id: 'x', phase: 'idle', comment: 'a catch-all first', outcome: () => 'a', reason: () => 'a' },
        { id: 'x', phase: 'idle', comment: '', when: () => true, outcome: () => 'b', reason: () => 'b' },
        {
          id: 'Bad Id',
          phase: 'busy',
          comment: 'no catch-all here',
          when: () => true,
          outcome: () => 'c',
          reason: () => 'c',
        },
        { id: 'y', phase: 'nowhere', comment: 'phase not declared', outcome: () => 'd', reason: () => 'd' },
      ],
    };
    const problems = checkTable(bad);
    expect(problems).toContain('bad: row id "x" is used twice');
    expect(problems).toContain('bad: row x has no comment');
    expect(problems).toContain('bad: row id "Bad Id" is not lower-case dotted words');
    expect(problems).toContain('bad: phase idle must end with exactly one catch-all row (a row without when)');
    expect(problems).toContain('bad: phase busy must end with exactly one catch-all row (a row without when)');
    expect(problems).toContain('bad: phase gone has no rows');
    expect(problems).toContain('bad: row y has phase nowhere, not one of idle, busy, gone');
  });

  it('throws naming the table and phase when no row matches (an ill-formed table)', () => {
    const t: typeof lights = { ...lights, rows: lights.rows.filter((r) => r.phase === 'idle') };
    expect(() => decideBy(t, { phase: 'busy', load: 1 })).toThrow('decision table lights has no row for phase busy');
  });

  it('renders the rows as Markdown with escaped cells and the catch-all marked', () => {
    const md = tableMarkdown(lights);
    expect(md.split('\n')[0]).toBe('| row | phase | outcome | when / why |');
    expect(md).toContain('| `busy.red` | busy | red | Overloaded: red \\| stop. |');
    expect(md).toContain('| `busy.amber` (catch-all) | busy | amber | Busy but fine. |');
  });
});

describe('constant outcomes', () => {
  it('rows written with `out` decide that value and print it in the docs', () => {
    const t: DecisionTable<{ n: number }, { ok: boolean }> = {
      name: 'sign',
      summary: 'A test table.',
      ...constantOutcomes<{ n: number }, { ok: boolean }>(
        [
          {
            id: 'neg',
            comment: 'Negative numbers fail.',
            when: (s) => s.n < 0,
            out: { ok: false },
            reason: () => 'neg',
          },
          { id: 'other', comment: 'Anything else passes.', out: { ok: true }, reason: (s) => `n=${s.n}` },
        ],
        (o) => (o.ok ? 'pass' : 'fail'),
      ),
    };
    expect(checkTable(t)).toEqual([]);
    expect(decideBy(t, { n: -1 })).toEqual({ row: 'neg', outcome: { ok: false }, reason: 'neg' });
    expect(decideBy(t, { n: 2 })).toEqual({ row: 'other', outcome: { ok: true }, reason: 'n=2' });
    expect(tableMarkdown(t)).toContain('| `neg` | fail | Negative numbers fail. |');
    expect(tableMarkdown(t)).toContain('| `other` (catch-all) | pass | Anything else passes. |');
  });
});
