/** Secret files (password, K_G): read at use, never logged. */
import { readFile } from 'node:fs/promises';

/** Reads a secret file and strips one trailing line break (files written with echo). */
export async function readSecretFile(file: string): Promise<string> {
  const text = await readFile(file, 'utf8');
  return text.replace(/\r?\n$/, '');
}
