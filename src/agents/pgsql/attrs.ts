/**
 * Cluster attributes (always the real tools found on PATH; tests put stand-ins first on PATH).
 *
 * Promotion scores: `crm_attribute --promotion=<resource> --lifetime reboot` (the node attribute
 * `master-<resource>` in the CIB status section). Scores are meant to make Pacemaker re-plan, so
 * they are real transient attributes; the agent reads before it writes and never re-writes an
 * unchanged score. `reboot`, not `forever`: a node that is fenced or rebooted loses its score with
 * its other transient attributes, so a crashed ex-primary never comes back with a stale 1001.
 *
 * Private coordination values (lsn_location, nodes, cancel_switchover, cancel_reason,
 * recover_primary, diverged), named `<key>-<resource>`: `attrd_updater --private`. They live only in
 * pacemaker-attrd (replicated to every node's attrd, never written to the CIB), so writing or
 * deleting them does not abort the running transition. Pacemaker 2.1.5 semantics (checked on a real
 * two-node cluster): `-Q -n NAME -N NODE` answers from the local attrd for any node; without `-N` it
 * lists every node, so `-N` is always given and the answer's host is checked; `-D` sets the value to
 * the empty string (read back as "unset"); a name that attrd never saw gives rc 78 "attribute does
 * not exist"; `--private` only applies when the attribute is created (a same-named attribute created
 * earlier without it stays CIB-backed until attrd restarts). Updates are asynchronous: `-U` returns
 * before attrd applied it, so a write is followed by a bounded read-back until the local attrd holds
 * the value (readers on other nodes poll with a bound of their own).
 */
import type { Deadline, RunResult } from './io.js';
import { run } from './io.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const SCORE_LIFETIME = 'reboot';

/** Parses `attrd_updater -Q` text output: `name="N" host="H" value="V"` per line (V may hold quotes). */
export function parseAttrdQuery(stdout: string, name: string, node: string): string | null {
  for (const line of stdout.split('\n')) {
    const m = /^name="(.*?)" host="(.*?)" value="(.*)"\s*$/.exec(line.trim());
    if (m && m[1] === name && m[2] === node) return m[3] === '' ? null : (m[3] ?? null);
  }
  return null;
}

export class Attributes {
  constructor(
    readonly resource: string,
    readonly deadline: Deadline,
  ) {}

  private crm(args: string[]): Promise<RunResult> {
    return run('crm_attribute', args, { timeoutMs: this.deadline.cap(10_000) });
  }

  private attrd(args: string[]): Promise<RunResult> {
    return run('attrd_updater', args, { timeoutMs: this.deadline.cap(5_000) });
  }

  async setScore(node: string, score: number): Promise<RunResult> {
    // --update=VALUE in one argument: a negative value after a separate -v/--update is misparsed by some versions
    return this.crm([
      `--promotion=${this.resource}`,
      '--lifetime',
      SCORE_LIFETIME,
      '--node',
      node,
      `--update=${score}`,
    ]);
  }

  async getScore(node: string, lifetime = SCORE_LIFETIME): Promise<number | null> {
    const r = await this.crm([
      `--promotion=${this.resource}`,
      '--lifetime',
      lifetime,
      '--node',
      node,
      '--query',
      '--quiet',
    ]);
    const v = r.stdout.trim();
    return r.code === 0 && /^-?\d+$/.test(v) ? Number(v) : null;
  }

  async delScore(node: string, lifetime = SCORE_LIFETIME): Promise<RunResult> {
    return this.crm([`--promotion=${this.resource}`, '--lifetime', lifetime, '--node', node, '--delete']);
  }

  name(key: string): string {
    return `${key}-${this.resource}`;
  }

  /** Writes a private value and waits (bounded) until the local attrd returns it. */
  async set(node: string, key: string, value: string, waitMs = 3000): Promise<boolean> {
    const r = await this.attrd(['--private', '--name', this.name(key), '--node', node, '--update', value]);
    if (r.code !== 0) return false;
    const end = performance.now() + Math.min(waitMs, this.deadline.remainingMs());
    for (;;) {
      if ((await this.get(node, key)) === value) return true;
      if (performance.now() >= end) return false;
      await sleep(50);
    }
  }

  async get(node: string, key: string): Promise<string | null> {
    const name = this.name(key);
    const r = await this.attrd(['--query', '--name', name, '--node', node]);
    return r.code === 0 ? parseAttrdQuery(r.stdout, name, node) : null;
  }

  /** Polls another node's private value until it is set or waitMs passed (attrd replicates asynchronously). */
  async poll(node: string, key: string, waitMs: number): Promise<string | null> {
    const end = performance.now() + Math.min(waitMs, this.deadline.remainingMs());
    for (;;) {
      const v = await this.get(node, key);
      if (v !== null || performance.now() >= end) return v;
      await sleep(100);
    }
  }

  async del(node: string, key: string): Promise<void> {
    await this.attrd(['--private', '--name', this.name(key), '--node', node, '--delete']);
  }
}
