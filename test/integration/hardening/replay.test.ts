/**
 * Issue 12 item 1: a captured signed fence request must never be executed twice, also across a
 * restart of the daemon (orderly, or kill -9). Against the real daemon process.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from '../../fixtures/cli.js';
import { type Box, makeBox, send, sign } from './daemon-harness.js';

async function history(box: Box): Promise<Array<{ action: string; result: string }>> {
  const h = await runCli(['fence', 'history', '--json', '--config', box.file]);
  return JSON.parse(h.stdout) as Array<{ action: string; result: string }>;
}

describe('replay of a captured signed request across restarts', () => {
  it('refuses the replay after an orderly restart and after kill -9; the device is never switched again', async () => {
    const box = await makeBox({ initial: 'off' });
    let daemon = await box.start();

    const on = sign({ target: 'node-a', action: 'on' });
    const off = sign({ target: 'node-a', action: 'off' });
    expect((await send(box.api, on)).body).toMatchObject({ result: 'success', power: 'on' });
    expect((await send(box.api, off)).body).toMatchObject({ result: 'success', power: 'off' });
    // same process: refused (this always worked)
    expect((await send(box.api, on)).body).toMatchObject({ error: 'replay' });

    // orderly restart: the saved "on node-a" must not power the fenced node back on
    await daemon.kill('SIGTERM');
    daemon = await box.start();
    const afterTerm = await send(box.api, on);
    expect([afterTerm.status, afterTerm.body.error]).toEqual([401, 'replay']);

    // power loss: kill -9 right after a request was accepted, then replay it
    const off2 = sign({ target: 'node-a', action: 'off' });
    expect((await send(box.api, off2)).body).toMatchObject({ result: 'success' });
    await daemon.kill('SIGKILL');
    daemon = await box.start();
    for (const r of [on, off, off2]) expect((await send(box.api, r)).body.error).toBe('replay');

    // a fresh request still works
    expect((await send(box.api, sign({ target: 'node-a', action: 'status' }))).body).toMatchObject({
      result: 'success',
    });
    expect((await history(box)).map((e) => e.action)).toEqual(['status', 'off', 'off', 'on']);
    await daemon.kill('SIGTERM');
  });
});
