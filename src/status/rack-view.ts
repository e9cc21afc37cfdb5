/**
 * The rack at a glance: one pure reading of the daemon status (the same document as
 * /status.json) into what a person looks for first — per node its power, fencing and PostgreSQL
 * state, the tickets and their holder, the watchdog and why it feeds, the quorum device when one
 * runs, and the recent decisions. The status page renders it as HTML and `rackwitness status` as
 * text, so both say the same thing. Snapshots are read defensively: a field that is missing or of
 * another type reads as unknown, never as a crash or a guess.
 */
import type { EventEntry } from '../daemon/events.js';
import type { DaemonStatus, HealthState, ServiceStatus } from '../daemon/service.js';

/** ok: nothing to do; warn: look at it; bad: act now; idle: not known / not applicable. */
export type Tone = 'ok' | 'warn' | 'bad' | 'idle';

export interface FenceRecord {
  action: string;
  result: string;
  at: string | null;
  level: number | null;
  verified_by: string | null;
  duration_ms: number | null;
  /** A reboot's power-on after the answer: its result (running, success, failed, cancelled). */
  power_on: string | null;
}

export interface NodeView {
  name: string;
  /** Whether the box can fence this node (a fencing target). */
  fenced_by_box: boolean;
  power: 'on' | 'off' | 'unknown' | null;
  /** When the power was read, and how the box knows it (read, verified-off, powered-on). */
  power_at: string | null;
  power_how: string | null;
  /** The last power state the box knows for sure (kept while a read fails). */
  power_known: 'on' | 'off' | null;
  /** A fence operation running now: its action and stage, or the pending power-on of a reboot. */
  fencing: { action: string; stage: string; since: string | null; power_on_due: string | null } | null;
  last_fence: FenceRecord | null;
  fence_problem: string | null;
  /** Absent when the box does not observe PostgreSQL on this node. */
  pg: {
    role: string;
    reason: string | null;
    timeline: number | null;
    lag_bytes: number | null;
    lag_seconds: number | null;
    sync: string | null;
    streaming: boolean | null;
    score: number | null;
    score_reason: string | null;
  } | null;
  tone: Tone;
}

export interface TicketView {
  name: string;
  state: string;
  /** The holder's address, or null when nobody holds it. */
  holder: string | null;
  /** What the holder address is (site, arbitrator) when the box knows it. */
  holder_kind: string | null;
  mode: string;
  expires_in_s: number | null;
  term: number | null;
  tone: Tone;
}

export interface WatchdogView {
  feeding: boolean | null;
  reason: string;
  mode: string;
  device: string | null;
  timeout_s: number | null;
  last_feed_age_s: number | null;
  gated_services: string[];
  problem: string | null;
  tone: Tone;
}

export interface ServiceLine {
  name: string;
  state: HealthState;
  reason: string | null;
  optional: boolean;
  tone: Tone;
}

export interface RackView {
  box: string;
  version: string;
  demo: boolean;
  overall: DaemonStatus['overall'];
  problems: string[];
  uptime_s: number;
  /** When this view was read (ISO). */
  at: string;
  nodes: NodeView[];
  /** The PostgreSQL rack as a whole (absent without the pgsql service). */
  pg: {
    summary: string | null;
    primary: string | null;
    writable_primaries: string[];
    candidate: string | null;
    simulated: boolean;
    state: string | null;
    tone: Tone;
  } | null;
  /** Absent without the arbitrator service. */
  tickets: TicketView[] | null;
  /** The booth sites and arbitrators the box talks to, and when each was last heard. */
  booth_peers: Array<{ address: string; type: string; last_heard: string | null }>;
  watchdog: WatchdogView | null;
  /** The quorum-device service, only when the daemon runs one. */
  quorum: { service: ServiceStatus; tone: Tone } | null;
  devices: Array<{ name: string; family: string; up: boolean | null; checked: string | null; error: string | null }>;
  services: ServiceLine[];
  /** Newest first. */
  events: EventEntry[];
}

/** Service names under which a quorum device (corosync-qnetd host) reports. */
export const QUORUM_SERVICES = ['qdevice', 'qnetd', 'quorum'] as const;

const obj = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const bool = (v: unknown): boolean | null => (typeof v === 'boolean' ? v : null);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

export function healthTone(s: HealthState): Tone {
  return s === 'ok' ? 'ok' : s === 'degraded' || s === 'starting' ? 'warn' : 'bad';
}

/** The last off/reboot of a target, with the outcome of its power-on when the last operation is that power-on. */
function fenceRecord(t: Record<string, unknown>): FenceRecord | null {
  const last = obj(t.last_operation);
  const o = obj(t.last_fence ?? (last.action === 'off' || last.action === 'reboot' ? last : undefined));
  const action = str(o.action);
  const result = str(o.result);
  if (!action || !result) return null;
  return {
    action,
    result,
    at: str(o.at),
    level: num(o.level),
    verified_by: str(o.verified_by),
    duration_ms: num(o.duration_ms),
    power_on: o.id !== undefined && last.follows === o.id ? str(last.result) : null,
  };
}

function nodeViews(
  fencing: ServiceStatus | undefined,
  pgsql: ServiceStatus | undefined,
  writable: string[],
): NodeView[] {
  const targets = obj(fencing?.snapshot.targets);
  const pgNodes = list(obj(pgsql?.snapshot.rack).nodes).map(obj);
  const names: string[] = [];
  for (const n of [...pgNodes.map((n) => str(n.name)), ...Object.keys(targets)])
    if (n && !names.includes(n)) names.push(n);
  return names.map((name) => {
    const t = name in targets ? obj(targets[name]) : undefined;
    const p = pgNodes.find((n) => n.name === name);
    const known = obj(t?.known_power);
    const run = obj(t?.in_progress);
    const powerOn = obj(t?.power_on);
    const power = t ? str(t.power) : null;
    const fencing =
      t && str(run.action)
        ? {
            action: str(run.action) as string,
            stage: str(run.stage) ?? 'fence',
            since: str(run.since),
            power_on_due: str(t.power_on_pending_until) ?? str(powerOn.power_on_pending_until),
          }
        : null;
    const pg = p
      ? {
          role: str(p.role) ?? 'unknown',
          reason: str(p.reason),
          timeline: num(p.timeline),
          lag_bytes: num(p.lagBytes),
          lag_seconds: num(p.lagSeconds),
          sync: str(p.syncState),
          streaming: bool(p.streaming),
          score: num(p.score),
          score_reason: str(p.scoreReason),
        }
      : null;
    const problem = t ? str(t.problem) : null;
    let tone: Tone = 'ok';
    if (fencing || power === 'off' || power === 'unknown' || problem || pg?.role === 'unknown') tone = 'warn';
    if (pg?.role === 'down' || (pg?.role === 'standby' && pg.streaming === false)) tone = 'warn';
    if (problem || (fencing && fencing.stage === 'fence')) tone = 'bad';
    if (writable.length > 1 && writable.includes(name)) tone = 'bad';
    if (!t && !pg) tone = 'idle';
    return {
      name,
      fenced_by_box: !!t,
      power: power === 'on' || power === 'off' || power === 'unknown' ? power : t ? 'unknown' : null,
      power_at: t
        ? str(known.state) === power
          ? (str(known.at) ?? str(t.power_read_at))
          : str(t.power_read_at)
        : null,
      power_how: t ? str(known.how) : null,
      power_known: known.state === 'on' || known.state === 'off' ? known.state : null,
      fencing,
      last_fence: t ? fenceRecord(t) : null,
      fence_problem: problem,
      pg,
      tone,
    };
  });
}

function ticketViews(arb: ServiceStatus): TicketView[] {
  const peers = list(arb.snapshot.peers).map(obj);
  const self = str(arb.snapshot.address);
  return list(arb.snapshot.tickets)
    .map(obj)
    .map((t) => {
      const leader = str(t.leader);
      const holder = leader && leader !== 'NONE' ? leader : null;
      const peer = holder ? peers.find((p) => p.address === holder) : undefined;
      const state = str(t.state) ?? 'unknown';
      return {
        name: str(t.name) ?? '?',
        state,
        holder,
        holder_kind: peer ? str(peer.type) : holder && holder === self ? 'arbitrator (this box)' : null,
        mode: str(t.mode) ?? '?',
        expires_in_s: num(t.expiresInS),
        term: num(t.term),
        // a ticket nobody holds is normal while the sites are down, and what a person must see
        tone: holder ? 'ok' : 'warn',
      };
    });
}

function watchdogView(wd: ServiceStatus): WatchdogView {
  const s = wd.snapshot;
  const feeding = bool(s.feeding);
  return {
    feeding,
    reason: str(s.reason) ?? wd.health.reason ?? 'unknown',
    mode: str(s.mode) ?? '?',
    device: str(s.device),
    timeout_s: num(s.timeout_s),
    last_feed_age_s: num(s.last_feed_age_s),
    gated_services: list(s.gated_services).filter((x): x is string => typeof x === 'string'),
    problem: str(s.problem),
    tone: feeding === false ? 'bad' : healthTone(wd.health.state),
  };
}

export function rackView(status: DaemonStatus, events: readonly EventEntry[], now = new Date()): RackView {
  const svc = (name: string) => status.services.find((s) => s.name === name);
  const fencing = svc('fencing');
  const pgsql = svc('pgsql');
  const arb = svc('arbitrator');
  const wd = svc('watchdog');
  const quorum = status.services.find((s) => (QUORUM_SERVICES as readonly string[]).includes(s.name));
  const rack = obj(pgsql?.snapshot.rack);
  const writable = list(rack.writablePrimaries).filter((x): x is string => typeof x === 'string');
  return {
    box: status.box,
    version: status.version,
    demo: status.demo,
    overall: status.overall,
    problems: status.problems,
    uptime_s: status.uptime_s,
    at: now.toISOString(),
    nodes: nodeViews(fencing, pgsql, writable),
    pg: pgsql
      ? {
          summary: str(rack.summary),
          primary: str(rack.primary),
          writable_primaries: writable,
          candidate: str(rack.candidate),
          simulated: pgsql.snapshot.simulated === true,
          state: str(rack.state),
          tone: writable.length > 1 ? 'bad' : healthTone(pgsql.health.state),
        }
      : null,
    tickets: arb ? ticketViews(arb) : null,
    booth_peers: list(arb?.snapshot.peers)
      .map(obj)
      .map((p) => ({ address: str(p.address) ?? '?', type: str(p.type) ?? '?', last_heard: str(p.lastRecv) })),
    watchdog: wd ? watchdogView(wd) : null,
    quorum: quorum ? { service: quorum, tone: healthTone(quorum.health.state) } : null,
    devices: Object.entries(obj(fencing?.snapshot.devices)).map(([name, d]) => {
      const o = obj(d);
      return {
        name,
        family: str(o.family) ?? '?',
        up: bool(o.up),
        checked: str(o.checked),
        error: str(o.error),
      };
    }),
    services: status.services.map((s) => ({
      name: s.name,
      state: s.health.state,
      reason: s.health.reason ?? null,
      optional: s.optional,
      tone: healthTone(s.health.state),
    })),
    events: events.slice(-15).reverse(),
  };
}

/** What must not be missed, one sentence each: two writable primaries, a fence running now or a pending power-on, a fencing problem. */
export function rackAlerts(
  v: RackView,
  now: Date,
): Array<{ kind: 'two-primaries' | 'fencing' | 'fence-problem'; tone: Tone; text: string }> {
  const out: ReturnType<typeof rackAlerts> = [];
  if (v.pg && v.pg.writable_primaries.length > 1)
    out.push({
      kind: 'two-primaries',
      tone: 'bad',
      text: `TWO WRITABLE PRIMARIES: ${v.pg.writable_primaries.join(' and ')}`,
    });
  for (const n of v.nodes) {
    if (!n.fencing) continue;
    const running = n.fencing.stage === 'fence';
    out.push({
      kind: 'fencing',
      tone: running ? 'bad' : 'warn',
      text: running
        ? `FENCING ${n.name} now: ${n.fencing.action} running since ${when(n.fencing.since, now)}`
        : `${n.name} FENCED (${n.fencing.action}, off verified); power-on ${n.fencing.power_on_due ? `due ${when(n.fencing.power_on_due, now)}` : 'being verified'}`,
    });
  }
  for (const n of v.nodes) if (n.fence_problem) out.push({ kind: 'fence-problem', tone: 'bad', text: n.fence_problem });
  return out;
}

/** 0 B, 512 B, 12.3 kB, 4.0 MB, ... (1000-based, like PostgreSQL's pg_size_pretty reads). */
export function bytes(n: number | null): string {
  if (n === null) return '-';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** "12 s", "4 min", "3 h", "2 d" (rounded down), for ages and countdowns. */
export function span(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.floor(s / 60)} min`;
  if (s < 172800) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86400)} d`;
}

/** "21:04:05 UTC (12 s ago)" / "(in 30 s)"; the date too when it is not today's. */
export function when(iso: string | null, now: Date): string {
  if (!iso) return '-';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const d = new Date(t).toISOString();
  const day = d.slice(0, 10) === now.toISOString().slice(0, 10) ? '' : `${d.slice(0, 10)} `;
  const delta = (t - now.getTime()) / 1000;
  const rel = Math.abs(delta) < 1 ? 'now' : delta > 0 ? `in ${span(delta)}` : `${span(-delta)} ago`;
  return `${day}${d.slice(11, 19)} UTC (${rel})`;
}
