/**
 * The pure core that keeps refusals (traffic anyone can send: unsigned or forged fence API
 * requests) from flooding the events log. Per source + reason, the first refusal of an interval
 * is recorded as it is; the rest of that interval are counted and summarized in one event when
 * the interval ends. At most `maxKeys` source+reason pairs get their own events per interval; any
 * further ones are counted together in one "other sources" summary. No I/O, no timers: the caller
 * passes the time and emits what this returns.
 */

export interface RefusalKey {
  source: string;
  reason: string;
}

export interface RefusalSummary {
  /** undefined: the "other sources" bucket. */
  key?: RefusalKey;
  count: number;
  /** Distinct source+reason pairs folded into the bucket (1 for a key's own summary). */
  pairs: number;
  firstMs: number;
  lastMs: number;
}

interface Slot {
  windowStart: number;
  suppressed: number;
  firstMs: number;
  lastMs: number;
}

export class RefusalAggregator {
  private readonly slots = new Map<string, Slot>();
  private overflow:
    | { count: number; pairs: Set<string>; firstMs: number; lastMs: number; windowStart: number }
    | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly maxKeys = 20,
  ) {}

  /**
   * One refusal at `now`. Returns 'record' when the caller should record it as its own event,
   * 'count' when it was counted into a later summary. Call `due(now)` first (or after) to get
   * the summaries whose interval ended.
   */
  offer(key: RefusalKey, now: number): 'record' | 'count' {
    const id = `${key.source}\u0000${key.reason}`;
    const s = this.slots.get(id);
    if (s) {
      s.suppressed++;
      if (s.suppressed === 1) s.firstMs = now;
      s.lastMs = now;
      return 'count';
    }
    if (this.slots.size < this.maxKeys) {
      this.slots.set(id, { windowStart: now, suppressed: 0, firstMs: now, lastMs: now });
      return 'record';
    }
    this.overflow ??= { count: 0, pairs: new Set(), firstMs: now, lastMs: now, windowStart: now };
    this.overflow.count++;
    if (this.overflow.pairs.size < 100_000) this.overflow.pairs.add(id);
    this.overflow.lastMs = now;
    return 'count';
  }

  /** Summaries of the intervals that ended by `now` (or all pending ones with `all`). */
  due(now: number, all = false): RefusalSummary[] {
    const out: RefusalSummary[] = [];
    for (const [id, s] of this.slots) {
      if (!all && now - s.windowStart < this.intervalMs) continue;
      this.slots.delete(id);
      if (s.suppressed > 0) {
        const [source, reason] = id.split('\u0000') as [string, string];
        out.push({ key: { source, reason }, count: s.suppressed, pairs: 1, firstMs: s.firstMs, lastMs: s.lastMs });
      }
    }
    const o = this.overflow;
    if (o && (all || now - o.windowStart >= this.intervalMs)) {
      this.overflow = undefined;
      out.push({ count: o.count, pairs: o.pairs.size, firstMs: o.firstMs, lastMs: o.lastMs });
    }
    return out;
  }

  /** True while some refusal waits to be summarized. */
  pending(): boolean {
    return this.slots.size > 0 || this.overflow !== undefined;
  }
}
