/**
 * Every decision table of the box, in one list: docs/tables.md is generated from it
 * (`npm run docs`, or `rackwitness tables docs`), a golden test keeps that file current, and a test
 * runs `checkTable` over every entry. A new table is added here, and nowhere else needs to know.
 */
import { voteTable } from '../arbitrator/vote.js';
import { arbitrationTable } from '../fencing/decisions/arbitration.js';
import { fencingTable, guardTable } from '../fencing/decisions/core.js';
import { LOGIN_TABLE } from '../fencing/devices/pdu-serial/apc-cli.js';
import { heuristicsTable } from '../pgsql/core/heuristics.js';
import { TRANSITION_TABLE } from '../pgsql/core/notify.js';
import { REJOIN_TABLE } from '../pgsql/core/rejoin.js';
import { BOOTSTRAP_TABLE, LONE_STANDBY_TABLE } from '../pgsql/core/scores.js';
import { STATE_TABLE } from '../pgsql/core/state.js';
import { SWITCHOVER_TABLE } from '../pgsql/core/switchover.js';
import { qdeviceTable } from '../qdevice/state.js';
import { gateTable } from '../watchdog/gate.js';
import { checkTable, type DecisionTable, tableMarkdown } from './table.js';

/** One table as the docs and checks see it (the row types stay with the table's module). */
export interface RegisteredTable {
  readonly name: string;
  /** Source file of the rows, relative to the repository root. */
  readonly source: string;
  /** The functions that consult the table (shown in the docs). */
  readonly consultedBy: readonly string[];
  readonly summary: string;
  readonly rowIds: readonly string[];
  markdown(): string;
  problems(): string[];
}

function entry<S, O>(table: DecisionTable<S, O>, source: string, ...consultedBy: string[]): RegisteredTable {
  return {
    name: table.name,
    source,
    consultedBy,
    summary: table.summary,
    rowIds: table.rows.map((r) => r.id),
    markdown: () => tableMarkdown(table),
    problems: () => checkTable(table),
  };
}

export const TABLES: readonly RegisteredTable[] = [
  entry(fencingTable, 'src/fencing/decisions/core.ts', 'decide()'),
  entry(guardTable, 'src/fencing/decisions/core.ts', 'admit()'),
  entry(arbitrationTable, 'src/fencing/decisions/arbitration.ts', 'arbitrate()'),
  entry(voteTable, 'src/arbitrator/vote.ts', 'decide()', 'tick()'),
  entry(STATE_TABLE, 'src/pgsql/core/state.ts', 'classifyInstance()'),
  entry(TRANSITION_TABLE, 'src/pgsql/core/notify.ts', 'classifyTransition()'),
  entry(SWITCHOVER_TABLE, 'src/pgsql/core/switchover.ts', 'checkSwitchover()'),
  entry(REJOIN_TABLE, 'src/pgsql/core/rejoin.ts', 'decideRejoin()'),
  entry(BOOTSTRAP_TABLE, 'src/pgsql/core/scores.ts', 'decideBootstrap()'),
  entry(LONE_STANDBY_TABLE, 'src/pgsql/core/scores.ts', 'decideLoneStandby()'),
  entry(heuristicsTable, 'src/pgsql/core/heuristics.ts', 'heuristicsVerdict()'),
  entry(qdeviceTable, 'src/qdevice/state.ts', 'qdeviceHealth()'),
  entry(gateTable, 'src/watchdog/gate.ts', 'decideFeed()'),
  entry(LOGIN_TABLE, 'src/fencing/devices/pdu-serial/apc-cli.ts', 'login()'),
];

/** Heading anchor of a table in docs/tables.md (GitHub's slug of the heading). */
export function tableAnchor(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, '')
    .replace(/ /g, '-');
}

/** docs/tables.md: every table, its summary and its rows, generated from the rows themselves. */
export function tablesDocs(): string {
  const out = [
    '# Decision tables',
    '',
    '<!-- Generated from src/decisions/registry.ts by `npm run docs` (rackwitness tables docs). Do not edit by hand: a test fails when this file is stale. -->',
    '',
    'Every decision the box takes is a table of rows (src/decisions/table.ts): within the phase of the',
    'snapshot, the first row whose condition holds decides, and the last row of each phase is its',
    'catch-all. The row id is what the events log, the metrics and the tests name. Conditions and',
    'outcomes are code; the text below is each row’s comment.',
    '',
    ...TABLES.map((t) => `- [${t.name}](#${tableAnchor(t.name)}) (\`${t.source}\`, ${t.rowIds.length} rows)`),
    '',
  ];
  for (const t of TABLES) {
    out.push(
      `## ${t.name}`,
      '',
      `Rows in \`${t.source}\`, consulted by ${t.consultedBy.map((f) => `\`${f}\``).join(' and ')}.`,
      '',
      t.summary,
      '',
    );
    out.push(t.markdown());
  }
  return `${out.join('\n').replace(/\n+$/, '')}\n`;
}
