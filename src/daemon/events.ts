/**
 * The events log: every decision any service takes, as one sentence. Bounded in memory and on
 * disk (JSON lines under the state directory, compacted when it grows past twice the bound),
 * appended synchronously so that the sentence is on disk before the action it explains runs.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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
}

export type EventListener = (e: EventEntry) => void;

export const EVENTS_FILE = 'events.jsonl';

export class EventLog {
  private entries: EventEntry[] = [];
  private linesOnDisk = 0;
  private readonly listeners = new Set<EventListener>();
  private readonly file: string | undefined;

  constructor(
    stateDir: string | undefined,
    private readonly max: number,
  ) {
    if (stateDir) {
      mkdirSync(stateDir, { recursive: true, mode: 0o750 });
      this.file = join(stateDir, EVENTS_FILE);
      if (existsSync(this.file)) {
        // A torn last line (power loss mid-append) is terminated so the next record starts clean.
        const text = readFileSync(this.file, 'utf8');
        if (text.length > 0 && !text.endsWith('\n')) appendFileSync(this.file, '\n');
        const all = readEventsFile(this.file);
        this.entries = all.slice(-max);
        this.linesOnDisk = all.length;
      }
    }
  }

  record(service: string, kind: string, sentence: string, data?: Record<string, unknown>): EventEntry {
    const e: EventEntry = { ts: new Date().toISOString(), service, kind, sentence, ...(data ? { data } : {}) };
    this.entries.push(e);
    if (this.entries.length > this.max) this.entries.splice(0, this.entries.length - this.max);
    if (this.file) {
      appendFileSync(this.file, `${JSON.stringify(e)}\n`, { mode: 0o640 });
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
    if (sinceMs === undefined) return [...this.entries];
    return this.entries.filter((e) => Date.parse(e.ts) >= sinceMs);
  }

  onEvent(l: EventListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private compact(): void {
    if (!this.file) return;
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, this.entries.map((e) => `${JSON.stringify(e)}\n`).join(''), { mode: 0o640 });
    renameSync(tmp, this.file);
    this.linesOnDisk = this.entries.length;
  }
}

/** Reads an events file, skipping a torn last line (power loss mid-append). */
export function readEventsFile(file: string): EventEntry[] {
  const out: EventEntry[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    try {
      out.push(JSON.parse(line) as EventEntry);
    } catch {
      // torn line: skip
    }
  }
  return out;
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
