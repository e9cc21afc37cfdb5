/**
 * The one shape of a decision table. A table is rows with an id, a comment, a condition and an
 * outcome; `decideBy` picks the first row that matches the snapshot (within the snapshot's phase,
 * when the table has phases) and returns the row id, the outcome and a one-sentence reason.
 *
 * Rules a table keeps (checked by `checkTable`, which every table's test calls):
 * - ids are unique, lower-case, dotted (`guard.requester-reads-off`);
 * - every row has a comment saying why it exists;
 * - each phase (or the whole table, without phases) ends with exactly one catch-all row
 *   (`when` omitted), and a catch-all is only ever the last row of its phase.
 *
 * Pure: no clock, no I/O. Every input a decision needs (the time, a guard verdict, observer data)
 * is in the snapshot. `tableMarkdown` renders the rows for the docs, which are generated from the
 * rows (see src/decisions/registry.ts and docs/tables.md).
 */

export interface TableRow<S, O> {
  /** Stable id: tests, the events log and the docs refer to the row by it. */
  readonly id: string;
  /** Why the row exists, in one or two sentences (rendered into the docs). */
  readonly comment: string;
  /** Phase the row belongs to, for tables of a state machine with phases. */
  readonly phase?: string;
  /** The condition; omitted for the catch-all row of a phase (always matches). */
  readonly when?: (s: S) => boolean;
  /** What to do. */
  readonly outcome: (s: S) => O;
  /** The one-sentence reason that goes to the events log. */
  readonly reason: (s: S) => string;
}

export interface DecisionTable<S, O> {
  /** Name of the table (docs heading, error messages). */
  readonly name: string;
  /** One paragraph for the docs: what the table decides and when it is consulted. */
  readonly summary: string;
  /** The phases in order; absent for a table without phases. */
  readonly phases?: readonly string[];
  /** The phase of a snapshot (required when `phases` is set). */
  readonly phaseOf?: (s: S) => string;
  readonly rows: readonly TableRow<S, O>[];
  /** Optional: a short text of the outcome for the docs (e.g. the verdict of a constant outcome). */
  readonly outcomeLabel?: (row: TableRow<S, O>) => string;
}

export interface TableDecision<O> {
  /** Id of the row that matched. */
  readonly row: string;
  readonly outcome: O;
  readonly reason: string;
}

/** Picks the first matching row (of the snapshot's phase). Throws when a table has no row for it:
 * `checkTable` makes that impossible for a well-formed table. */
export function decideBy<S, O>(table: DecisionTable<S, O>, s: NoInfer<S>): TableDecision<O> {
  const phase = table.phaseOf?.(s);
  for (const row of table.rows) {
    if (phase !== undefined && row.phase !== phase) continue;
    if (row.when === undefined || row.when(s)) {
      return { row: row.id, outcome: row.outcome(s), reason: row.reason(s) };
    }
  }
  throw new Error(
    `decision table ${table.name} has no row for ${phase === undefined ? 'this snapshot' : `phase ${phase}`}`,
  );
}

const ID = /^[a-z0-9]+(?:[.-][a-z0-9]+)*$/;

/** Well-formedness problems of a table, one sentence each; empty when the table is well formed. */
export function checkTable<S, O>(table: DecisionTable<S, O>): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const row of table.rows) {
    if (!ID.test(row.id)) problems.push(`${table.name}: row id "${row.id}" is not lower-case dotted words`);
    if (seen.has(row.id)) problems.push(`${table.name}: row id "${row.id}" is used twice`);
    seen.add(row.id);
    if (row.comment.trim().length < 10) problems.push(`${table.name}: row ${row.id} has no comment`);
  }
  const phases: readonly (string | undefined)[] = table.phases ?? [undefined];
  if (table.phases !== undefined && table.phaseOf === undefined) {
    problems.push(`${table.name}: a table with phases needs phaseOf`);
  }
  for (const row of table.rows) {
    if (table.phases === undefined && row.phase !== undefined) {
      problems.push(`${table.name}: row ${row.id} names phase ${row.phase} but the table has no phases`);
    }
    if (table.phases !== undefined && (row.phase === undefined || !table.phases.includes(row.phase))) {
      problems.push(
        `${table.name}: row ${row.id} has phase ${row.phase ?? '(none)'}, not one of ${table.phases.join(', ')}`,
      );
    }
  }
  for (const phase of phases) {
    const rows = table.rows.filter((r) => r.phase === phase);
    const where = phase === undefined ? '' : ` phase ${phase}`;
    if (rows.length === 0) {
      problems.push(`${table.name}:${where} has no rows`);
      continue;
    }
    const catchAlls = rows.filter((r) => r.when === undefined);
    const last = rows[rows.length - 1];
    if (catchAlls.length !== 1 || last?.when !== undefined) {
      problems.push(`${table.name}:${where} must end with exactly one catch-all row (a row without when)`);
    }
  }
  return problems;
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');

/** The rows as a Markdown table (id, phase when present, outcome label when given, comment). */
export function tableMarkdown<S, O>(table: DecisionTable<S, O>): string {
  const withPhase = table.phases !== undefined;
  const withOutcome = table.outcomeLabel !== undefined;
  const head = ['row', ...(withPhase ? ['phase'] : []), ...(withOutcome ? ['outcome'] : []), 'when / why'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const row of table.rows) {
    const cols = [
      `\`${row.id}\`${row.when === undefined ? ' (catch-all)' : ''}`,
      ...(withPhase ? [row.phase ?? ''] : []),
      ...(withOutcome ? [table.outcomeLabel?.(row) ?? ''] : []),
      cell(row.comment),
    ];
    lines.push(`| ${cols.join(' | ')} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** A row written with a constant outcome `out` (the docs can print it in the outcome column). */
export type ConstantRow<S, O> = Omit<TableRow<S, O>, 'outcome'> & { readonly out: O };

/**
 * Rows whose outcome is a constant, as table rows plus an `outcomeLabel` that prints each row's
 * outcome with `label`: `{ name, summary, ...constantOutcomes(rows, label) }`.
 */
export function constantOutcomes<S, O>(
  rows: readonly ConstantRow<S, O>[],
  label: (out: O) => string,
): Pick<DecisionTable<S, O>, 'rows' | 'outcomeLabel'> {
  const labels = new Map(rows.map((r) => [r.id, label(r.out)]));
  return {
    rows: rows.map(({ out, ...r }) => ({ ...r, outcome: () => out })),
    outcomeLabel: (row) => labels.get(row.id) ?? '',
  };
}
