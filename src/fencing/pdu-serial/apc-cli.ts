/**
 * Policy for the APC console CLI (AOS v5+): wake the console, recognise where the previous user
 * left it, log in, run one command, log out. Pure parsers (prompt class, result code, status
 * lines) are exported for unit tests; the dialogue runs over an Exchange.
 */
import type { Logger } from 'pino';
import { DriverError, type DriverErrorKind, type PowerState } from '../driver.js';
import type { Exchange, Matcher } from './exchange.js';
import type { Frame } from './framer.js';

export type PromptClass = 'user' | 'password' | 'cli' | 'menu' | 'other';

/** What a prompt means for the login state machine. */
export function classifyPrompt(text: string): PromptClass {
  if (/User Name\s*:\s*$/i.test(text)) return 'user';
  if (/Password\s*:\s*$/i.test(text)) return 'password';
  if (/(?:^|\s)[\w.-]+>\s*$/.test(text)) return 'cli'; // "apc>" or a renamed "pdu-a>"
  if (/(?:^|\s)>\s*$/.test(text)) return 'menu'; // old AOS v2/v3 numbered menus
  return 'other';
}

/**
 * The login state machine, one row per situation found after pressing ENTER. Each row: what the
 * console shows -> what we send -> what we expect next (comment = why).
 */
export const LOGIN_TABLE: ReadonlyArray<{
  shows: PromptClass;
  send: 'user' | 'password' | 'enter' | 'none' | 'fail';
  note: string;
}> = [
  { shows: 'user', send: 'user', note: 'normal case: console idle, asks for the user name' },
  {
    shows: 'password',
    send: 'enter',
    note: 'a previous login stopped half-way: an empty password fails it, then User Name comes back',
  },
  { shows: 'cli', send: 'none', note: 'a previous session was left logged in: use it (logged), log out at the end' },
  { shows: 'menu', send: 'fail', note: 'menu-mode firmware (AOS v2/v3) is not supported: refuse rather than guess' },
  { shows: 'other', send: 'enter', note: 'unknown text: press ENTER again (bounded by wake_attempts)' },
];

export interface ResultCode {
  code: string;
  text: string;
  ok: boolean;
}

/** Finds the "E000: Success"-style code in the lines of one command's answer. */
export function parseResultCode(lines: readonly string[]): { result: ResultCode; index: number } | undefined {
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s*(E\d{3})\s*:?\s*(.*)$/.exec(lines[i] ?? '');
    if (m?.[1])
      return { result: { code: m[1], text: (m[2] ?? '').trim(), ok: m[1] === 'E000' || m[1] === 'E001' }, index: i };
  }
  return undefined;
}

/** DriverError kind for an APC result code other than success. */
export function kindOfCode(code: string): DriverErrorKind {
  switch (code) {
    case 'E102':
      return 'no-such-plug'; // parameter error: the outlet does not exist
    case 'E104':
      return 'privilege'; // user level denial
    case 'E101':
    case 'E103':
      return 'protocol'; // command unknown / command line error: wrong firmware or dialect
    default:
      return 'refused'; // E100 failed, E105 prefill, E106 no data, E107 PDU link lost, ...
  }
}

export interface OutletLine {
  outlet: number;
  name: string;
  state: PowerState;
}

/** " 3: node-a: On" -> {3, node-a, on}; undefined for anything else. */
export function parseOutletLine(line: string): OutletLine | undefined {
  const m = /^\s*(\d+)\s*:\s*(.*)\s*:\s*(On|Off)\s*\*?\s*$/i.exec(line);
  if (!m?.[1] || !m[3]) return undefined;
  return { outlet: Number(m[1]), name: (m[2] ?? '').trim(), state: m[3].toLowerCase() === 'on' ? 'on' : 'off' };
}

export interface ApcCliOptions {
  device: string;
  user: string;
  password: string;
  loginTimeoutMs: number;
  commandTimeoutMs: number;
  wakeAttempts: number;
  log?: Logger;
}

/** Matcher: the next prompt, whatever it is. */
const nextPrompt: Matcher<Frame> = (f) => (f.kind === 'prompt' ? { done: f } : undefined);

/** Errors meaning the console session ended under us (idle logout, PDU restart): log in again. */
const sessionLost = new WeakSet<Error>();
export function isSessionLost(e: unknown): boolean {
  return e instanceof Error && sessionLost.has(e);
}

/** Logs out ("bye"); failures are logged, never thrown (the command's result stands). */
export async function logout(ex: Exchange, o: ApcCliOptions): Promise<void> {
  try {
    await ex.request(
      'bye\r',
      (f) =>
        (f.kind === 'line' && /bye|closed/i.test(f.text)) || (f.kind === 'prompt' && classifyPrompt(f.text) === 'user')
          ? { done: true }
          : undefined,
      1000,
      'logout',
    );
  } catch (e) {
    o.log?.warn({ device: o.device, err: (e as Error).message }, 'console logout not confirmed');
  }
}

/** Runs `body` inside one session: wake -> (recover) -> login -> body -> logout. */
export async function withApcSession<T>(ex: Exchange, o: ApcCliOptions, body: () => Promise<T>): Promise<T> {
  await login(ex, o);
  try {
    return await body();
  } finally {
    await logout(ex, o);
  }
}

export async function login(ex: Exchange, o: ApcCliOptions): Promise<void> {
  let prompt: PromptClass | undefined;
  let attempts = 0;
  let sawUserPrompt = 0;
  for (;;) {
    if (prompt === undefined || prompt === 'other') {
      if (attempts >= o.wakeAttempts)
        throw new DriverError(
          'timeout',
          o.device,
          `console did not show a login or command prompt after ${attempts} x ENTER`,
        );
      attempts++;
      try {
        const f = await ex.request('\r', nextPrompt, o.loginTimeoutMs / o.wakeAttempts, 'wake console (ENTER)');
        prompt = classifyPrompt(f.text);
      } catch (e) {
        if (e instanceof DriverError && e.kind === 'timeout' && attempts < o.wakeAttempts) {
          prompt = undefined;
          continue;
        }
        throw e;
      }
      continue;
    }
    switch (prompt) {
      case 'cli':
        if (sawUserPrompt === 0)
          o.log?.info({ device: o.device }, 'console was still logged in (previous session left open); reusing it');
        return;
      case 'menu':
        throw new DriverError(
          'protocol',
          o.device,
          'console shows a menu prompt (AOS v2/v3 menu firmware): only the AOS v5+ CLI is supported',
        );
      case 'password': {
        // half-way login left by someone else: an empty password fails it
        o.log?.info({ device: o.device }, 'console was waiting for a password; clearing the half-finished login');
        const f = await ex.request('\r', nextPrompt, o.loginTimeoutMs, 'clear half-finished login');
        prompt = classifyPrompt(f.text);
        if (prompt === 'password') throw new DriverError('protocol', o.device, 'console keeps asking for a password');
        continue;
      }
      case 'user': {
        sawUserPrompt++;
        if (sawUserPrompt > 2)
          throw new DriverError('auth', o.device, `login as "${o.user}" refused (wrong user name or password)`);
        const p = await ex.request(`${o.user}\r`, nextPrompt, o.loginTimeoutMs, 'send user name');
        if (classifyPrompt(p.text) !== 'password')
          throw new DriverError(
            'protocol',
            o.device,
            `expected the password prompt after the user name, got ${JSON.stringify(p.text)}`,
          );
        const after = await ex.request(`${o.password}\r`, nextPrompt, o.loginTimeoutMs, 'send password', true);
        prompt = classifyPrompt(after.text);
        if (prompt === 'user')
          throw new DriverError('auth', o.device, `login as "${o.user}" refused (wrong user name or password)`);
        if (prompt === 'cli') return;
        continue;
      }
    }
  }
}

/** Sends one CLI command and returns the lines of its answer, from the result code on. */
export async function runCommand(ex: Exchange, o: ApcCliOptions, command: string): Promise<string[]> {
  const lines = await ex.request<string[]>(
    `${command}\r`,
    (f, seen) => {
      if (f.kind !== 'prompt') return undefined;
      const c = classifyPrompt(f.text);
      if (c === 'user' || c === 'password') {
        const err = new DriverError('protocol', o.device, `console logged us out during "${command}"`);
        sessionLost.add(err);
        return { fail: err };
      }
      if (c !== 'cli') return undefined;
      return { done: seen.filter((x) => x.kind === 'line').map((x) => x.text) };
    },
    o.commandTimeoutMs,
    `"${command}"`,
  );
  const r = parseResultCode(lines);
  if (!r)
    throw new DriverError(
      'protocol',
      o.device,
      `"${command}": no result code in the answer ${JSON.stringify(lines.slice(-3))}`,
    );
  if (!r.result.ok)
    throw new DriverError(kindOfCode(r.result.code), o.device, `"${command}": ${r.result.code} ${r.result.text}`);
  return lines.slice(r.index);
}

/** olStatus for one outlet (or all when outlet is undefined), parsed. */
export async function outletStatus(ex: Exchange, o: ApcCliOptions, outlet?: number): Promise<OutletLine[]> {
  const lines = await runCommand(ex, o, `olStatus ${outlet ?? 'all'}`);
  const parsed = lines.slice(1).map(parseOutletLine);
  const bad = lines.slice(1).filter((_, i) => parsed[i] === undefined);
  const rows = parsed.filter((x): x is OutletLine => x !== undefined);
  if (outlet !== undefined) {
    const row = rows.find((r) => r.outlet === outlet);
    if (!row)
      throw new DriverError(
        'protocol',
        o.device,
        `olStatus ${outlet}: no status line for outlet ${outlet} in ${JSON.stringify(lines.slice(1, 4))}`,
      );
    return [row];
  }
  if (rows.length === 0 || bad.length > 0)
    throw new DriverError('protocol', o.device, `olStatus all: unreadable lines ${JSON.stringify(bad.slice(0, 3))}`);
  return rows;
}
