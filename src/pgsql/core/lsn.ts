/**
 * The one WAL-position (LSN) module: PostgreSQL's "HI/LO" text to a 64-bit number and back. Used
 * by the pgsql observer, the node agent and the arbitrator's vote guard (pure: no I/O).
 */

/** A WAL position. PostgreSQL prints it as "HI/LO" in hex (pg_waldump zero-pads LO: compare numerically). */
export type Lsn = bigint;

/** Parses "0/49B95E8" or "0/049B95E8"; returns null for anything else (including empty/NULL). */
export function parseLsn(text: string | null | undefined): Lsn | null {
  if (!text) return null;
  const m = /^\s*([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})\s*$/.exec(text);
  if (!m?.[1] || !m[2]) return null;
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

/** Formats an LSN the way the server does ("0/49B95E8"). */
export function formatLsn(lsn: Lsn): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

export function maxLsn(...values: Array<Lsn | null | undefined>): Lsn | null {
  let best: Lsn | null = null;
  for (const v of values) if (v !== null && v !== undefined && (best === null || v > best)) best = v;
  return best;
}
