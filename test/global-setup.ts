/**
 * Builds dist/ when it is missing or older than any source file: tests spawn the compiled CLI and
 * agents, as users run them, so a stale build would test old code.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

export default function setup(): void {
  const built = 'dist/cli/main.js';
  const stale = !existsSync(built) || newestMtime('src') > statSync(built).mtimeMs;
  if (stale || process.env.RW_TEST_REBUILD === '1') {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
    for (const bin of ['dist/cli/main.js', 'dist/agents/fence/main.js', 'dist/agents/pgsql/main.js'])
      execFileSync('chmod', ['+x', bin]);
  }
}
