/**
 * Foundation benchmark: cold start to ready (process spawn to the READY line, i.e. every service
 * started and the feed connected) and idle RSS with the status feed and embedded broker on.
 * Targets on a 2-core x86 VM: ready <= 1.5 s, RSS <= 80 MB. There is no peer for this row.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { startDaemon } from '../test/fixtures/cli.js';
import { cleanupDir, freePort, sleep, tempDir } from '../test/fixtures/proc.js';
import { median } from './lib.js';

const RUNS = 7;

function rssMb(pid: number): number {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
  return Number(m?.[1]) / 1024;
}

it('cold start and idle RSS', async () => {
  const startMs: number[] = [];
  const rss: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const dir = cleanupDir(tempDir('rw-bench-'));
    const file = join(dir, 'rackwitness.yaml');
    writeFileSync(
      file,
      `box:\n  name: bench\n  state_dir: state\ncontrol:\n  socket: c.sock\nlog:\n  format: json\n  level: warn\nstatus:\n  http:\n    host: 127.0.0.1\n    port: ${await freePort()}\n  mqtt:\n    embedded:\n      host: 127.0.0.1\n      port: ${await freePort()}\n`,
    );
    const t0 = performance.now();
    const d = await startDaemon(['--config', file]);
    startMs.push(performance.now() - t0);
    await sleep(3000);
    rss.push(rssMb(d.child.pid as number));
    await d.kill('SIGTERM');
  }
  const result = {
    title: 'Daemon: cold start and idle memory',
    rows: [
      {
        name: 'cold start to ready (spawn → READY)',
        ours_ms: Math.round(median(startMs)),
        target_ms: 1500,
        runs: RUNS,
      },
      {
        name: 'idle RSS, feed + embedded broker on (MB)',
        ours_mb: Math.round(median(rss) * 10) / 10,
        target_mb: 80,
        runs: RUNS,
      },
    ],
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/daemon.json', `${JSON.stringify(result, null, 2)}\n`);
  console.table(result.rows);
  expect(startMs.length).toBe(RUNS);
});
