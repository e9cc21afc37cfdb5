/**
 * The serial driver's layers without a port: the framer (bytes -> lines/prompts), the exchange
 * (single-flight queue, matcher, timeout, transport loss) and the APC CLI parsers.
 */
import { describe, expect, it } from 'vitest';
import { DriverError } from '../../../src/fencing/driver.js';
import {
  classifyPrompt,
  kindOfCode,
  LOGIN_TABLE,
  parseOutletLine,
  parseResultCode,
} from '../../../src/fencing/pdu-serial/apc-cli.js';
import { Exchange } from '../../../src/fencing/pdu-serial/exchange.js';
import { ConsoleFramer, type Frame } from '../../../src/fencing/pdu-serial/framer.js';

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
    // every class has exactly one row in the login table
    expect(new Set(LOGIN_TABLE.map((r) => r.shows)).size).toBe(LOGIN_TABLE.length);
    for (const c of ['user', 'password', 'cli', 'menu', 'other'] as const)
      expect(LOGIN_TABLE.some((r) => r.shows === c)).toBe(true);
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
