/**
 * Byte framing for a PDU console: bytes in, frames out. A frame is a complete line (ended by CR,
 * LF, CRLF or LFCR) or a prompt: text the device left without a line end that looks like one of
 * the prompt patterns ("User Name : ", "Password  : ", "apc>"). Nothing here knows what a line
 * means; that is the request/response and policy layers' job.
 */
import { Transform, type TransformCallback } from 'node:stream';

export interface Frame {
  kind: 'line' | 'prompt';
  text: string;
}

/** Prompts of the APC console (AOS v5+ CLI and its login); `>` also covers old menu prompts. */
export const APC_PROMPTS: readonly RegExp[] = [/User Name\s*:\s*$/i, /Password\s*:\s*$/i, /(?:^|\s)[\w.-]*>\s*$/];

/** Longest line kept; a device that streams without line ends is cut here (and reported as a line). */
const MAX_LINE = 4096;

export class ConsoleFramer extends Transform {
  private buf = '';
  private lastEol = '';

  constructor(private readonly prompts: readonly RegExp[] = APC_PROMPTS) {
    super({ readableObjectMode: true });
  }

  override _transform(chunk: Buffer | string, _enc: BufferEncoding, cb: TransformCallback): void {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('latin1');
    for (const ch of text) {
      if (ch === '\r' || ch === '\n') {
        // CRLF / LFCR pairs end one line; CRCR or LFLF are two (empty lines are dropped anyway).
        if (this.buf === '' && this.lastEol !== '' && this.lastEol !== ch) {
          this.lastEol = '';
          continue;
        }
        this.lastEol = ch;
        this.emitLine();
        continue;
      }
      this.lastEol = '';
      if (ch === '\0' || ch === '\x11' || ch === '\x13') continue; // NUL padding, XON/XOFF
      if (ch === '\b' || ch === '\x7f') {
        this.buf = this.buf.slice(0, -1);
        continue;
      }
      this.buf += ch;
      if (this.buf.length >= MAX_LINE) this.emitLine();
    }
    if (this.buf !== '' && this.prompts.some((re) => re.test(this.buf))) {
      this.push({ kind: 'prompt', text: this.buf.trim() } satisfies Frame);
      this.buf = '';
    }
    cb();
  }

  override _flush(cb: TransformCallback): void {
    this.emitLine();
    cb();
  }

  /** Drops a partial line (used when a new session starts on a fresh port). */
  reset(): void {
    this.buf = '';
    this.lastEol = '';
  }

  private emitLine(): void {
    const line = this.buf.replace(/\s+$/, '');
    this.buf = '';
    if (line !== '') this.push({ kind: 'line', text: line } satisfies Frame);
  }
}
