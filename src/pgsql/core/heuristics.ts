/**
 * The verdict of the node-side quorum-device heuristics command (rackwitness-qdevice-heuristics),
 * which corosync-qdevice runs from its `heuristics` section on every membership change. qnetd's
 * ffsplit algorithm scores each half of a 50:50 split as (connected nodes + passed − failed
 * heuristics), then client count, then the tie-breaker: in a two-node rack the half whose node
 * PASSES gets the vote, and a tie goes to the tie-breaker (the lowest node id by default), not to
 * the data. So exactly one node may pass in a split:
 *
 * - the writable primary passes;
 * - a standby whose WAL receiver still reports `streaming` fails: in the first seconds of a
 *   split it keeps saying so until wal_receiver_timeout, and it must not tie with the primary;
 * - a standby that does not stream passes only when the box-free evidence says no primary exists:
 *   the primary's host answers but refuses PostgreSQL connections (its PostgreSQL died). It is the
 *   most advanced standby left (the rack's only one). When the primary's host does not answer at
 *   all it may be alive behind the split, so the standby fails; if that node is in fact dead, its
 *   qdevice drops out of qnetd and the standby's half wins alone, whatever its heuristics say;
 * - PostgreSQL that does not answer within the bound fails.
 *
 * Pure: the snapshot is read by the command (src/agents/pgsql/heuristics.ts) before the call.
 */
import { type DecisionTable, decideBy, type TableDecision } from '../../decisions/table.js';

export type HeuristicsVerdict = 'pass' | 'fail';

/** What a TCP connect to the standby's upstream (the primary's address) showed. */
export type UpstreamProbe =
  | 'refused' // the host answers, nothing listens: its PostgreSQL is down
  | 'accepts' // something listens: a primary may be alive there
  | 'unreachable' // no answer within the bound (split, host down)
  | 'none'; // no TCP upstream configured (none, or a Unix socket)

export interface HeuristicsSnapshot {
  /** Whether the local PostgreSQL answered the query, and why not. */
  readonly answered: boolean;
  /** One clause when it did not answer. */
  readonly error?: string;
  readonly inRecovery?: boolean;
  /** default_transaction_read_only on a primary. */
  readonly readOnly?: boolean;
  /** pg_stat_wal_receiver.status, null when no WAL receiver runs. */
  readonly receiverStatus?: string | null;
  /** Upstream address the standby streams (or would stream) from, host:port. */
  readonly upstream?: string;
  readonly upstreamProbe?: UpstreamProbe;
  /** Receive/replay position (text LSN) for the sentence. */
  readonly position?: string | null;
}

export const heuristicsTable: DecisionTable<HeuristicsSnapshot, HeuristicsVerdict> = {
  name: 'quorum-device heuristics',
  summary:
    'Run on each node by corosync-qdevice (heuristics exec) on membership changes: pass only on the node whose partition must get the quorum vote in a split (the writable primary, or a standby when no primary exists), so that ffsplit never ties the two halves.',
  outcomeLabel: (row) => (row.id === 'hx.writable-primary' || row.id === 'hx.no-primary' ? 'pass' : 'fail'),
  rows: [
    {
      id: 'hx.no-answer',
      comment:
        'The local PostgreSQL did not answer within the bound (down, hung, starting): this node holds no usable data now.',
      when: (s) => !s.answered,
      outcome: () => 'fail',
      reason: (s) => `fail: the local PostgreSQL does not answer (${s.error ?? 'no answer'})`,
    },
    {
      id: 'hx.writable-primary',
      comment: 'The writable primary: its partition must get the vote.',
      when: (s) => s.inRecovery === false && s.readOnly !== true,
      outcome: () => 'pass',
      reason: () => 'pass: the local PostgreSQL is the writable primary',
    },
    {
      id: 'hx.read-only-primary',
      comment:
        'Out of recovery but read-only (default_transaction_read_only): it takes no writes, so it is not the primary to keep.',
      when: (s) => s.inRecovery === false,
      outcome: () => 'fail',
      reason: () => 'fail: the local PostgreSQL is out of recovery but read-only',
    },
    {
      id: 'hx.standby-streaming',
      comment:
        'A standby whose WAL receiver reports streaming: a primary exists (or existed until wal_receiver_timeout ago, which is what the first seconds of a split look like). It must not tie with the primary.',
      when: (s) => s.receiverStatus === 'streaming',
      outcome: () => 'fail',
      reason: (s) =>
        `fail: standby still streaming from ${s.upstream ?? 'its primary'} (a primary exists or existed less than wal_receiver_timeout ago)`,
    },
    {
      id: 'hx.no-primary',
      comment:
        'A standby that does not stream, whose upstream host answers but refuses PostgreSQL connections: no primary exists, and this standby is the most advanced left (the rack’s only one). It passes so that its partition wins.',
      when: (s) => s.upstreamProbe === 'refused',
      outcome: () => 'pass',
      reason: (s) =>
        `pass: no primary (${s.upstream} refuses PostgreSQL connections); this standby${s.position ? ` at ${s.position}` : ''} is the most advanced left`,
    },
    {
      id: 'hx.upstream-alive',
      comment:
        'A standby that does not stream while a server listens at the primary’s address: a primary may be alive there.',
      when: (s) => s.upstreamProbe === 'accepts',
      outcome: () => 'fail',
      reason: (s) => `fail: standby not streaming, but ${s.upstream} accepts connections (a primary may be alive)`,
    },
    {
      id: 'hx.upstream-unreachable',
      comment:
        'The primary’s host does not answer: it may hold a live primary behind the split. Fail; if that node is dead its qdevice drops out of qnetd and this partition wins without heuristics.',
      when: (s) => s.upstreamProbe === 'unreachable',
      outcome: () => 'fail',
      reason: (s) =>
        `fail: standby not streaming and ${s.upstream} does not answer (a primary may be alive behind the split)`,
    },
    {
      id: 'hx.other',
      comment:
        'Anything else (a standby with no TCP upstream to check): no evidence that this node holds the newest data.',
      outcome: () => 'fail',
      reason: () => 'fail: standby with no upstream to check; no evidence that it holds the newest data',
    },
  ],
};

export function heuristicsVerdict(s: HeuristicsSnapshot): TableDecision<HeuristicsVerdict> {
  return decideBy(heuristicsTable, s);
}

/** host and port of a libpq conninfo string (key=value form); undefined when absent. */
export function conninfoHostPort(conninfo: string): { host?: string; port?: number } {
  const out: { host?: string; port?: number } = {};
  let hostaddr = false;
  const re = /(\w+)\s*=\s*(?:'((?:[^'\\]|\\.)*)'|(\S+))/g;
  for (let m = re.exec(conninfo); m !== null; m = re.exec(conninfo)) {
    const key = m[1];
    const value = (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1');
    // libpq connects to hostaddr when it is given (host then only names the server)
    if (key === 'hostaddr' || (key === 'host' && !hostaddr)) out.host = value.split(',')[0];
    if (key === 'hostaddr') hostaddr = true;
    if (key === 'port') {
      const p = Number(value.split(',')[0]);
      if (Number.isInteger(p) && p > 0 && p < 65536) out.port = p;
    }
  }
  return out;
}
