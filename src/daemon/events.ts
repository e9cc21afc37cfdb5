/**
 * The events log: every decision any service takes, as one sentence. Bounded in memory and on
 * disk (JSON lines under the state directory, compacted when it grows past twice the bound),
 * appended synchronously so that the sentence is on disk before the action it explains runs.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { JsonlFile, readJsonl } from './jsonl.js';
import { RefusalAggregator, type RefusalKey, type RefusalSummary } from './refusals.js';

export interface EventEntry {
  /** ISO-8601 time. */
  ts: string;
  service: string;
  /** Short machine-friendly kind, e.g. "fence.off", "ticket.vote", "service.start". */
  kind: string;
  /** One sentence for humans: what was decided and why. */
  sentence: string;
  /** Extra structured fields (never secrets). */
  data?: Record<string, unknown>;
  /**
   * "refusal": caused by traffic anyone can send (unsigned/forged requests). Refusals are
   * aggregated, and they only ever push out older refusals, never a decision.
   */
  class?: 'refusal';
}

export type EventListener = (e: EventEntry) => void;

export const EVENTS_FILE = 'events.jsonl';

export interface EventLogOptions {
  /** Interval over which refusals are aggregated per source + reason (default 60 s). */
  refusalIntervalMs?: number;
  /** Source+reason pairs recorded one by one per interval; the rest are summarized together (default 20). */
  refusalMaxSources?: number;
}

export class EventLog {
  private entries: EventEntry[] = [];
  private refusals = 0;
  private linesOnDisk = 0;
  private readonly listeners = new Set<EventListener>();
  private readonly file: JsonlFile | undefined;
  /** At most this many refusal entries are kept: a quarter of the log. */
  private readonly refusalQuota: number;
  private readonly aggregators = new Map<string, { service: string; kind: string; agg: RefusalAggregator }>();
  private timer: NodeJS.Timeout | undefined;
  private readonly refusalIntervalMs: number;

  constructor(
    stateDir: string | undefined,
    private readonly max: number,
    private readonly opts: EventLogOptions = {},
  ) {
    this.refusalQuota = Math.max(1, Math.floor(max / 4));
    this.refusalIntervalMs = opts.refusalIntervalMs ?? 60_000;
    if (stateDir) {
      mkdirSync(stateDir, { recursive: true, mode: 0o750 });
      const file = join(stateDir, EVENTS_FILE);
      // not fsynced per line: the journal and the nonces are the durable records, this is the story
      this.file = new JsonlFile(file, { mode: 0o640, durable: false });
      // a torn last line (power loss mid-append) is skipped here and terminated before the next append
      const all = readEventsFile(file);
      for (const e of all) this.keep(e);
      this.linesOnDisk = all.length;
    }
  }

  record(service: string, kind: string, sentence: string, data?: Record<string, unknown>): EventEntry {
    return this.write({ ts: new Date().toISOString(), service, kind, sentence, ...(data ? { data } : {}) });
  }

  /**
   * A refusal of traffic anyone can send. The first per source + reason and interval is recorded
   * (with `data.count: 1`); the rest are counted and recorded as one summary event
   * (`<kind>.summary`, `data.count`) when the interval ends. Returns the entry when one was recorded.
   */
  refusal(
    service: string,
    kind: string,
    key: RefusalKey,
    sentence: string,
    data?: Record<string, unknown>,
  ): EventEntry | undefined {
    const now = Date.now();
    this.flushRefusals(now);
    const id = `${service}\u0000${kind}`;
    let a = this.aggregators.get(id);
    if (!a) {
      a = { service, kind, agg: new RefusalAggregator(this.refusalIntervalMs, this.opts.refusalMaxSources ?? 20) };
      this.aggregators.set(id, a);
    }
    const verdict = a.agg.offer(key, now);
    this.armTimer();
    if (verdict === 'count') return undefined;
    return this.write({
      ts: new Date(now).toISOString(),
      service,
      kind,
      sentence,
      data: { ...data, source: key.source, reason: key.reason, count: 1 },
      class: 'refusal',
    });
  }

  /** Records the summaries of refusal intervals that ended (all pending ones with `all`). */
  flushRefusals(now = Date.now(), all = false): void {
    for (const a of this.aggregators.values()) {
      for (const s of a.agg.due(now, all)) this.write(summaryEntry(a.service, a.kind, s, this.refusalIntervalMs));
    }
    if (![...this.aggregators.values()].some((a) => a.agg.pending()) && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Flushes pending refusal summaries and stops the timer. */
  close(): void {
    this.flushRefusals(Date.now(), true);
  }

  private armTimer(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.flushRefusals(), Math.max(100, this.refusalIntervalMs / 4));
    this.timer.unref();
  }

  /**
   * Keeps an entry in memory. A refusal only ever pushes out the oldest refusal (at most a quarter
   * of the log is refusals); any other event pushes out the oldest entry.
   */
  private keep(e: EventEntry): void {
    this.entries.push(e);
    if (e.class === 'refusal') {
      this.refusals++;
      if (this.refusals > this.refusalQuota || this.entries.length > this.max) this.dropOldest(true);
    } else if (this.entries.length > this.max) this.dropOldest(false);
  }

  private dropOldest(refusalOnly: boolean): void {
    const i = refusalOnly ? this.entries.findIndex((x) => x.class === 'refusal') : 0;
    if (i < 0) return;
    const [gone] = this.entries.splice(i, 1);
    if (gone?.class === 'refusal') this.refusals--;
  }

  private write(e: EventEntry): EventEntry {
    this.keep(e);
    if (this.file) {
      this.file.append(e);
      this.linesOnDisk++;
      if (this.linesOnDisk > 2 * this.max) this.compact();
    }
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        // a failing listener must not break the caller's decision path
      }
    }
    return e;
  }

  list(sinceMs?: number): EventEntry[] {
    this.flushRefusals();
    if (sinceMs === undefined) return [...this.entries];
    return this.entries.filter((e) => Date.parse(e.ts) >= sinceMs);
  }

  onEvent(l: EventListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private compact(): void {
    if (!this.file) return;
    this.file.rewrite(this.entries);
    this.linesOnDisk = this.entries.length;
  }
}

function summaryEntry(service: string, kind: string, s: RefusalSummary, intervalMs: number): EventEntry {
  const span = `between ${new Date(s.firstMs).toISOString()} and ${new Date(s.lastMs).toISOString()}`;
  const sentence = s.key
    ? `${s.count} more refused request(s) from ${s.key.source} (${s.key.reason}) ${span}, summarized (one event per source and reason every ${intervalMs / 1000} s).`
    : `${s.count} refused request(s) from ${s.pairs} further source/reason pair(s) ${span}, summarized together (too many sources to record one by one).`;
  return {
    ts: new Date().toISOString(),
    service,
    kind: `${kind}.summary`,
    sentence,
    data: {
      ...(s.key ? { source: s.key.source, reason: s.key.reason } : { pairs: s.pairs }),
      count: s.count,
      first: new Date(s.firstMs).toISOString(),
      last: new Date(s.lastMs).toISOString(),
    },
    class: 'refusal',
  };
}

/** Reads an events file, skipping a torn last line (power loss mid-append). */
export function readEventsFile(file: string): EventEntry[] {
  return readJsonl(file, isEventEntry).records;
}

function isEventEntry(v: unknown): v is EventEntry {
  if (typeof v !== 'object' || v === null) return false;
  const e: Partial<Record<keyof EventEntry, unknown>> = v;
  return (
    typeof e.ts === 'string' &&
    typeof e.service === 'string' &&
    typeof e.kind === 'string' &&
    typeof e.sentence === 'string'
  );
}

/** Parses "90s", "15m", "1h30m", "2d" into milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy;
  const unit: Record<string, number> = { ms: 1, s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 604800e3 };
  let total = 0;
  let matched = 0;
  for (const m of text.trim().matchAll(re)) {
    total += Number(m[1]) * (unit[m[2] as string] as number);
    matched += m[0].length;
  }
  return matched > 0 && matched === text.trim().length ? total : undefined;
}
