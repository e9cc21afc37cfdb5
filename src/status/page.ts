/** The status page: one server-rendered HTML page, refreshed every few seconds, no scripts. */
import type { EventEntry } from '../daemon/events.js';
import type { DaemonStatus } from '../daemon/service.js';

const esc = (s: unknown) =>
  String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

function summary(snapshot: Record<string, unknown>): string {
  const text = JSON.stringify(snapshot, null, 1);
  return text.length > 4000 ? `${text.slice(0, 4000)}\n…` : text;
}

export function renderStatusPage(status: DaemonStatus, events: EventEntry[]): string {
  const colour = { ok: '#1a7f37', degraded: '#9a6700', failed: '#cf222e' }[status.overall];
  const rows = status.services
    .map(
      (s) => `<tr><td>${esc(s.name)}${s.optional ? ' <small>(optional)</small>' : ''}</td>
<td class="${esc(s.health.state)}">${esc(s.health.state)}</td><td>${esc(s.health.reason ?? '')}</td>
<td><details><summary>state</summary><pre>${esc(summary(s.snapshot))}</pre></details></td></tr>`,
    )
    .join('\n');
  const ev = events
    .slice(-30)
    .reverse()
    .map(
      (e) =>
        `<tr><td>${esc(e.ts.replace('T', ' ').slice(0, 19))}</td><td>${esc(e.service)}</td><td>${esc(e.sentence)}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>rackwitness ${esc(status.box)}: ${esc(status.overall)}</title>
<style>body{font:14px system-ui,sans-serif;margin:1.5em;max-width:70em}h1{font-size:1.4em}
.banner{padding:.6em 1em;color:#fff;background:${colour};border-radius:4px}
table{border-collapse:collapse;width:100%;margin:1em 0}td,th{border-bottom:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}
.ok{color:#1a7f37}.degraded,.starting{color:#9a6700}.failed,.stopped{color:#cf222e}pre{font-size:12px;margin:0}</style></head>
<body><h1>rackwitness — ${esc(status.box)}${status.demo ? ' (demo: simulated devices)' : ''}</h1>
<div class="banner">${esc(status.overall.toUpperCase())}${status.problems.length ? `: ${esc(status.problems.join('; '))}` : ': every service is healthy'}</div>
<p>version ${esc(status.version)} · up ${esc(status.uptime_s)} s · <a href="/metrics">/metrics</a> · <a href="/status.json">/status.json</a> · <a href="/events.json">/events.json</a></p>
<h2>Services</h2><table><tr><th>service</th><th>health</th><th>why</th><th>details</th></tr>${rows}</table>
<h2>Recent decisions</h2><table><tr><th>time (UTC)</th><th>service</th><th>decision</th></tr>${ev || '<tr><td colspan="3">none yet</td></tr>'}</table>
</body></html>`;
}
