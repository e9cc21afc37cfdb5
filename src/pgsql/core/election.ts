/**
 * Promotion election (run by the node Pacemaker chose, in its promote action, over the positions
 * every node published in the pre-promote notify). Timeline first, then WAL position, where the
 * position is the greater of received and replayed LSN (a restarted standby reports
 * pg_last_wal_receive_lsn() = start of the segment it asked for, or NULL: PAF#225). A diverged node
 * or a node without a position is never a candidate. Ties keep the designated node (no churn).
 */
import { formatLsn, type Lsn, maxLsn } from './lsn.js';

export interface NodePosition {
  node: string;
  /** null: the node published nothing (down, no walreceiver, or did not answer in time). */
  timeline: number | null;
  receiveLsn: Lsn | null;
  replayLsn: Lsn | null;
  diverged?: boolean;
}

export interface ElectionResult {
  /** The node that should be promoted, or null when nobody qualifies. */
  winner: string | null;
  /** True when the designated (local) node is the winner: go on with the promotion. */
  promoteLocal: boolean;
  reason: string;
}

export function nodeLsn(p: NodePosition): Lsn | null {
  return maxLsn(p.receiveLsn, p.replayLsn);
}

/** Encodes a position for the `lsn_location` attribute: "TLI#LSN" (PAF's format, LSN in decimal). */
export function encodePosition(timeline: number, lsn: Lsn): string {
  return `${timeline}#${lsn.toString(10)}`;
}

export function decodePosition(node: string, value: string | null | undefined, diverged = false): NodePosition {
  const m = value ? /^(\d+)#(\d+)$/.exec(value.trim()) : null;
  if (!m?.[1] || !m[2]) return { node, timeline: null, receiveLsn: null, replayLsn: null, diverged };
  return { node, timeline: Number(m[1]), receiveLsn: BigInt(m[2]), replayLsn: null, diverged };
}

function describe(p: NodePosition): string {
  const l = nodeLsn(p);
  return `${p.node} (timeline ${p.timeline ?? '?'}, LSN ${l === null ? '?' : formatLsn(l)})`;
}

/** Compares two candidates: >0 when a is more advanced. */
export function comparePositions(a: NodePosition, b: NodePosition): number {
  const ta = a.timeline ?? -1;
  const tb = b.timeline ?? -1;
  if (ta !== tb) return ta - tb;
  const la = nodeLsn(a) ?? -1n;
  const lb = nodeLsn(b) ?? -1n;
  return la === lb ? 0 : la > lb ? 1 : -1;
}

export function electCandidate(local: NodePosition, others: readonly NodePosition[]): ElectionResult {
  const usable = (p: NodePosition) => !p.diverged && p.timeline !== null && nodeLsn(p) !== null;
  const candidates = [local, ...others].filter(usable);
  if (candidates.length === 0) {
    return {
      winner: null,
      promoteLocal: false,
      reason: 'no node has a known, non-diverged WAL position: nobody can be promoted safely',
    };
  }
  let best = candidates[0] as NodePosition;
  for (const c of candidates.slice(1)) if (comparePositions(c, best) > 0) best = c;
  if (!usable(local)) {
    const why = local.diverged ? 'has diverged from the cluster' : 'has no known WAL position';
    return {
      winner: best.node,
      promoteLocal: false,
      reason: `${local.node} ${why}; ${describe(best)} is the best candidate`,
    };
  }
  if (best.node === local.node || comparePositions(best, local) === 0) {
    const others2 = others.filter(usable).map(describe);
    return {
      winner: local.node,
      promoteLocal: true,
      reason: `${describe(local)} is at least as advanced as every other candidate${others2.length ? ` (${others2.join(', ')})` : ''}`,
    };
  }
  return {
    winner: best.node,
    promoteLocal: false,
    reason: `${describe(best)} is more advanced than ${describe(local)}`,
  };
}
