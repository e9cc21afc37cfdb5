/**
 * The serial-console PDU driver over a real pty pair (socat) against our APC console emulator;
 * the REAL fence_apc, over telnet to the same emulated PDU, proves the emulator speaks the CLI
 * the way fence-agents expects and that both see the same outlet states.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DriverError, type PowerDriver } from '../../../src/fencing/devices/driver.js';
import {
  createPduSerialDriver,
  type PduSerialDeviceInput,
  pduSerialDeviceSchema,
} from '../../../src/fencing/devices/pdu-serial/index.js';
import { type ConsoleState, consoleState, SerialConsole, TelnetConsole } from '../../fixtures/apc-console.js';
import { runPduCli } from '../../fixtures/pdu-cli-run.js';
import { cleanupDir, tempDir, until } from '../../fixtures/proc.js';
import { type PtyPair, startPtyPair } from '../../fixtures/pty-pair.js';

const run = promisify(execFile);
const sig = (ms = 15_000) => AbortSignal.timeout(ms);
const creds = { user: 'apc', password: 'apc-secret', badLoginDelayMs: 100 };

async function fenceApc(port: number, action: string, plug?: string): Promise<{ rc: number; out: string }> {
  const args = [
    '--ip',
    '127.0.0.1',
    '--ipport',
    String(port),
    '--username',
    'apc',
    '--password',
    creds.password,
    '--action',
    action,
  ];
  if (plug) args.push('--plug', plug);
  try {
    const r = await run('/usr/sbin/fence_apc', args, { timeout: 30_000 });
    return { rc: 0, out: r.stdout };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { rc: typeof err.code === 'number' ? err.code : -1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

async function failure(p: Promise<unknown>): Promise<DriverError> {
  const r = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(r, 'expected the operation to fail').toBeInstanceOf(DriverError);
  return r as DriverError;
}

describe('pdu-serial driver over a pty pair', () => {
  const dir = cleanupDir(tempDir('rwpdu-serial-'));
  let st: ConsoleState;
  let pair: PtyPair;
  let con: SerialConsole;
  let telnet: TelnetConsole;
  const drivers: PowerDriver[] = [];
  const mk = (over: Partial<PduSerialDeviceInput> = {}) => {
    const d = createPduSerialDriver(
      pduSerialDeviceSchema.parse({
        driver: 'pdu-serial',
        name: 'pdu-serial-a',
        device: pair.b,
        user: 'apc',
        password_file: 'pw',
        outlets: { '4': 'node-b' },
        login_timeout_s: 3,
        command_timeout_s: 2,
        session_linger_s: 0,
        ...over,
      } as PduSerialDeviceInput),
      { readSecret: async (f) => (f === 'pw' ? creds.password : 'wrong-password') },
    );
    drivers.push(d);
    return d;
  };

  beforeAll(async () => {
    st = consoleState(8, { 3: 'node-a', 4: 'node-b' });
    pair = await startPtyPair(dir);
    con = await SerialConsole.open(pair.a, st, creds);
    telnet = await TelnetConsole.listen(st, creds);
  });
  beforeEach(() => {
    st.stuck.clear();
    st.garbage = false;
    st.hang = false;
  });
  // the serial port is locked exclusively: one driver instance per port at a time
  afterEach(async () => {
    for (const d of drivers.splice(0)) await d.close();
  });
  afterAll(async () => {
    await con.close();
    await telnet.close();
  });

  it('switches an outlet and agrees with the real fence_apc (telnet) on the same PDU', async () => {
    const d = mk();
    expect(await d.status('3', sig())).toBe('on');
    await d.off('3', sig());
    expect(st.outlets.get(3)?.state).toBe('off');
    expect(await d.status('3', sig())).toBe('off');
    expect(con.session.stage).toBe('idle'); // logged out after each operation
    const peer = await fenceApc(telnet.port, 'status', '3');
    expect(peer.rc, peer.out).toBe(2);
    const on = await fenceApc(telnet.port, 'on', '3');
    expect(on.rc, on.out).toBe(0);
    expect(await d.status('node-a', sig())).toBe('on');
    await d.off('node-b', sig());
    const list = await fenceApc(telnet.port, 'list');
    expect(list.out).toMatch(/^4,node-b/m);
    expect((await fenceApc(telnet.port, 'status', '4')).rc).toBe(2);
    await d.on('4', sig());
    const mine = await d.list?.(sig());
    expect(mine?.map((p) => `${p.plug}:${p.name}:${p.state}`).slice(2, 4)).toEqual(['3:node-a:on', '4:node-b:on']);
  });

  it('reuses a session left logged in, clears a half-finished login, and logs out', async () => {
    const d = mk();
    con.session.leaveAt('cli');
    expect(await d.status('2', sig())).toBe('on');
    expect(con.session.stage).toBe('idle');
    con.session.leaveAt('password');
    await d.off('2', sig());
    expect(st.outlets.get(2)?.state).toBe('off');
    await d.on('2', sig());
    expect(con.session.stage).toBe('idle');
  });

  it('with session_linger_s the verify reads reuse the session, and it logs out after the linger', async () => {
    const d = mk({ session_linger_s: 1.5 });
    const before = st.logins;
    await d.off('2', sig());
    expect(await d.status('2', sig())).toBe('off');
    await d.on('2', sig());
    expect(st.logins - before).toBe(1);
    expect(con.session.stage).toBe('cli');
    await until(() => con.session.stage === 'idle', 10_000); // "bye" after the linger
    // a session ended by the PDU while lingering (idle logout) is noticed and re-established
    expect(await d.status('2', sig())).toBe('on');
    con.session.leaveAt('user');
    expect(await d.status('2', sig())).toBe('on');
    expect(st.logins - before).toBe(3);
    await d.close();
    expect(con.session.stage).toBe('idle'); // close() logs out
  });

  it('wrong password is an auth error; unknown outlet is no-such-plug; nothing switched', async () => {
    const wrong = mk({ password_file: 'other' });
    const bad = await failure(wrong.off('5', sig()));
    expect(bad.kind).toBe('auth');
    await wrong.close();
    expect(st.outlets.get(5)?.state).toBe('on');
    const d = mk();
    const e = await failure(d.off('9', sig()));
    expect(e.kind).toBe('no-such-plug');
    expect(e.message).toMatch(/E102/);
    expect((await failure(d.status('node-z', sig()))).kind).toBe('no-such-plug');
  });

  it('garbage replies are a protocol error; a stuck outlet is reported on after off', async () => {
    const d = mk();
    st.garbage = true;
    expect((await failure(d.off('5', sig()))).kind).toBe('protocol');
    expect((await failure(d.status('5', sig()))).kind).toBe('protocol');
    st.garbage = false;
    st.stuck.add(6);
    await d.off('6', sig());
    expect(await d.status('6', sig())).toBe('on');
  });

  it('a console that stops answering times out; the next operation works on a reopened port', async () => {
    const d = mk({ command_timeout_s: 0.5 });
    st.hang = true;
    const e = await failure(d.off('7', sig()));
    expect(e.kind).toBe('timeout');
    st.hang = false;
    expect(await d.status('7', sig())).toBe('on');
  });

  it('CLI: outlet off (verified), status, list and a wrong password over the serial console', async () => {
    const pw = join(dir, 'pw');
    writeFileSync(pw, `${creds.password}\n`, { mode: 0o600 });
    const base = [
      'pdu',
      '--driver',
      'pdu-serial',
      '--device',
      pair.b,
      '--baud',
      '9600',
      '--user',
      'apc',
      '--password-file',
      pw,
    ];
    let r = await runPduCli([...base, 'outlet', '5', 'off']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^outlet 5: off \(verified/);
    expect(st.outlets.get(5)?.state).toBe('off');
    r = await runPduCli([...base, '--json', 'outlet', 'node-a', 'status']);
    expect(JSON.parse(r.out)).toMatchObject({ ok: true, state: 'on' });
    r = await runPduCli([...base, 'list']);
    expect(r.out).toMatch(/^\s+5\s+off\s+Outlet 5$/m);
    r = await runPduCli([...base, 'outlet', '5', 'on']);
    expect(r.code).toBe(0);
    // the spelling of the family works too
    r = await runPduCli(['pdu', '--driver', 'apc-serial', ...base.slice(3), 'outlet', '5', 'status']);
    expect([r.code, r.out]).toEqual([0, 'on\n']);
    const bad = join(dir, 'bad');
    writeFileSync(bad, 'nope\n', { mode: 0o600 });
    r = await runPduCli([...base.slice(0, -1), bad, 'outlet', '5', 'off']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/auth/);
    expect(st.outlets.get(5)?.state).toBe('on');
  });

  it('the cable pulled mid-command fails with io (no success), and the port is reopened later', async () => {
    const d = mk({ command_timeout_s: 10 });
    expect(await d.status('8', sig())).toBe('on');
    st.hang = true;
    const pending = failure(d.off('8', sig()));
    await until(() => st.log.includes('olOff 8'), 10_000);
    await pair.stop(); // pull the cable while olOff is unanswered
    const e = await pending;
    expect(e.kind).toBe('io');
    const down = await failure(d.status('8', sig()));
    expect(down.kind).toBe('io');
    expect(down.message).toMatch(/cannot open/);
    // plug it back in
    await con.close();
    st.hang = false;
    pair = await startPtyPair(dir);
    con = await SerialConsole.open(pair.a, st, creds);
    expect(await d.status('8', sig())).toBe('on');
    await d.off('8', sig());
    expect(await d.status('8', sig())).toBe('off');
  });
});
