/**
 * Policy for the APC console CLI (AOS v5+): wake the console, recognise where the previous user
 * left it, log in, run one command, log out. Pure parsers (prompt class, result code, status
 * lines) are exported for unit tests; the dialogue runs over an Exchange.
 */
import type { Logger } from 'pino';
import { type DecisionTable, decideBy, type TableRow } from '../../../decisions/table.js';
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

/** What the login dialogue last sent, whose answer the console shows now. */
export type LoginSent = 'nothing' | 'enter' | 'clear' | 'user' | 'password';

/**
 * The login dialogue's snapshot: what the console shows after what we last sent, and the
 * counters. `shows` is "none" before the first ENTER and after an ENTER that got no prompt in time.
 */
export interface LoginSnapshot {
  readonly shows: PromptClass | 'none';
  /** The prompt's text (for the error naming an unexpected prompt). */
  readonly text: string;
  readonly sent: LoginSent;
  /** ENTERs sent to wake the console, and the bound (wake_attempts). */
  readonly wakes: number;
  readonly wakeAttempts: number;
  /** User Name prompts answered so far. */
  readonly userPrompts: number;
  /** The user name (for the auth error; never the password). */
  readonly user: string;
}

export type LoginStep =
  | { do: 'wake' } // send ENTER, wait for a prompt (login_timeout / wake_attempts)
  | { do: 'clear' } // send an empty password to end a half-finished login
  | { do: 'send-user' }
  | { do: 'send-password' } // the secret: never logged
  | { do: 'done'; reused: boolean } // at the CLI prompt
  | { do: 'fail'; kind: DriverErrorKind } // the reason is the error message
  | { do: 'rethrow-timeout' }; // the last ENTER's own timeout error

const unanswered = (s: LoginSnapshot) => s.shows === 'none' || s.shows === 'other';
const loginRefused = (s: LoginSnapshot) => `login as "${s.user}" refused (wrong user name or password)`;

const loginRows: readonly TableRow<LoginSnapshot, LoginStep>[] = [
  {
    id: 'login.wake-timeout',
    comment: 'The last allowed ENTER got no prompt in time: the console is silent; fail with that timeout.',
    when: (s) => s.sent === 'enter' && s.shows === 'none' && s.wakes >= s.wakeAttempts,
    outcome: () => ({ do: 'rethrow-timeout' }),
    reason: (s) => `console did not answer the last of ${s.wakes} x ENTER`,
  },
  {
    id: 'login.no-password-prompt',
    comment:
      'The user name was not followed by a password prompt: not the AOS dialogue we know; refuse rather than guess.',
    when: (s) => s.sent === 'user' && s.shows !== 'password',
    outcome: () => ({ do: 'fail', kind: 'protocol' }),
    reason: (s) => `expected the password prompt after the user name, got ${JSON.stringify(s.text)}`,
  },
  {
    id: 'login.send-password',
    comment: 'Password prompt after the user name: send the password (never logged).',
    when: (s) => s.sent === 'user',
    outcome: () => ({ do: 'send-password' }),
    reason: () => 'sending the password',
  },
  {
    id: 'login.refused',
    comment: 'User Name comes back right after the password: the console refused the login (auth).',
    when: (s) => s.sent === 'password' && s.shows === 'user',
    outcome: () => ({ do: 'fail', kind: 'auth' }),
    reason: loginRefused,
  },
  {
    id: 'login.password-again',
    comment: 'The empty password that ends a half-finished login was answered by a password prompt again: stuck.',
    when: (s) => s.sent === 'clear' && s.shows === 'password',
    outcome: () => ({ do: 'fail', kind: 'protocol' }),
    reason: () => 'console keeps asking for a password',
  },
  {
    id: 'login.wake-exhausted',
    comment: 'No login or command prompt after wake_attempts ENTERs (unknown text only): give up (timeout).',
    when: (s) => unanswered(s) && s.wakes >= s.wakeAttempts,
    outcome: () => ({ do: 'fail', kind: 'timeout' }),
    reason: (s) => `console did not show a login or command prompt after ${s.wakes} x ENTER`,
  },
  {
    id: 'login.wake',
    comment: 'Nothing shown yet, or unknown text: press ENTER (again), bounded by wake_attempts.',
    when: unanswered,
    outcome: () => ({ do: 'wake' }),
    reason: (s) => `pressing ENTER (${s.wakes + 1}/${s.wakeAttempts})`,
  },
  {
    id: 'login.cli',
    comment:
      'The CLI prompt: logged in; when no login was needed, a previous session was left logged in: use it (logged), log out at the end.',
    when: (s) => s.shows === 'cli',
    outcome: (s) => ({ do: 'done', reused: s.userPrompts === 0 }),
    reason: (s) =>
      s.userPrompts === 0
        ? 'console was still logged in (previous session left open); reusing it'
        : 'logged in to the console',
  },
  {
    id: 'login.menu',
    comment: 'Menu-mode firmware (AOS v2/v3): not supported; refuse (protocol) rather than guess.',
    when: (s) => s.shows === 'menu',
    outcome: () => ({ do: 'fail', kind: 'protocol' }),
    reason: () => 'console shows a menu prompt (AOS v2/v3 menu firmware): only the AOS v5+ CLI is supported',
  },
  {
    id: 'login.clear-password',
    comment:
      'A previous login stopped half-way at the password: an empty password fails it, then User Name comes back.',
    when: (s) => s.shows === 'password',
    outcome: () => ({ do: 'clear' }),
    reason: () => 'console was waiting for a password; clearing the half-finished login',
  },
  {
    id: 'login.user-refused-thrice',
    comment: 'A third User Name prompt in one login: the user name or password is refused (auth); never loop.',
    when: (s) => s.userPrompts >= 2,
    outcome: () => ({ do: 'fail', kind: 'auth' }),
    reason: loginRefused,
  },
  {
    id: 'login.send-user',
    comment: 'The User Name prompt (the normal case: console idle): send the user name, expect the password prompt.',
    outcome: () => ({ do: 'send-user' }),
    reason: (s) => `logging in as "${s.user}"`,
  },
];

/** The console login dialogue (src/decisions/table.ts shape; docs/tables.md is generated from it). */
export const LOGIN_TABLE: DecisionTable<LoginSnapshot, LoginStep> = {
  name: 'APC serial console login',
  summary:
    "The pdu-serial driver's login to an APC console (AOS v5+ CLI): after each thing it sends, the prompt the console shows (and the counters) decide what to send next, whatever state the previous user left the console in. login() in the same file carries out the steps; a failure's reason is the driver error's message.",
  rows: loginRows,
};

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
  let s: LoginSnapshot = {
    shows: 'none',
    text: '',
    sent: 'nothing',
    wakes: 0,
    wakeAttempts: o.wakeAttempts,
    userPrompts: 0,
    user: o.user,
  };
  let wakeTimeout: DriverError | undefined;
  const saw = (f: Frame, sent: LoginSent, more: Partial<LoginSnapshot> = {}): LoginSnapshot => ({
    ...s,
    ...more,
    shows: classifyPrompt(f.text),
    text: f.text,
    sent,
  });
  for (;;) {
    const d = decideBy(LOGIN_TABLE, s);
    const step = d.outcome;
    switch (step.do) {
      case 'wake':
        try {
          const f = await ex.request('\r', nextPrompt, o.loginTimeoutMs / o.wakeAttempts, 'wake console (ENTER)');
          s = saw(f, 'enter', { wakes: s.wakes + 1 });
        } catch (e) {
          if (!(e instanceof DriverError && e.kind === 'timeout')) throw e;
          wakeTimeout = e;
          s = { ...s, shows: 'none', text: '', sent: 'enter', wakes: s.wakes + 1 };
        }
        break;
      case 'clear':
        o.log?.info({ device: o.device }, d.reason);
        s = saw(await ex.request('\r', nextPrompt, o.loginTimeoutMs, 'clear half-finished login'), 'clear');
        break;
      case 'send-user':
        s = saw(await ex.request(`${o.user}\r`, nextPrompt, o.loginTimeoutMs, 'send user name'), 'user', {
          userPrompts: s.userPrompts + 1,
        });
        break;
      case 'send-password':
        s = saw(await ex.request(`${o.password}\r`, nextPrompt, o.loginTimeoutMs, 'send password', true), 'password');
        break;
      case 'done':
        if (step.reused) o.log?.info({ device: o.device }, d.reason);
        return;
      case 'fail':
        throw new DriverError(step.kind, o.device, d.reason);
      case 'rethrow-timeout':
        throw wakeTimeout ?? new DriverError('timeout', o.device, d.reason);
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
