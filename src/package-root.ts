/**
 * The package root (holds package.json, board/, demo/), found by walking up from this module:
 * src/ and dist/ in a clone, or /usr/lib/rackwitness (bundle chunks at any depth) when packaged.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(resolve(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  root = dir;
  return dir;
}
