import { describe, expect, it } from 'vitest';
import { checkTable } from '../../../src/decisions/table.js';
import {
  conninfoHostPort,
  type HeuristicsSnapshot,
  heuristicsTable,
  heuristicsVerdict,
} from '../../../src/pgsql/core/heuristics.js';

const standby = (over: Partial<HeuristicsSnapshot> = {}): HeuristicsSnapshot => ({
  answered: true,
  inRecovery: true,
  readOnly: false,
  receiverStatus: null,
  upstream: '10.0.0.1:5432',
  position: '0/3000148',
  ...over,
});

/** One snapshot per row, in table order. */
const cases: Record<string, HeuristicsSnapshot> = {
  'hx.no-answer': { answered: false, error: 'no answer within 2000 ms' },
  'hx.writable-primary': { answered: true, inRecovery: false, readOnly: false, receiverStatus: null },
  'hx.read-only-primary': { answered: true, inRecovery: false, readOnly: true, receiverStatus: null },
  'hx.standby-streaming': standby({ receiverStatus: 'streaming' }),
  'hx.no-primary': standby({ upstreamProbe: 'refused' }),
  'hx.upstream-alive': standby({ receiverStatus: 'waiting', upstreamProbe: 'accepts' }),
  'hx.upstream-unreachable': standby({ upstreamProbe: 'unreachable' }),
  'hx.other': standby({ upstream: undefined, upstreamProbe: 'none' }),
};

describe('quorum-device heuristics table', () => {
  it('is well formed', () => {
    expect(checkTable(heuristicsTable)).toEqual([]);
  });

  it('every row has a case that lands on it, with a one-sentence verdict', () => {
    expect(Object.keys(cases)).toEqual(heuristicsTable.rows.map((r) => r.id));
    for (const [row, s] of Object.entries(cases)) {
      const d = heuristicsVerdict(s);
      expect(d.row, row).toBe(row);
      expect(d.reason.startsWith(d.outcome), row).toBe(true);
      expect(d.reason, row).not.toMatch(/undefined|NaN|\.\s+\S/);
    }
  });

  it('exactly one side of a split passes: the primary, never a streaming standby', () => {
    expect(heuristicsVerdict(cases['hx.writable-primary'] as HeuristicsSnapshot).outcome).toBe('pass');
    expect(heuristicsVerdict(cases['hx.standby-streaming'] as HeuristicsSnapshot).outcome).toBe('fail');
    // a standby that still says streaming fails whatever its upstream probe would say
    expect(heuristicsVerdict(standby({ receiverStatus: 'streaming', upstreamProbe: 'refused' })).outcome).toBe('fail');
  });

  it('with the primary gone the standby passes; with the primary maybe alive behind the split it fails', () => {
    expect(heuristicsVerdict(standby({ upstreamProbe: 'refused' })).outcome).toBe('pass');
    expect(heuristicsVerdict(standby({ upstreamProbe: 'unreachable' })).outcome).toBe('fail');
    expect(heuristicsVerdict(standby({ upstreamProbe: 'accepts' })).outcome).toBe('fail');
  });
});

describe('conninfo host and port', () => {
  it('reads key=value conninfo as libpq does for the first host', () => {
    expect(conninfoHostPort("host=10.0.0.1 port=5433 user=rep application_name='node a'")).toEqual({
      host: '10.0.0.1',
      port: 5433,
    });
    expect(conninfoHostPort("host='db1,db2' port=5432,5433")).toEqual({ host: 'db1', port: 5432 });
    expect(conninfoHostPort('hostaddr=10.0.0.9 host=db1')).toEqual({ host: '10.0.0.9' });
    expect(conninfoHostPort('host=db1 hostaddr=10.0.0.9')).toEqual({ host: '10.0.0.9' });
    expect(conninfoHostPort('')).toEqual({});
    expect(conninfoHostPort('port=99999')).toEqual({});
  });
});
