/**
 * Issue 12 item 2: no fence is accepted before the daemon is ready, and a start that fails leaves
 * nothing done. The real daemon: fencing starts, then the pgsql observer's first poll hangs on a
 * server that never answers (a window of seconds with the fence API listening), then the watchdog
 * fails to open its device and the daemon exits 1.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, cleanEnv, NODE_FLAGS, runCli, startDaemon } from '../../fixtures/cli.js';
import { freePort, onCleanup, spawnProc } from '../../fixtures/proc.js';
import { makeBox, send, sign } from './daemon-harness.js';

/** A TCP server that accepts and never says a word (a PostgreSQL that hangs). */
async function stallServer(): Promise<number> {
  const port = await freePort();
  const held: Socket[] = [];
  const srv = createServer((s) => held.push(s));
  await new Promise<void>((r) => srv.listen(port, r));
  onCleanup(() => {
    for (const s of held) s.destroy();
    srv.close();
  });
  return port;
}

describe('daemon start and the fence API', () => {
  it('refuses fences (503, a sentence) until ready; a failed start executed nothing', async () => {
    const pg = await stallServer();
    const box = await makeBox({
      extra: `pgsql:
  connect_timeout_s: 4
  nodes:
    - {name: node-a, host: 127.0.0.1, port: ${pg}}
    - {name: node-b, host: 127.0.0.2, port: ${pg}}
watchdog: {mode: required, device: /nonexistent/watchdog-for-test}
`,
    });
    const proc = spawnProc(process.execPath, [...NODE_FLAGS, CLI, 'run', '--config', box.file], {
      env: cleanEnv({ RW_READY_LINE: '1' }),
    });
    await proc.waitFor(/"svc":"fencing".*"msg":"started"/, 20_000);
    const reboot = await send(box.api, sign({ target: 'node-a', action: 'reboot' }));
    expect(reboot.status).toBe(503);
    expect(reboot.body).toMatchObject({ ok: false, error: 'not-ready' });
    expect(String(reboot.body.message)).toMatch(/daemon is starting/);
    const cli = await runCli(['fence', 'node-a', '--action', 'off', '--config', box.file]);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/daemon is starting/);
    const { code } = await proc.exited;
    expect(code).toBe(1);
    expect(proc.output()).toMatch(/service watchdog failed to start/);
    const journal = join(box.dir, 'state', 'fence-journal.jsonl');
    expect(existsSync(journal) ? readFileSync(journal, 'utf8') : '').not.toMatch(/"type":"started"/);
  });

  it('accepts fences once ready', async () => {
    const box = await makeBox();
    const d = await startDaemon(['--config', box.file]);
    expect((await send(box.api, sign({ target: 'node-a', action: 'status' }))).body).toMatchObject({
      result: 'success',
    });
    await d.kill('SIGTERM');
  });
});
