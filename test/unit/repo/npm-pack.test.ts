/**
 * What `npm pack` ships: the build it makes first (prepack), the license, no source maps, and
 * every file the package's bins and systemd/board folders need.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const pexec = promisify(execFile);

it('npm pack builds first and ships LICENSE and the bins, without .map files', async () => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
    scripts: Record<string, string>;
    bin: Record<string, string>;
  };
  expect(pkg.scripts.prepack).toMatch(/npm run build/);
  // --ignore-scripts: the suite's global setup already built dist/
  const r = await pexec('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { maxBuffer: 16 << 20 });
  const files = (JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>)[0]?.files.map((f) => f.path) ?? [];
  expect(files).toContain('LICENSE');
  expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
  for (const bin of Object.values(pkg.bin)) expect(files).toContain(bin);
  expect(files).toContain('systemd/rackwitness.service');
}, 60_000);
