/** Builds dist/ once when it is missing (tests spawn the compiled CLI, as users run it). */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export default function setup(): void {
  if (!existsSync('dist/cli/main.js') || process.env.RW_TEST_REBUILD === '1') {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  }
}
