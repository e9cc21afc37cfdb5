/**
 * booth.conf parser with booth's rules: `key = value` lines; `#` starts a comment at line start
 * or after a quoted value (inside an unquoted value it is part of the value); values may be
 * quoted with " or '; keys and values longer than 64 characters are errors; unknown keys are
 * errors; every line after `ticket = name` belongs to that ticket; ticket keys before the first
 * ticket (or in the `__defaults__` ticket, which must come first) are defaults for later tickets.
 * Times are whole seconds, fractional seconds, or an integer with "ms"; when any time is not a
 * whole second, term_valid_for on the wire is in milliseconds (timeMult 1000) for the whole daemon.
 */
import { addressBytes, siteId } from './wire.js';

export const MAX_NODES = 16;
export const MAX_VALUE_LEN = 64;
export const DEFAULT_PORT = 9929;

export type MemberType = 'site' | 'arbitrator';

export interface BoothMember {
  type: MemberType;
  /** Address string as configured (numeric, or a host name until resolved). */
  address: string;
  /** Site id; 0 until the address is numeric (see resolveMembers). */
  id: number;
  /** Position in the file (boothd's index). */
  index: number;
}

export interface BoothTicket {
  name: string;
  expireMs: number;
  timeoutMs: number;
  retries: number;
  renewalFreqMs: number;
  acquireAfterMs: number;
  manual: boolean;
}

export interface BoothConf {
  transport: 'UDP';
  port: number;
  authfile: string | undefined;
  maxTimeSkewS: number;
  name: string | undefined;
  members: BoothMember[];
  tickets: BoothTicket[];
  /** 1: term_valid_for in seconds; 1000: in milliseconds. */
  timeMult: 1 | 1000;
}

export class BoothConfError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(line > 0 ? `booth.conf line ${line}: ${message}` : `booth.conf: ${message}`);
  }
}

const GLOBAL_KEYS = new Set([
  'transport',
  'port',
  'authfile',
  'maxtimeskew',
  'site',
  'arbitrator',
  'name',
  'debug',
  'site-user',
  'site-group',
  'arbitrator-user',
  'arbitrator-group',
]);
const TICKET_KEYS = new Set([
  'expire',
  'timeout',
  'retries',
  'renewal-freq',
  'acquire-after',
  'mode',
  'weights',
  'before-acquire-handler',
  'attr-prereq',
]);

interface TicketDraft {
  line: number;
  name: string;
  values: Map<string, { value: string; line: number }>;
}

/** Splits one line into key and value, or undefined for blank/comment lines. */
export function parseLine(raw: string, lineNo: number): { key: string; value: string } | undefined {
  const line = raw.replace(/\r$/, '');
  const trimmed = line.trimStart();
  if (trimmed === '' || trimmed.startsWith('#')) return undefined;
  const m = /^([A-Za-z0-9_-]+)\s*=\s*(.*)$/.exec(trimmed);
  if (!m) throw new BoothConfError(lineNo, `expected "key = value", got "${trimmed.slice(0, 40)}"`);
  const key = m[1] as string;
  let rest = m[2] as string;
  let value: string;
  const q = rest[0];
  if (q === '"' || q === "'") {
    const end = rest.indexOf(q, 1);
    if (end < 0) throw new BoothConfError(lineNo, `unterminated quoted value for "${key}"`);
    value = rest.slice(1, end);
    const after = rest.slice(end + 1).trim();
    if (after !== '' && !after.startsWith('#'))
      throw new BoothConfError(lineNo, `unexpected text after the quoted value of "${key}"`);
  } else {
    rest = rest.trimEnd();
    value = rest;
  }
  if (key.length > MAX_VALUE_LEN) throw new BoothConfError(lineNo, `key longer than ${MAX_VALUE_LEN} characters`);
  if (value.length > MAX_VALUE_LEN)
    throw new BoothConfError(lineNo, `value of "${key}" is longer than ${MAX_VALUE_LEN} characters`);
  return { key, value };
}

/** A time value in milliseconds: "12" (s), "1.5" (s) or "1500ms". */
export function parseTime(value: string, key: string, lineNo: number): number {
  let m = /^(\d+)ms$/.exec(value);
  if (m) return Number(m[1]);
  m = /^(\d+(?:\.\d+)?)$/.exec(value);
  if (m) return Math.round(Number(m[1]) * 1000);
  throw new BoothConfError(lineNo, `"${key}" must be seconds or an integer with "ms", got "${value}"`);
}

export function parseBoothConf(text: string): BoothConf {
  let transport: 'UDP' | undefined;
  let port = DEFAULT_PORT;
  let authfile: string | undefined;
  let maxTimeSkewS = 600;
  let name: string | undefined;
  const members: BoothMember[] = [];
  const defaults = new Map<string, { value: string; line: number }>();
  const drafts: TicketDraft[] = [];
  let current: TicketDraft | undefined;
  let sawTransport = false;

  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const kv = parseLine(raw, lineNo);
    if (!kv) return;
    const { key, value } = kv;
    if (key === 'ticket') {
      if (value === '__defaults__') {
        if (drafts.length > 0) throw new BoothConfError(lineNo, '"__defaults__" must be the first ticket');
        current = { line: lineNo, name: value, values: defaults };
        return;
      }
      if (!/^[A-Za-z0-9/-]{1,63}$/.test(value))
        throw new BoothConfError(lineNo, `ticket name "${value}" must be 1-63 of A-Z a-z 0-9 / -`);
      if (drafts.some((d) => d.name === value)) throw new BoothConfError(lineNo, `ticket "${value}" defined twice`);
      current = { line: lineNo, name: value, values: new Map() };
      drafts.push(current);
      return;
    }
    if (TICKET_KEYS.has(key)) {
      (current ? current.values : defaults).set(key, { value, line: lineNo });
      return;
    }
    if (!GLOBAL_KEYS.has(key)) throw new BoothConfError(lineNo, `unknown key "${key}"`);
    switch (key) {
      case 'transport':
        if (sawTransport) throw new BoothConfError(lineNo, '"transport" given twice');
        sawTransport = true;
        if (value.toUpperCase() === 'SCTP')
          throw new BoothConfError(lineNo, 'transport SCTP is not implemented by booth');
        if (value.toUpperCase() !== 'UDP') throw new BoothConfError(lineNo, `transport "${value}" is not UDP`);
        transport = 'UDP';
        break;
      case 'port': {
        const p = Number(value);
        if (!/^\d+$/.test(value) || p < 1 || p > 65535)
          throw new BoothConfError(lineNo, `port "${value}" is not 1-65535`);
        port = p;
        break;
      }
      case 'authfile':
        authfile = value;
        break;
      case 'maxtimeskew':
        if (!/^\d+$/.test(value)) throw new BoothConfError(lineNo, `maxtimeskew "${value}" is not whole seconds`);
        maxTimeSkewS = Number(value);
        break;
      case 'name':
        name = value;
        break;
      case 'site':
      case 'arbitrator': {
        if (members.length >= MAX_NODES) throw new BoothConfError(lineNo, `more than ${MAX_NODES} members`);
        if (value === '') throw new BoothConfError(lineNo, `empty ${key} address`);
        if (members.some((m) => m.address === value))
          throw new BoothConfError(lineNo, `address ${value} appears twice`);
        members.push({ type: key, address: value, id: numericId(value), index: members.length });
        break;
      }
      default:
        // debug, *-user, *-group: accepted and unused by an arbitrator
        break;
    }
  });

  if (members.length === 0) throw new BoothConfError(0, 'no site or arbitrator configured');
  if (drafts.length === 0) throw new BoothConfError(0, 'no ticket configured');
  checkIdCollisions(members);

  const tickets = drafts.map((d) => buildTicket(d, defaults));
  const fractional = tickets.some((t) =>
    [t.expireMs, t.timeoutMs, t.renewalFreqMs, t.acquireAfterMs].some((ms) => ms % 1000 !== 0),
  );
  return {
    transport: transport ?? 'UDP',
    port,
    authfile,
    maxTimeSkewS,
    name,
    members,
    tickets,
    timeMult: fractional ? 1000 : 1,
  };
}

function numericId(address: string): number {
  try {
    addressBytes(address);
  } catch {
    return 0;
  }
  return siteId(address);
}

export function checkIdCollisions(members: BoothMember[]): void {
  const seen = new Map<number, string>();
  for (const m of members) {
    if (m.id === 0) continue;
    const other = seen.get(m.id);
    if (other !== undefined)
      throw new BoothConfError(0, `site id collision between ${other} and ${m.address}; booth cannot run`);
    seen.set(m.id, m.address);
  }
}

function buildTicket(d: TicketDraft, defaults: Map<string, { value: string; line: number }>): BoothTicket {
  const get = (k: string) => d.values.get(k) ?? defaults.get(k);
  const time = (k: string, dflt: number) => {
    const v = get(k);
    return v ? parseTime(v.value, k, v.line) : dflt;
  };
  const expireMs = time('expire', 600_000);
  const timeoutMs = time('timeout', 5_000);
  const r = get('retries');
  let retries = 10;
  if (r) {
    if (!/^\d+$/.test(r.value) || Number(r.value) < 3 || Number(r.value) > 100)
      throw new BoothConfError(r.line, `retries "${r.value}" must be 3-100`);
    retries = Number(r.value);
  }
  const renewalFreqMs = time('renewal-freq', Math.floor(expireMs / 2));
  const acquireAfterMs = time('acquire-after', 0);
  const mode = get('mode');
  let manual = false;
  if (mode) {
    const v = mode.value.toLowerCase();
    if (v === 'manual') manual = true;
    else if (v !== 'automatic' && v !== 'auto')
      throw new BoothConfError(mode.line, `mode "${mode.value}" is not manual or automatic`);
  }
  if (expireMs <= 0) throw new BoothConfError(d.line, `ticket ${d.name}: expire must be positive`);
  if (timeoutMs <= 0) throw new BoothConfError(d.line, `ticket ${d.name}: timeout must be positive`);
  if (timeoutMs * (retries + 1) >= renewalFreqMs)
    throw new BoothConfError(
      d.line,
      `ticket ${d.name}: timeout*(retries+1) = ${(timeoutMs * (retries + 1)) / 1000}s must be below renewal-freq ${renewalFreqMs / 1000}s`,
    );
  return { name: d.name, expireMs, timeoutMs, retries, renewalFreqMs, acquireAfterMs, manual };
}
