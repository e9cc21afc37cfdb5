/**
 * The signed request format of the fence agent API, shared by the box (api.ts) and the agent
 * (agent/main.ts). A request carries four headers; the signature is HMAC-SHA256 with the shared
 * key over a canonical string that binds method, path, body, time, nonce and key id:
 *
 *   RW1\n<METHOD>\n<path>\n<sha256 hex of the body>\n<timestamp ms>\n<nonce>\n<key id>
 *
 * The box accepts it once (nonces are kept on disk, fsynced before acting: nonce-store.ts), and
 * only within the clock-skew window.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

export const SCHEME = 'RW1';
export const HEADERS = {
  keyId: 'x-rw-key-id',
  timestamp: 'x-rw-timestamp',
  nonce: 'x-rw-nonce',
  signature: 'x-rw-signature',
} as const;

export const NONCE_RE = /^[0-9a-f]{32,64}$/;
export const MIN_KEY_CHARS = 32;

export function bodyHash(body: string | Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

export function canonical(
  method: string,
  path: string,
  body: string | Buffer,
  ts: string,
  nonce: string,
  keyId: string,
): string {
  return [SCHEME, method.toUpperCase(), path, bodyHash(body), ts, nonce, keyId].join('\n');
}

export function signature(key: Buffer, canon: string): string {
  return createHmac('sha256', key).update(canon).digest('hex');
}

export function signedHeaders(
  key: Buffer,
  keyId: string,
  method: string,
  path: string,
  body: string,
  now = Date.now(),
  nonce = randomBytes(16).toString('hex'),
): Record<string, string> {
  const ts = String(now);
  return {
    [HEADERS.keyId]: keyId,
    [HEADERS.timestamp]: ts,
    [HEADERS.nonce]: nonce,
    [HEADERS.signature]: signature(key, canonical(method, path, body, ts, nonce, keyId)),
  };
}

/** Constant-time comparison of a received hex signature with the expected one. */
export function signatureMatches(key: Buffer, canon: string, received: string): boolean {
  if (!/^[0-9a-f]{64}$/.test(received)) return false;
  const want = Buffer.from(signature(key, canon), 'hex');
  return timingSafeEqual(want, Buffer.from(received, 'hex'));
}

/**
 * Reads a shared key file: the key is the file's content without surrounding whitespace, at
 * least 32 characters. Throws an Error naming the file (never the key).
 */
export function readKeyFile(file: string, opts: { checkMode?: boolean } = {}): Buffer {
  let text: string;
  try {
    if (opts.checkMode) {
      const st = statSync(file);
      if ((st.mode & 0o077) !== 0) {
        throw new Error(
          `key file ${file} is group/other-accessible (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`,
        );
      }
    }
    text = readFileSync(file, 'utf8').trim();
  } catch (e) {
    if (e instanceof Error && e.message.startsWith('key file')) throw e;
    throw new Error(`cannot read key file ${file} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  if (text.length < MIN_KEY_CHARS) throw new Error(`key file ${file} holds fewer than ${MIN_KEY_CHARS} characters`);
  return Buffer.from(text, 'utf8');
}
