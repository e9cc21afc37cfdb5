import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FenceJournal, JOURNAL_FILE, readJournalFile } from '../../../src/fencing/journal.js';
import { compileEntries } from '../../fixtures/compile-entry.js';
import { cleanupDir, spawnProc, tempDir } from '../../fixtures/proc.js';

describe('fence journal', () => {
  it('records started before finished, and reads back history newest first', () => {
    const dir = cleanupDir(tempDir());
    const j = FenceJournal.open(dir);
    const id = j.started('node-a', 'off', { via: 'api', who: 'cluster', addr: '10.0.0.1' });
    const onDisk = readFileSync(join(dir, JOURNAL_FILE), 'utf8');
    expect(onDisk).toContain('"type":"started"');
    expect(j.history()[0]).toMatchObject({ id, result: 'running' });
    j.finished({
      id,
      target: 'node-a',
      action: 'off',
      result: 'success',
      power: 'off',
      level: 1,
      verified_by: 'read off: bmc/chassis (sim)',
      reason: 'ok',
      duration_ms: 12,
    });
    j.refused('node-b', 'reboot', { via: 'api', node: 'node-a' }, 'race');
    j.close();
    const h = readJournalFile(join(dir, JOURNAL_FILE));
    expect(h.map((x) => x.result)).toEqual(['success', 'refused']);
    expect(h[0]).toMatchObject({
      target: 'node-a',
      level: 1,
      verified_by: 'read off: bmc/chassis (sim)',
      requester: { addr: '10.0.0.1' },
    });
  });

  it('survives kill -9 mid-operation: the operation is reported interrupted after restart', async () => {
    const dir = cleanupDir(tempDir());
    const out = compileEntries(['src/fencing/journal.ts']);
    const script = join(dir, 'child.mjs');
    writeFileSync(
      script,
      `import { FenceJournal } from ${JSON.stringify(join(out, 'fencing/journal.js'))};
const j = FenceJournal.open(process.argv[2]);
const done = j.started('node-a', 'reboot', { via: 'api', addr: '10.0.0.2' });
j.finished({ id: done, target: 'node-a', action: 'reboot', result: 'success', reason: 'ok', duration_ms: 5 });
const id = j.started('node-b', 'off', { via: 'api', addr: '10.0.0.1' });
console.log('STARTED ' + id);
setInterval(() => {}, 1000);
`,
    );
    const child = spawnProc(process.execPath, [script, dir]);
    const m = await child.waitFor(/STARTED (\S+)/);
    await child.kill('SIGKILL');
    // the started record was fsynced before the child said so; a power loss could also tear a line
    appendFileSync(join(dir, JOURNAL_FILE), '{"v":1,"type":"fini');
    const j = FenceJournal.open(dir);
    expect(j.skippedAtOpen).toBe(1);
    expect(j.interruptedAtOpen.map((h) => h.id)).toEqual([m[1]]);
    const h = j.history();
    expect(h[0]).toMatchObject({ id: m[1], target: 'node-b', action: 'off', result: 'interrupted' });
    expect(h[1]).toMatchObject({ target: 'node-a', result: 'success' });
    // the torn tail was terminated, so a new record is readable
    const id2 = j.started('node-b', 'status', { via: 'cli' });
    j.close();
    const again = FenceJournal.open(dir);
    expect(again.interruptedAtOpen.map((x) => x.id)).toEqual([id2]);
    expect(again.history().find((x) => x.id === m[1])?.result).toBe('interrupted');
    again.close();
  });

  it('compacts to the newest operations, keeping running ones', () => {
    const dir = cleanupDir(tempDir());
    const j = FenceJournal.open(dir, 10);
    const keep = j.started('node-a', 'off', { via: 'cli' });
    for (let i = 0; i < 30; i++) {
      const id = j.started('node-b', 'status', { via: 'cli' });
      j.finished({ id, target: 'node-b', action: 'status', result: 'success', reason: 'ok', duration_ms: 1 });
    }
    j.finished({ id: keep, target: 'node-a', action: 'off', result: 'success', reason: 'ok', duration_ms: 1 });
    j.close();
    const h = readJournalFile(join(dir, JOURNAL_FILE));
    expect(h.length).toBeLessThanOrEqual(41);
    expect(h.find((x) => x.id === keep)?.result).toBe('success');
  });
});
