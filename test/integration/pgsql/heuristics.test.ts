/**
 * rackwitness-qdevice-heuristics (the node-side heuristics command of corosync-qdevice) against a
 * real PostgreSQL 15 pair (test/fixtures/pg-rack.ts: node_a primary, node_b streaming standby),
 * run as a child process the way qdevice runs it (no shell, exit code = verdict). In order: the
 * primary passes and the streaming standby fails; a hung server (SIGSTOP) fails within the
 * bound; with the primary's PostgreSQL killed the standby passes and the dead node fails; bad
 * options fail with a sentence naming the option.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileEntries } from '../../fixtures/compile-entry.js';
import { createPgRack, type PgRack, type PgRackNode } from '../../fixtures/pg-rack.js';
import { until } from '../../fixtures/proc.js';

/** The Node that runs the command: this one, or another (RW_HEURISTICS_NODE, e.g. Debian 12's Node 18). */
const NODE = process.env.RW_HEURISTICS_NODE ?? process.execPath;

interface Verdict {
  code: number;
  out: string;
  ms: number;
}

describe('qdevice heuristics command against a real PG15 pair', () => {
  let rack: PgRack;
  let js = '';

  const verdict = (n: PgRackNode, extra: string[] = []): Promise<Verdict> => {
    const t0 = performance.now();
    const args = [js, '--pghost', rack.socketDir, '--pgport', String(n.port), '--bindir', rack.bindir, ...extra];
    return new Promise((resolve) => {
      execFile(NODE, args, { timeout: 30_000 }, (err, stdout) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 99) : 0;
        resolve({ code, out: String(stdout).trim(), ms: performance.now() - t0 });
      });
    });
  };

  beforeAll(async () => {
    js = join(compileEntries(['src/agents/pgsql/heuristics.ts']), 'agents/pgsql/heuristics.js');
    rack = await createPgRack({ prefix: 'rwhx-' });
    await rack.waitStreaming(rack.nodes[0], rack.nodes[1]);
  }, 90_000);

  it('the primary passes; the streaming standby fails, so ffsplit cannot tie them', async () => {
    const [a, b] = rack.nodes;
    const pa = await verdict(a);
    expect(pa).toMatchObject({
      code: 0,
      out: 'pass: the local PostgreSQL is the writable primary [hx.writable-primary]',
    });
    const pb = await verdict(b);
    expect(pb.code).toBe(1);
    expect(pb.out).toBe(
      `fail: standby still streaming from 127.0.0.1:${a.port} (a primary exists or existed less than wal_receiver_timeout ago) [hx.standby-streaming]`,
    );
  });

  it('a hung PostgreSQL is a failed verdict within the bound, not a wait', async () => {
    const [, b] = rack.nodes;
    const pid = rack.postmasterPid(b) as number;
    process.kill(pid, 'SIGSTOP');
    try {
      const v = await verdict(b, ['--timeout-ms', '1500']);
      expect(v.code).toBe(1);
      expect(v.out).toBe('fail: the local PostgreSQL does not answer (no answer within 1000 ms) [hx.no-answer]');
      expect(v.ms).toBeLessThan(1500 + 1500); // the bound, plus a Node start
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  });

  it('with the primary’s PostgreSQL dead, the standby (the most advanced left) passes and the dead node fails', async () => {
    const [a, b] = rack.nodes;
    await rack.kill9(a);
    const pb = await until(
      async () => {
        const v = await verdict(b);
        return v.code === 0 ? v : undefined;
      },
      20_000,
      250,
    );
    expect(pb?.out).toMatch(
      new RegExp(
        `^pass: no primary \\(127\\.0\\.0\\.1:${a.port} refuses PostgreSQL connections\\); this standby at \\d+/[0-9A-F]+ is the most advanced left \\[hx\\.no-primary\\]$`,
      ),
    );
    const pa = await verdict(a);
    expect(pa.code).toBe(1);
    expect(pa.out).toMatch(/^fail: the local PostgreSQL does not answer \(.*\) \[hx\.no-answer\]$/);
    expect(pa.out).toMatch(
      /^fail: the local PostgreSQL does not answer \(connection to server .* failed: .*\) \[hx\.no-answer\]$/,
    );
  }, 40_000);

  it('bad options fail with a sentence naming the option', async () => {
    const [, b] = rack.nodes;
    expect(await verdict(b, ['--pgport', 'x'])).toMatchObject({
      code: 2,
      out: 'fail: --pgport must be an integer from 1 to 65535, not "x"',
    });
    expect((await verdict(b, ['--bogus'])).out).toBe(
      'fail: unknown option "--bogus" (options: --pghost, --pgport, --bindir, --user, --timeout-ms)',
    );
    expect((await verdict(b, ['--bindir', '/nonexistent'])).out).toMatch(/^fail: the local PostgreSQL does not answer/);
  });
});
