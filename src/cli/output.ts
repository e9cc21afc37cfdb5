/**
 * Output helpers shared by the commands: aligned tables for people, one JSON key style
 * (snake_case, as the MQTT feed and the fence journal) for scripts, and a reader-friendly
 * rendering of nested snapshots that never truncates a value.
 */

/** Aligned columns, two spaces apart; the first row is the header. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** "lastRecv" → "last_recv"; keys that are not lower camelCase (ids, names, row codes) stay. */
export function snakeKey(k: string): string {
  return /^[a-z][a-z0-9]*[A-Z][A-Za-z0-9]*$/.test(k) ? k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) : k;
}

/** A deep copy with every lower-camelCase key in snake_case. */
export function snakeKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(snakeKeys);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[snakeKey(k)] = snakeKeys(x);
    return out;
  }
  return v;
}

/** The JSON a `--json` option prints: snake_case keys, two-space indent, one trailing newline. */
export function jsonText(v: unknown): string {
  return `${JSON.stringify(snakeKeys(v), null, 2)}\n`;
}

const isPlain = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const scalar = (v: unknown): boolean => v === null || typeof v !== 'object';

function cell(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (Array.isArray(v) && v.every(scalar)) return v.length ? v.map(cell).join(', ') : '-';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Flattens nested objects into dotted keys ({a: {b: 1}} → {"a.b": 1}); arrays stay values. */
function flatten(o: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) continue;
    if (isPlain(v) && Object.keys(v).length) Object.assign(out, flatten(v, `${prefix}${k}.`));
    else out[`${prefix}${k}`] = v;
  }
  return out;
}

/** A list of records as a table whose columns are the union of their (flattened) keys. */
function recordsTable(records: Record<string, unknown>[], first?: { title: string; keys: string[] }): string {
  const flat = records.map((r) => flatten(r));
  const cols: string[] = [];
  for (const f of flat) for (const k of Object.keys(f)) if (!cols.includes(k)) cols.push(k);
  const rows = [[...(first ? [first.title] : []), ...cols.map((c) => c.toUpperCase())]];
  flat.forEach((f, i) => {
    rows.push([...(first ? [first.keys[i] ?? ''] : []), ...cols.map((c) => cell(f[c]))]);
  });
  return table(rows);
}

/**
 * A service snapshot for people: scalars as aligned "key: value" lines, lists of records and maps
 * of records (targets, devices, nodes...) as tables, everything else one level deeper. Nothing is
 * cut short; `--json` has the same data for scripts.
 */
export function renderDetails(v: unknown, indent = '  '): string[] {
  if (!isPlain(v)) return [`${indent}${cell(v)}`];
  const lines: string[] = [];
  const simple: Array<[string, unknown]> = [];
  const flushSimple = () => {
    if (!simple.length) return;
    const w = Math.max(...simple.map(([k]) => k.length)) + 1;
    for (const [k, x] of simple) lines.push(`${indent}${`${k}:`.padEnd(w)} ${cell(x)}`);
    simple.length = 0;
  };
  for (const [k, x] of Object.entries(v)) {
    if (x === undefined) continue;
    const isRecords = Array.isArray(x) && x.length > 0 && x.every(isPlain);
    const mapOfRecords = isPlain(x) && Object.keys(x).length > 0 && Object.values(x).every(isPlain);
    const records = isRecords
      ? (x as Record<string, unknown>[])
      : mapOfRecords
        ? (Object.values(x) as Record<string, unknown>[])
        : [];
    if (scalar(x) || (Array.isArray(x) && x.every(scalar)) || (isPlain(x) && !Object.keys(x).length)) {
      simple.push([k, x]);
    } else if (records.some(nested)) {
      // records that hold lists of records (a target's levels): one section each
      flushSimple();
      const names = mapOfRecords
        ? Object.keys(x as object)
        : records.map((r, i) => (typeof r.name === 'string' ? r.name : String(i + 1)));
      records.forEach((r, i) => {
        lines.push(`${indent}${k} ${names[i]}:`, ...renderDetails(r, `${indent}  `));
      });
    } else if (isRecords) {
      flushSimple();
      lines.push(`${indent}${k}:`, ...indentBlock(recordsTable(x as Record<string, unknown>[]), `${indent}  `));
    } else if (mapOfRecords) {
      flushSimple();
      const keys = Object.keys(x);
      lines.push(
        `${indent}${k}:`,
        ...indentBlock(recordsTable(Object.values(x) as Record<string, unknown>[], { title: '', keys }), `${indent}  `),
      );
    } else if (isPlain(x) && nested(x)) {
      // an object holding lists of records (the pgsql rack): a section of its own
      flushSimple();
      lines.push(`${indent}${k}:`, ...renderDetails(x, `${indent}  `));
    } else if (isPlain(x)) {
      for (const [fk, fv] of Object.entries(flatten(x))) simple.push([`${k}.${fk}`, fv]);
    } else {
      simple.push([k, x]);
    }
  }
  flushSimple();
  return lines;
}

/** A record holding a list of records somewhere (too deep for one table row). */
function nested(r: Record<string, unknown>): boolean {
  return Object.values(flatten(r)).some((v) => Array.isArray(v) && !v.every(scalar));
}

function indentBlock(text: string, indent: string): string[] {
  return text.split('\n').map((l) => `${indent}${l}`);
}
