/**
 * Structured logs: JSON lines (journald and log shippers), or one human line per record on a
 * TTY. Every record names its service ("svc"); entity fields follow. Secrets are redacted by key
 * as a second line of defence (they should never reach a log call in the first place).
 */
import { Writable } from 'node:stream';
import { type Logger, pino } from 'pino';

export type LogFormat = 'auto' | 'json' | 'pretty';

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const OMIT = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'svc', 'v']);

/** Renders one pino JSON record as a human line: `12:00:01.123 INFO  fencing: message key=value`. */
export function humanLine(json: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const t = new Date(Number(rec.time ?? Date.now())).toISOString().slice(11, 23);
  const lvl = (LEVELS[Number(rec.level)] ?? String(rec.level)).padEnd(5);
  const svc = rec.svc ? `${String(rec.svc)}: ` : '';
  const extra = Object.entries(rec)
    .filter(([k]) => !OMIT.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${t} ${lvl} ${svc}${String(rec.msg ?? '')}${extra ? ` ${extra}` : ''}\n`;
}

export function createLogger(level: string, format: LogFormat, dest: NodeJS.WritableStream = process.stderr): Logger {
  const pretty = format === 'pretty' || (format === 'auto' && (dest as { isTTY?: boolean }).isTTY === true);
  const opts = {
    level,
    base: undefined,
    redact: {
      paths: ['password', '*.password', 'key', '*.key', 'secret', '*.secret', 'community', '*.community'],
      censor: '[redacted]',
    },
  };
  if (!pretty) return pino(opts, pino.destination({ dest: (dest as { fd?: number }).fd ?? 2, sync: true }));
  const out = new Writable({
    write(chunk, _enc, cb) {
      const lines = chunk.toString('utf8').split('\n').filter(Boolean);
      dest.write(lines.map(humanLine).join(''));
      cb();
    },
  });
  return pino(opts, out);
}
