/**
 * Cluster attributes through Pacemaker's crm_attribute (always the real tool found on PATH; tests
 * put a stand-in first on PATH). Promotion scores: `crm_attribute --promotion=<resource>` (the
 * resource named explicitly: Debian 12's Pacemaker misparses the older crm_master form). Private
 * coordination values (lsn_location, nodes, cancel_switchover, recover_primary, diverged) are
 * transient node attributes named `<name>-<resource>`.
 */
import type { Deadline, RunResult } from './io.js';
import { run } from './io.js';

export class Attributes {
  constructor(
    readonly resource: string,
    readonly deadline: Deadline,
  ) {}

  private call(args: string[]): Promise<RunResult> {
    return run('crm_attribute', args, { timeoutMs: this.deadline.cap(10_000) });
  }

  async setScore(node: string, score: number): Promise<RunResult> {
    return this.call([
      `--promotion=${this.resource}`,
      '--lifetime',
      'forever',
      '--node',
      node,
      '--update',
      String(score),
    ]);
  }

  async getScore(node: string): Promise<number | null> {
    const r = await this.call([
      `--promotion=${this.resource}`,
      '--lifetime',
      'forever',
      '--node',
      node,
      '--query',
      '--quiet',
    ]);
    const v = r.stdout.trim();
    return r.code === 0 && /^-?\d+$/.test(v) ? Number(v) : null;
  }

  async delScore(node: string): Promise<RunResult> {
    return this.call([`--promotion=${this.resource}`, '--lifetime', 'forever', '--node', node, '--delete']);
  }

  private name(key: string): string {
    return `${key}-${this.resource}`;
  }

  async set(node: string, key: string, value: string): Promise<RunResult> {
    return this.call(['--lifetime', 'reboot', '--node', node, '--name', this.name(key), '--update', value]);
  }

  async get(node: string, key: string): Promise<string | null> {
    const r = await this.call(['--lifetime', 'reboot', '--node', node, '--name', this.name(key), '--query', '--quiet']);
    const v = r.stdout.trim();
    return r.code === 0 && v !== '' && v !== '(null)' ? v : null;
  }

  async del(node: string, key: string): Promise<void> {
    await this.call(['--lifetime', 'reboot', '--node', node, '--name', this.name(key), '--delete']);
  }
}
