#!/usr/bin/env node
// Prints the benchmark results (bench/results/*.json) as the Markdown table kept in README.md.
import { readdirSync, readFileSync } from 'node:fs';

const dir = 'bench/results';
let files = [];
try {
  files = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
} catch {
  console.error('no bench/results yet: run npm run bench');
  process.exit(1);
}
const ratioText = (r) =>
  typeof r === 'number' && Number.isFinite(r) ? `${r < 10 ? r.toFixed(2) : r.toFixed(1)}×` : '';
const fmt = (v, unit) => (v === undefined || v === null ? '' : `${v}${unit}`);
const out = [
  '| benchmark | ours | peer | peer time | ratio (peer/ours) | target | runs |',
  '|---|---|---|---|---|---|---|',
];
for (const f of files) {
  const r = JSON.parse(readFileSync(`${dir}/${f}`, 'utf8'));
  for (const row of r.rows) {
    const ours =
      row.ours_ms !== undefined
        ? fmt(row.ours_ms, ' ms')
        : row.ours_mb !== undefined
          ? fmt(row.ours_mb, ' MB')
          : fmt(row.ours, '');
    const peerT =
      row.peer_ms !== undefined
        ? fmt(row.peer_ms, ' ms')
        : row.peer_mb !== undefined
          ? fmt(row.peer_mb, ' MB')
          : fmt(row.peer_value, '');
    const target =
      row.target_ms !== undefined
        ? `≤ ${row.target_ms} ms`
        : row.target_mb !== undefined
          ? `≤ ${row.target_mb} MB`
          : (row.target ?? '');
    // rows that carry a verdict (met: true/false) say it next to their target
    const verdict = row.met === true ? ' (met)' : row.met === false ? ' (**missed**)' : '';
    out.push(
      `| ${r.title}: ${row.name} | ${ours} | ${row.peer ?? ''} | ${peerT} | ${ratioText(row.ratio)} | ${target}${verdict} | ${row.runs ?? ''} |`,
    );
  }
}
console.log(out.join('\n'));
