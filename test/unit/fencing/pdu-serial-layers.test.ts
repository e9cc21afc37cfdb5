/**
 * The serial driver's layers without a port: the framer (bytes -> lines/prompts), the exchange
 * (single-flight queue, matcher, timeout, transport loss) and the APC CLI parsers.
 */
import { describe, expect, it } from 'vitest';
import { tablesDocs } from '../../../src/decisions/registry.js';
import { checkTable, decideBy, tableMarkdown } from '../../../src/decisions/table.js';
import { DriverError } from '../../../src/fencing/devices/driver.js';
import {
  classifyPrompt,
  kindOfCode,
  LOGIN_TABLE,
  type LoginSnapshot,
  type LoginStep,
  parseOutletLine,
  parseResultCode,
} from '../../../src/fencing/devices/pdu-serial/apc-cli.js';
import { Exchange } from '../../../src/fencing/devices/pdu-serial/exchange.js';
import { ConsoleFramer, type Frame } from '../../../src/fencing/devices/pdu-serial/framer.js';

function frames(chunks: string[]): Frame[] {
  const f = new ConsoleFramer();
  const out: Frame[] = [];
  f.on('data', (x: Frame) => out.push(x));
  for (const c of chunks) f.write(Buffer.from(c, 'latin1'));
  return out;
}

describe('ConsoleFramer', () => {
  it('splits CRLF, LF, CR lines, drops empty lines and NUL padding, and emits prompts without line end', () => {
    expect(frames(['\r\nUser Name : '])).toEqual([{ kind: 'prompt', text: 'User Name :' }]);
    expect(frames(['E000: Succ', 'ess\r\n 3: node-a: On\r', '\n\r\napc>'])).toEqual([
      { kind: 'line', text: 'E000: Success' },
      { kind: 'line', text: ' 3: node-a: On' },
      { kind: 'prompt', text: 'apc>' },
    ]);
    expect(frames(['a\rb\nc\r\n\0\r\nPassword  : '])).toEqual([
      { kind: 'line', text: 'a' },
      { kind: 'line', text: 'b' },
      { kind: 'line', text: 'c' },
      { kind: 'prompt', text: 'Password  :' },
    ]);
  });

  it('does not mistake a partial line for a prompt, and keeps echoed commands as lines', () => {
    expect(frames(['apc>', 'olSta', 'tus 3\r\n'])).toEqual([
      { kind: 'prompt', text: 'apc>' },
      { kind: 'line', text: 'olStatus 3' },
    ]);
    expect(frames(['apc>olStatus 3\r\n'])).toEqual([{ kind: 'line', text: 'apc>olStatus 3' }]);
  });
});

describe('APC CLI parsers', () => {
  it('classifies prompts', () => {
    expect(classifyPrompt('User Name :')).toBe('user');
    expect(classifyPrompt('Password  :')).toBe('password');
    expect(classifyPrompt('apc>')).toBe('cli');
    expect(classifyPrompt('pdu-rack1>')).toBe('cli');
    expect(classifyPrompt('>')).toBe('menu');
    expect(classifyPrompt('Press <ENTER> to continue...')).toBe('other');
  });

  it('finds result codes and maps failures to driver error kinds', () => {
    expect(parseResultCode(['olOff 3', 'E000: Success'])).toEqual({
      result: { code: 'E000', text: 'Success', ok: true },
      index: 1,
    });
    expect(parseResultCode(['E102: Parameter Error'])?.result.ok).toBe(false);
    expect(parseResultCode(['garbage', '#~^'])).toBeUndefined();
    expect(kindOfCode('E102')).toBe('no-such-plug');
    expect(kindOfCode('E104')).toBe('privilege');
    expect(kindOfCode('E101')).toBe('protocol');
    expect(kindOfCode('E107')).toBe('refused');
  });

  it('parses outlet status lines, names with colons included', () => {
    expect(parseOutletLine(' 3: node-a: On')).toEqual({ outlet: 3, name: 'node-a', state: 'on' });
    expect(parseOutletLine('12: db: primary: Off')).toEqual({ outlet: 12, name: 'db: primary', state: 'off' });
    expect(parseOutletLine('3: node-a: Unknown')).toBeUndefined();
    expect(parseOutletLine('E000: Success')).toBeUndefined();
  });
});

describe('console login table', () => {
  const L = (o: Partial<LoginSnapshot>): LoginSnapshot => ({
    shows: 'none',
    text: '',
    sent: 'nothing',
    wakes: 0,
    wakeAttempts: 3,
    userPrompts: 0,
    user: 'apc',
    ...o,
  });
  // one snapshot per row, walked by row id
  const walk: Array<[string, LoginSnapshot, LoginStep, RegExp?]> = [
    ['login.wake-timeout', L({ sent: 'enter', wakes: 3 }), { do: 'rethrow-timeout' }],
    [
      'login.no-password-prompt',
      L({ sent: 'user', shows: 'cli', text: 'apc>', userPrompts: 1 }),
      { do: 'fail', kind: 'protocol' },
      /expected the password prompt after the user name, got "apc>"/,
    ],
    ['login.send-password', L({ sent: 'user', shows: 'password', userPrompts: 1 }), { do: 'send-password' }],
    [
      'login.refused',
      L({ sent: 'password', shows: 'user', userPrompts: 1 }),
      { do: 'fail', kind: 'auth' },
      /login as "apc" refused/,
    ],
    [
      'login.password-again',
      L({ sent: 'clear', shows: 'password' }),
      { do: 'fail', kind: 'protocol' },
      /keeps asking for a password/,
    ],
    [
      'login.wake-exhausted',
      L({ sent: 'enter', shows: 'other', wakes: 3 }),
      { do: 'fail', kind: 'timeout' },
      /after 3 x ENTER/,
    ],
    ['login.wake', L({}), { do: 'wake' }],
    ['login.cli', L({ sent: 'enter', shows: 'cli', wakes: 1 }), { do: 'done', reused: true }, /still logged in/],
    ['login.menu', L({ sent: 'enter', shows: 'menu', wakes: 1 }), { do: 'fail', kind: 'protocol' }, /menu/],
    ['login.clear-password', L({ sent: 'enter', shows: 'password', wakes: 1 }), { do: 'clear' }],
    [
      'login.user-refused-thrice',
      L({ sent: 'clear', shows: 'user', userPrompts: 2 }),
      { do: 'fail', kind: 'auth' },
      /refused \(wrong user name or password\)/,
    ],
    ['login.send-user', L({ sent: 'enter', shows: 'user', wakes: 1 }), { do: 'send-user' }],
  ];

  it('is well formed (checkTable) and its rows are in the generated docs', () => {
    expect(checkTable(LOGIN_TABLE)).toEqual([]);
    expect(tablesDocs()).toContain(tableMarkdown(LOGIN_TABLE));
  });

  it('the walk covers every row', () => {
    expect(walk.map(([id]) => id).sort()).toEqual(LOGIN_TABLE.rows.map((r) => r.id).sort());
  });

  for (const [id, s, step, reason] of walk) {
    it(`row ${id}`, () => {
      const d = decideBy(LOGIN_TABLE, s);
      expect(d.row).toBe(id);
      expect(d.outcome).toEqual(step);
      if (reason) expect(d.reason).toMatch(reason);
    });
  }

  it('a wake that timed out before the last attempt presses ENTER again; after a login the CLI is no reuse', () => {
    expect(decideBy(LOGIN_TABLE, L({ sent: 'enter', wakes: 2 })).row).toBe('login.wake');
    expect(decideBy(LOGIN_TABLE, L({ sent: 'password', shows: 'cli', userPrompts: 1 })).outcome).toEqual({
      do: 'done',
      reused: false,
    });
    // wake_attempts 0: no ENTER at all
    expect(decideBy(LOGIN_TABLE, L({ wakeAttempts: 0 })).row).toBe('login.wake-exhausted');
  });
});

describe('Exchange', () => {
  const line = (text: string): Frame => ({ kind: 'line', text });
  const until = (text: string) => (f: Frame) => (f.text === text ? { done: f.text } : undefined);
  /** A transport that records writes; `written(data)` resolves once that data was written. */
  const recorder = () => {
    const sent: string[] = [];
    const waiting = new Map<string, () => void>();
    return {
      sent,
      write: async (data: string) => {
        sent.push(data);
        waiting.get(data)?.();
      },
      written: (data: string) =>
        sent.includes(data) ? Promise.resolve() : new Promise<void>((r) => waiting.set(data, r)),
    };
  };

  it('runs requests one at a time, each seeing only frames after its own send', async () => {
    const { sent, write, written } = recorder();
    const ex = new Exchange('d', write);
    ex.feed(line('stale')); // before any request: dropped
    const a = ex.request('A', until('a-done'), 1000, 'A');
    const b = ex.request('B', until('b-done'), 1000, 'B');
    await written('A');
    expect(sent).toEqual(['A']);
    ex.feed(line('b-done')); // belongs to A's window: not a match for A
    ex.feed(line('a-done'));
    expect(await a).toBe('a-done');
    await written('B'); // B's turn starts once A is answered
    expect(sent).toEqual(['A', 'B']);
    ex.feed(line('b-done'));
    expect(await b).toBe('b-done');
  });

  it('times out naming the last text, and fails every request once the transport is lost', async () => {
    const { write, written } = recorder();
    const ex = new Exchange('dev', write);
    const t = ex.request('x', until('never'), 50, '"olOff 3"');
    await written('x'); // the request is waiting: the text is in its window
    ex.feed(line('E000: Suc'));
    await expect(t).rejects.toMatchObject({ kind: 'timeout', message: expect.stringContaining('E000: Suc') });
    const p = ex.request('y', until('never'), 5000, 'y');
    await Promise.resolve();
    ex.fail(new DriverError('io', 'dev', 'cable pulled'));
    await expect(p).rejects.toMatchObject({ kind: 'io' });
    await expect(ex.request('z', until('never'), 5000, 'z')).rejects.toMatchObject({ kind: 'io' });
  });

  it('a failed write fails the request as io', async () => {
    const ex = new Exchange('dev', async () => {
      throw new Error('EIO');
    });
    await expect(ex.request('x', until('never'), 5000, 'x')).rejects.toMatchObject({ kind: 'io' });
  });
});
