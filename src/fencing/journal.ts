/**
 * The durable fence journal: one JSON line per record in <state_dir>/fence-journal.jsonl,
 * appended with write + fsync before the call returns. A "started" record is on disk before any
 * device is touched, a "finished" record after the result is known. After a crash (kill -9,
 * power loss) a torn last line is skipped and an operation with no "finished" record is reported
 * as "interrupted" (and an "interrupted" record is appended so the report is itself durable).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { JsonlFile, parseJsonl, readJsonl } from '../daemon/jsonl.js';
import type { PowerState } from './devices/driver.js';

export const JOURNAL_FILE = 'fence-journal.jsonl';

export interface Requester {
  /** How the request came: the fence agent API, the local CLI, the demo. */
  via: 'api' | 'cli' | 'demo' | 'test';
  /** Key id (api) or user (cli). */
  who?: string;
  /** Source address (api). */
  addr?: string;
  /** Cluster node the source address belongs to, when known. */
  node?: string;
}

/** `cancelled`: only a reboot's power-on follow-up (action `power-on`) ends that way. */
export type JournalResult = 'success' | 'failed' | 'refused' | 'cancelled';

export interface StartedRecord {
  v: 1;
  type: 'started';
  id: string;
  ts: string;
  target: string;
  action: string;
  requester: Requester;
  /** Action `power-on`: the id of the reboot (answered at its verified off) this power-on follows. */
  follows?: string;
}

/** What every finished operation reports: the power it ended with and how that was verified. */
export interface OutcomeFields {
  /** Power state the operation ended with, as read (absent when unknown). */
  power?: PowerState;
  /** 1-based level that produced the result. */
  level?: number;
  verified_by?: string;
  /** The final decision's sentence. */
  reason: string;
  note?: string;
  duration_ms: number;
}

export interface FinishedRecord extends OutcomeFields {
  v: 1;
  type: 'finished';
  id: string;
  ts: string;
  target: string;
  action: string;
  result: JournalResult;
  /** Only on "refused" records (never started): who asked. */
  requester?: Requester;
  /** Action `power-on`: the reboot it follows. */
  follows?: string;
  /** A reboot answered at its verified off: the id of its power-on follow-up. */
  power_on_id?: string;
}

export interface InterruptedRecord {
  v: 1;
  type: 'interrupted';
  id: string;
  ts: string;
  target: string;
  action: string;
}

export type JournalRecord = StartedRecord | FinishedRecord | InterruptedRecord;

/** One operation as history shows it. */
export interface HistoryEntry {
  id: string;
  target: string;
  action: string;
  requester?: Requester;
  started?: string;
  finished?: string;
  result: JournalResult | 'interrupted' | 'running';
  power?: PowerState;
  level?: number;
  verified_by?: string;
  reason?: string;
  note?: string;
  duration_ms?: number;
  follows?: string;
  power_on_id?: string;
}

/** Parses journal text; torn or foreign lines are skipped and counted. */
export function parseJournal(text: string): { records: JournalRecord[]; skipped: number } {
  return parseJsonl(text, isJournalRecord);
}

function isJournalRecord(v: unknown): v is JournalRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r: { v?: unknown; id?: unknown; type?: unknown } = v;
  return (
    r.v === 1 && typeof r.id === 'string' && (r.type === 'started' || r.type === 'finished' || r.type === 'interrupted')
  );
}

/** Folds records into operations, oldest first. `running` marks ids still in progress in this process. */
export function foldHistory(
  records: readonly JournalRecord[],
  running: ReadonlySet<string> = new Set(),
): HistoryEntry[] {
  const byId = new Map<string, HistoryEntry>();
  for (const r of records) {
    let e = byId.get(r.id);
    if (!e) {
      e = { id: r.id, target: r.target, action: r.action, result: 'interrupted' };
      byId.set(r.id, e);
    }
    if (r.type === 'started') {
      e.started = r.ts;
      e.requester = r.requester;
      if (r.follows) e.follows = r.follows;
      if (e.finished === undefined) e.result = running.has(r.id) ? 'running' : 'interrupted';
    } else if (r.type === 'finished') {
      e.finished = r.ts;
      e.result = r.result;
      if (r.requester) e.requester = r.requester;
      for (const k of [
        'power',
        'level',
        'verified_by',
        'reason',
        'note',
        'duration_ms',
        'follows',
        'power_on_id',
      ] as const) {
        if (r[k] !== undefined) (e as unknown as Record<string, unknown>)[k] = r[k];
      }
    } else if (e.finished === undefined) {
      e.result = 'interrupted';
      e.reason =
        r.action === 'power-on'
          ? 'the daemon stopped (crash or power loss) before this power-on finished; the node was verified off by the reboot it follows and may still be off (the fence answer stands)'
          : 'the daemon stopped (crash or power loss) before this operation finished; the power state was not verified';
    }
  }
  return [...byId.values()];
}

export function readJournalFile(file: string): HistoryEntry[] {
  return foldHistory(readJsonl(file, isJournalRecord).records);
}

export function newOperationId(): string {
  return `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

export class FenceJournal {
  private readonly out: JsonlFile;
  private records: JournalRecord[];
  private readonly running = new Set<string>();
  /** Folded history, oldest first; dropped on every change (status reads it often). */
  private folded: HistoryEntry[] | undefined;
  /** Operations found unfinished when the journal was opened. */
  readonly interruptedAtOpen: HistoryEntry[];
  /** Torn or unreadable lines skipped when the journal was opened. */
  readonly skippedAtOpen: number;

  private constructor(
    readonly file: string,
    private readonly maxOps: number,
  ) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o750 });
    const { records, skipped } = readJsonl(file, isJournalRecord);
    this.records = records;
    this.skippedAtOpen = skipped;
    this.out = new JsonlFile(file, { mode: 0o640, durable: true });
    // created now, and a torn last line (power loss mid-append) terminated before the next record
    this.out.open();
    const hist = foldHistory(records);
    this.interruptedAtOpen = hist.filter(
      (h) => h.result === 'interrupted' && !records.some((r) => r.type === 'interrupted' && r.id === h.id),
    );
    for (const h of this.interruptedAtOpen) {
      this.append({
        v: 1,
        type: 'interrupted',
        id: h.id,
        ts: new Date().toISOString(),
        target: h.target,
        action: h.action,
      });
    }
  }

  static open(stateDir: string, maxOps = 1000): FenceJournal {
    return new FenceJournal(join(stateDir, JOURNAL_FILE), maxOps);
  }

  /** Durably records the start of an operation; returns its id. */
  started(
    target: string,
    action: string,
    requester: Requester,
    id = newOperationId(),
    extra: { follows?: string } = {},
  ): string {
    this.running.add(id);
    this.append({
      v: 1,
      type: 'started',
      id,
      ts: new Date().toISOString(),
      target,
      action,
      requester,
      ...(extra.follows ? { follows: extra.follows } : {}),
    });
    return id;
  }

  finished(rec: Omit<FinishedRecord, 'v' | 'type' | 'ts'>): void {
    this.running.delete(rec.id);
    this.folded = undefined;
    this.append({ v: 1, type: 'finished', ts: new Date().toISOString(), ...rec });
  }

  /** A request refused before any action (never started): recorded for the post-mortem. */
  refused(target: string, action: string, requester: Requester, reason: string): string {
    const id = newOperationId();
    this.append({
      v: 1,
      type: 'finished',
      id,
      ts: new Date().toISOString(),
      target,
      action,
      result: 'refused',
      reason,
      duration_ms: 0,
      requester,
    });
    return id;
  }

  /** Newest first. */
  history(limit = 100, target?: string): HistoryEntry[] {
    this.folded ??= foldHistory(this.records, this.running);
    const out: HistoryEntry[] = [];
    for (let i = this.folded.length - 1; i >= 0 && out.length < limit; i--) {
      const h = this.folded[i] as HistoryEntry;
      if (target === undefined || h.target === target) out.push({ ...h });
    }
    return out;
  }

  close(): void {
    this.out.close();
  }

  private append(r: JournalRecord): void {
    this.out.append(r);
    this.records.push(r);
    this.folded = undefined;
    if (this.records.length > 4 * this.maxOps) this.compact();
  }

  /** Keeps the newest maxOps operations: write a new file, fsync, rename over, fsync the directory. */
  private compact(): void {
    const keepIds = new Set(
      foldHistory(this.records, this.running)
        .slice(-this.maxOps)
        .map((h) => h.id),
    );
    for (const id of this.running) keepIds.add(id);
    const kept = this.records.filter((r) => keepIds.has(r.id));
    this.out.rewrite(kept);
    this.records = kept;
  }
}
