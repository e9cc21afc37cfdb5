/**
 * Pure parsers for what pg_waldump prints, timeline history files and WAL segment names.
 */
import { type Lsn, parseLsn } from './lsn.js';

export interface WalRecord {
  rmgr: string;
  lsn: Lsn;
  /** Total record length in bytes (rec/tot: the second number). */
  totalLen: number;
  desc: string;
  /** Parsed when the record is a checkpoint: its redo pointer, timeline and whether it is a shutdown checkpoint. */
  checkpoint?: { shutdown: boolean; redo: Lsn; timeline: number };
}

export interface WaldumpResult {
  records: WalRecord[];
  /** Where pg_waldump found the end of valid WAL ("invalid record length at X"), if it said so. */
  invalidAt: Lsn | null;
  /** Any other error line it printed. */
  error: string | null;
}

/** Parses pg_waldump stdout+stderr. */
export function parseWaldump(stdout: string, stderr = ''): WaldumpResult {
  const records: WalRecord[] = [];
  for (const line of stdout.split('\n')) {
    const m =
      /^rmgr:\s*(\S+)\s+len \(rec\/tot\):\s*\d+\/\s*(\d+),.*?lsn:\s*([0-9A-Fa-f]+\/[0-9A-Fa-f]+),.*?desc:\s*(.*)$/.exec(
        line,
      );
    if (!m?.[1] || !m[2] || !m[3] || m[4] === undefined) continue;
    const lsn = parseLsn(m[3]);
    if (lsn === null) continue;
    const rec: WalRecord = { rmgr: m[1], lsn, totalLen: Number(m[2]), desc: m[4] };
    const c = /^CHECKPOINT_(SHUTDOWN|ONLINE)\s+redo\s+([0-9A-Fa-f]+\/[0-9A-Fa-f]+);\s*tli\s+(\d+);/.exec(m[4]);
    if (m[1] === 'XLOG' && c?.[1] && c[2] && c[3]) {
      const redo = parseLsn(c[2]);
      if (redo !== null) rec.checkpoint = { shutdown: c[1] === 'SHUTDOWN', redo, timeline: Number(c[3]) };
    }
    records.push(rec);
  }
  const inv = /invalid record length at ([0-9A-Fa-f]+\/[0-9A-Fa-f]+)/.exec(stderr);
  const errLine = stderr.split('\n').find((l) => /error/i.test(l) && !/invalid record length at/.test(l)) ?? null;
  return { records, invalidAt: inv?.[1] ? parseLsn(inv[1]) : null, error: errLine };
}

/** End of a record (MAXALIGN 8). */
export function recordEnd(r: WalRecord): Lsn {
  const end = r.lsn + BigInt(r.totalLen);
  return (end + 7n) & ~7n;
}

/** End of valid WAL: the "invalid record length at" position, else the end of the last record. */
export function walEnd(d: WaldumpResult): Lsn | null {
  if (d.invalidAt !== null) return d.invalidAt;
  const last = d.records[d.records.length - 1];
  return last ? recordEnd(last) : null;
}

export interface HistoryEntry {
  /** A parent timeline ... */
  timeline: number;
  /** ... ended (switched) at this LSN. */
  switchpoint: Lsn;
}

/** Parses a NNNNNNNN.history file: "parentTLI<TAB>switchpoint<TAB>reason" per line. */
export function parseTimelineHistory(text: string): HistoryEntry[] {
  const out: HistoryEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+)\s+([0-9A-Fa-f]+\/[0-9A-Fa-f]+)/.exec(line);
    if (!m?.[1] || !m[2]) continue;
    const lsn = parseLsn(m[2]);
    if (lsn !== null) out.push({ timeline: Number(m[1]), switchpoint: lsn });
  }
  return out;
}

/** Timeline of a WAL segment file name (24 hex digits), or null. */
export function segmentTimeline(name: string): number | null {
  return /^[0-9A-F]{24}$/.test(name) ? Number.parseInt(name.slice(0, 8), 16) : null;
}

/** The newest timeline among WAL segment files (history files are not segments). */
export function newestTimeline(names: readonly string[]): number | null {
  let best: number | null = null;
  for (const n of names) {
    const t = segmentTimeline(n);
    if (t !== null && (best === null || t > best)) best = t;
  }
  return best;
}

/** Start LSN of the oldest segment of a timeline (segment size in bytes), or null when none exists. */
export function firstSegmentStart(
  names: readonly string[],
  timeline: number,
  segmentSize = 16 * 1024 * 1024,
): Lsn | null {
  let best: Lsn | null = null;
  const segsPerId = 0x100000000n / BigInt(segmentSize);
  for (const n of names) {
    if (segmentTimeline(n) !== timeline) continue;
    const log = BigInt(`0x${n.slice(8, 16)}`);
    const seg = BigInt(`0x${n.slice(16, 24)}`);
    const start = (log * segsPerId + seg) * BigInt(segmentSize);
    if (best === null || start < best) best = start;
  }
  return best;
}
