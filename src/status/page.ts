/**
 * The status page: the rack view (rack-view.ts) as one server-rendered HTML page a person reads in
 * five seconds. Everything is inline (CSS and one small script, both pinned by the
 * Content-Security-Policy hashes below): no external resources, nothing fetched but the page
 * itself. It works without JavaScript (a <noscript> meta refresh; `?open=` keeps sections open
 * across those reloads); with JavaScript the script refetches the page every few seconds and
 * swaps the content in place, keeping every open section open and the scroll position. Every
 * value is escaped.
 */
import { createHash } from 'node:crypto';
import { snakeKeys } from '../cli/output.js';
import type { EventEntry } from '../daemon/events.js';
import type { DaemonStatus } from '../daemon/service.js';
import { bytes, type NodeView, type RackView, rackAlerts, rackView, span, type Tone, when } from './rack-view.js';

/** Seconds between refreshes (script and no-script fallback). */
export const REFRESH_S = 5;

export const esc = (s: unknown): string =>
  String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

const CSS = `:root{--ok:#1a7f37;--okbg:#dafbe1;--warn:#7d4e00;--warnbg:#fff8c5;--bad:#cf222e;--badbg:#ffebe9;--idle:#57606a;--line:#d0d7de}
*{box-sizing:border-box}body{font:15px/1.4 system-ui,"DejaVu Sans",sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
main{max-width:78em;margin:0 auto;padding:1em 1.5em}header{display:flex;justify-content:space-between;align-items:baseline;flex-wrap:wrap;gap:.5em}
h1{font-size:1.35em;margin:.2em 0}h1 small{font-weight:normal;color:var(--idle);font-size:.7em}h2{font-size:1.05em;margin:0 0 .5em;text-transform:uppercase;letter-spacing:.04em;color:#424a53}
h3{font-size:1.25em;margin:0 0 .4em;display:flex;gap:.5em;align-items:center;flex-wrap:wrap}h4{margin:.8em 0 .3em;font-size:.95em}
.meta{color:var(--idle);margin:0}.banner{padding:.7em 1em;border-radius:6px;margin:.6em 0;font-size:1.15em;border-width:2px;border-style:solid}
.banner strong{font-size:1.3em;margin-right:.5em}.banner ul{margin:.3em 0 0;padding-left:1.2em;font-size:.9em}
.tone-ok{border-color:var(--ok)}.tone-warn{border-color:#d4a72c}.tone-bad{border-color:var(--bad)}.tone-idle{border-color:var(--line)}
.banner.tone-ok{background:var(--okbg)}.banner.tone-warn,.alert.tone-warn{background:var(--warnbg)}.banner.tone-bad,.alert.tone-bad{background:var(--badbg)}
.alert{padding:.6em 1em;border-radius:6px;margin:.6em 0;border-width:2px;border-style:solid;font-weight:600}
section{background:#fff;border:1px solid var(--line);border-radius:6px;padding:.8em 1em;margin:.8em 0}
.nodes{display:grid;grid-template-columns:repeat(auto-fit,minmax(22em,1fr));gap:.8em}
.node{border-width:2px;border-style:solid;border-radius:6px;padding:.7em .9em;background:#fff}
.node dl{display:grid;grid-template-columns:max-content 1fr;gap:.15em .8em;margin:0}.node dt{color:var(--idle)}.node dd{margin:0}
.badge{font-size:.7em;font-weight:700;padding:.15em .5em;border-radius:1em;border:1px solid;letter-spacing:.03em;white-space:nowrap}
.b-ok{color:var(--ok);background:var(--okbg)}.b-warn{color:var(--warn);background:var(--warnbg)}.b-bad{color:#fff;background:var(--bad);border-color:var(--bad)}.b-idle{color:var(--idle);background:#f6f8fa}
.panels{display:grid;grid-template-columns:repeat(auto-fit,minmax(22em,1fr));gap:0 .8em}.panels>section{margin:.4em 0}
.big{font-size:1.2em;font-weight:700;margin:.1em 0 .3em}.t-ok{color:var(--ok)}.t-warn{color:var(--warn)}.t-bad{color:var(--bad)}.t-idle{color:var(--idle)}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #eaeef2;padding:.25em .5em;text-align:left;vertical-align:top}th{font-size:.85em;color:var(--idle);font-weight:600}
td.when,td.name{white-space:nowrap}td.when{color:var(--idle)}.muted{color:var(--idle)}
details{border-top:1px solid #eaeef2;padding:.3em 0}summary{cursor:pointer;font-weight:600}details table{font-size:.9em;margin:.3em 0;width:auto}
details th{font-weight:normal}table.kv th{padding-right:2em}.wide{overflow-x:auto;max-width:100%}details details,details h4{margin-left:.5em}
#lost{position:sticky;top:0;z-index:1;margin:0;padding:.5em 1.5em;background:var(--bad);color:#fff;font-weight:700}
footer{color:var(--idle);font-size:.9em;margin:1em 0}footer a{color:inherit}`;

/**
 * Refetches the page, swaps <main id="rack"> and restores the open/closed state of every
 * <details> by id, and the scroll position. A failed fetch raises the "no answer" bar and keeps
 * the last content; the next answer lowers it. data-refreshes counts the swaps (tests wait on it).
 */
const SCRIPT = `(function(){var every=${REFRESH_S * 1000},n=0;var lost=document.getElementById('lost');
function tick(){fetch(location.pathname+location.search,{cache:'no-store'}).then(function(r){if(!r.ok)throw new Error('HTTP '+r.status);return r.text();}).then(function(html){
var doc=new DOMParser().parseFromString(html,'text/html');var fresh=doc.getElementById('rack');var cur=document.getElementById('rack');if(!fresh||!cur)throw new Error('not a status page');
var open={};cur.querySelectorAll('details[id]').forEach(function(d){open[d.id]=d.open;});
fresh.querySelectorAll('details[id]').forEach(function(d){if(Object.prototype.hasOwnProperty.call(open,d.id))d.open=open[d.id];});
var x=window.scrollX,y=window.scrollY;cur.replaceWith(document.adoptNode(fresh));window.scrollTo(x,y);document.title=doc.title;
lost.hidden=true;document.documentElement.setAttribute('data-refreshes',String(++n));
}).catch(function(e){if(lost.hidden){lost.textContent='No answer from the box since '+new Date().toISOString().slice(11,19)+' UTC ('+e.message+'): what you see is the last state it reported.';lost.hidden=false;}
}).then(function(){setTimeout(tick,every);});}
setTimeout(tick,every);})();`;

const hash = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;

/** The Content-Security-Policy the page is served with: nothing but its own inline CSS/script and fetches of itself. */
export const PAGE_CSP = [
  "default-src 'none'",
  `style-src ${hash(CSS)}`,
  `script-src ${hash(SCRIPT)}`,
  "connect-src 'self'",
  "img-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export interface PageOptions {
  /** ids of <details> elements rendered open (the `?open=` query, for the no-script refresh). */
  open?: ReadonlySet<string>;
  now?: Date;
}

/** `?open=a,b` → the ids it names (unknown characters dropped, at most 50). */
export function openFromQuery(query: URLSearchParams): Set<string> {
  return new Set(
    query
      .getAll('open')
      .flatMap((v) => v.split(','))
      .filter((id) => /^[a-z0-9-]{1,80}$/.test(id))
      .slice(0, 50),
  );
}

const badge = (text: string, tone: Tone) => `<span class="badge b-${tone}">${esc(text)}</span>`;
const t = (text: string, tone: Tone) => `<span class="t-${tone}">${esc(text)}</span>`;
const OVERALL_TONE: Record<DaemonStatus['overall'], Tone> = { ok: 'ok', degraded: 'warn', failed: 'bad' };
const idOf = (s: string) => s.toLowerCase().replace(/[^a-z0-9-]/g, '-');

export function renderStatusPage(status: DaemonStatus, events: EventEntry[], opts: PageOptions = {}): string {
  const now = opts.now ?? new Date();
  const v = rackView(status, events, now);
  const open = opts.open ?? new Set<string>();
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<noscript><meta http-equiv="refresh" content="${REFRESH_S}"></noscript>
<title>${esc(v.overall.toUpperCase())} · rackwitness ${esc(v.box)}</title>
<style>${CSS}</style></head>
<body><p id="lost" role="alert" hidden></p>
<main id="rack" data-overall="${esc(v.overall)}">
<header><h1>rackwitness · ${esc(v.box)}${v.demo ? ' <small>demo: simulated devices</small>' : ''}</h1>
<p class="meta">read at ${esc(now.toISOString().slice(11, 19))} UTC · refreshes every ${REFRESH_S} s · up ${esc(span(v.uptime_s))} · version ${esc(v.version)}</p></header>
${banner(v)}${alerts(v, now)}
<section id="nodes"><h2>Nodes</h2><div class="nodes">${v.nodes.map((n) => nodeCard(n, now)).join('\n') || '<p class="muted">No node is configured (no fencing targets, no PostgreSQL nodes).</p>'}</div>
${v.pg ? `<p id="pg-summary" class="t-${v.pg.tone}">PostgreSQL${v.pg.simulated ? ' (simulated)' : ''}: ${esc(v.pg.summary ?? 'no observation yet')}</p>` : ''}</section>
<div class="panels">${tickets(v, now)}${watchdog(v)}${quorum(v)}</div>
<div class="panels">${devices(v, now)}${services(v)}</div>
${decisions(v)}
<section id="details"><h2>Everything the box reports</h2>
${status.services.map((s) => serviceDetails(s.name, s.health.state, s.snapshot, open)).join('\n')}</section>
<footer><a href="/status.json">/status.json</a> · <a href="/events.json">/events.json</a> · <a href="/metrics">/metrics</a> · <code>rackwitness status</code> and <code>rackwitness events</code> on the box say the same</footer>
</main>
<script>${SCRIPT}</script>
</body></html>`;
}

function banner(v: RackView): string {
  const tone = OVERALL_TONE[v.overall];
  const body = v.problems.length
    ? `<ul>${v.problems.map((p) => `<li>${esc(p)}</li>`).join('')}</ul>`
    : 'every service is healthy';
  return `<div id="overall" class="banner tone-${tone}" role="status"><strong>${esc(v.overall.toUpperCase())}</strong> ${body}</div>`;
}

function alerts(v: RackView, now: Date): string {
  return rackAlerts(v, now)
    .map((a) => `<div class="alert tone-${a.tone}" data-alert="${a.kind}">${esc(a.text)}</div>`)
    .join('\n');
}

const POWER_TONE: Record<string, Tone> = { on: 'ok', off: 'warn', unknown: 'bad' };
const ROLE_TONE: Record<string, Tone> = { primary: 'ok', standby: 'ok', down: 'bad', unknown: 'warn' };

function nodeCard(n: NodeView, now: Date): string {
  const rows: string[] = [];
  const row = (k: string, html: string) => rows.push(`<dt>${esc(k)}</dt><dd>${html}</dd>`);
  if (n.fenced_by_box) {
    const how =
      n.power_how === 'verified-off' ? 'verified off by a fence' : n.power_how === 'powered-on' ? 'powered on' : 'read';
    const read = `${t(n.power ?? 'unknown', POWER_TONE[n.power ?? 'unknown'] ?? 'bad')}`;
    row(
      'Power',
      n.power === 'unknown'
        ? `${read} · the last read failed ${esc(when(n.power_at, now))}${n.power_known ? `<br><span class="muted">last known: ${esc(n.power_known)} (${esc(how)})</span>` : ''}`
        : `${read} · ${esc(how)} ${esc(when(n.power_at, now))}`,
    );
    if (n.fencing)
      row(
        'Fencing now',
        t(
          n.fencing.stage === 'fence'
            ? `${n.fencing.action} running since ${when(n.fencing.since, now)}`
            : `${n.fencing.action} answered; power-on ${n.fencing.power_on_due ? `due ${when(n.fencing.power_on_due, now)}` : 'being verified'}`,
          n.fencing.stage === 'fence' ? 'bad' : 'warn',
        ),
      );
    const f = n.last_fence;
    row(
      'Last fence',
      f
        ? `${esc(f.action)} ${t(f.result.toUpperCase(), f.result === 'success' ? 'ok' : 'bad')} ${esc(when(f.at, now))}${f.level !== null ? ` · level ${esc(f.level)}` : ''}${f.duration_ms !== null ? ` · ${esc((f.duration_ms / 1000).toFixed(1))} s` : ''}${f.power_on ? ` · power-on ${t(f.power_on, f.power_on === 'success' ? 'ok' : f.power_on === 'running' ? 'warn' : 'bad')}` : ''}${f.verified_by ? `<br><span class="muted">verified: ${esc(f.verified_by)}</span>` : ''}`
        : '<span class="muted">no fence in the journal</span>',
    );
  } else {
    row('Power', '<span class="muted">not fenced by this box</span>');
  }
  if (n.pg) {
    const p = n.pg;
    row(
      'PostgreSQL',
      `${t(p.role, ROLE_TONE[p.role] ?? 'warn')}${p.timeline !== null ? ` · timeline ${esc(p.timeline)}` : ''}${p.reason ? `<br><span class="muted">${esc(p.reason)}</span>` : ''}`,
    );
    if (p.role === 'standby')
      row(
        'Lag',
        `${esc(bytes(p.lag_bytes))}${p.lag_seconds !== null ? ` · ${esc(p.lag_seconds)} s` : ''} · ${p.streaming ? esc(`streaming${p.sync ? ` (${p.sync})` : ''}`) : t('not streaming', 'bad')}`,
      );
    row(
      'Promotion score',
      `${esc(p.score ?? '-')}${p.score_reason ? ` <span class="muted">— ${esc(p.score_reason)}</span>` : ''}`,
    );
  } else {
    row('PostgreSQL', '<span class="muted">not observed by this box</span>');
  }
  const badges = [
    n.pg ? badge(n.pg.role.toUpperCase(), ROLE_TONE[n.pg.role] ?? 'warn') : '',
    n.fenced_by_box
      ? badge(`POWER ${(n.power ?? 'unknown').toUpperCase()}`, POWER_TONE[n.power ?? 'unknown'] ?? 'bad')
      : '',
    n.fencing
      ? badge(n.fencing.stage === 'fence' ? 'FENCING' : 'FENCED', n.fencing.stage === 'fence' ? 'bad' : 'warn')
      : '',
  ].join(' ');
  return `<article class="node tone-${n.tone}" id="node-${esc(idOf(n.name))}" data-node="${esc(n.name)}"><h3>${esc(n.name)} ${badges}</h3><dl>${rows.join('')}</dl></article>`;
}

function tickets(v: RackView, now: Date): string {
  if (!v.tickets) return '';
  const rows = v.tickets.map(
    (k) =>
      `<tr data-ticket="${esc(k.name)}"><td><strong>${esc(k.name)}</strong></td><td>${t(k.holder ? `${k.holder}${k.holder_kind ? ` (${k.holder_kind})` : ''}` : 'nobody', k.tone)}</td><td>${esc(k.state)}</td><td>${k.expires_in_s !== null ? esc(`in ${span(k.expires_in_s)}`) : '-'}</td><td>${esc(k.term ?? '-')}</td></tr>`,
  );
  return `<section id="tickets"><h2>Tickets</h2><table><tr><th>ticket</th><th>holder</th><th>state</th><th>expires</th><th>term</th></tr>${rows.join('') || '<tr><td colspan="5" class="muted">no tickets configured</td></tr>'}</table>${
    v.booth_peers.length
      ? `<p class="muted">booth peers: ${v.booth_peers.map((p) => `${esc(p.type)} ${esc(p.address)} ${p.last_heard ? `heard ${esc(when(p.last_heard, now))}` : t('never heard', 'warn')}`).join(' · ')}</p>`
      : ''
  }</section>`;
}

function watchdog(v: RackView): string {
  const w = v.watchdog;
  if (!w) return '';
  const head = w.feeding === null ? t('UNKNOWN', 'warn') : w.feeding ? t('FEEDING', w.tone) : t('NOT FEEDING', 'bad');
  const dev =
    w.mode === 'off'
      ? 'no hardware watchdog (mode off)'
      : `${w.device ?? '?'} · mode ${w.mode}${w.timeout_s !== null ? ` · timeout ${w.timeout_s} s` : ''}`;
  return `<section id="watchdog"><h2>Watchdog</h2><p class="big">${head}</p><p><span class="muted">why:</span> ${esc(w.reason)}</p>
<p class="muted">${esc(dev)}${w.last_feed_age_s !== null ? ` · last fed ${esc(w.last_feed_age_s.toFixed(1))} s ago` : ''}${w.gated_services.length ? ` · fed only while ${esc(w.gated_services.join(', '))} are healthy` : ''}</p>${w.problem ? `<p class="t-bad">${esc(w.problem)}</p>` : ''}</section>`;
}

function quorum(v: RackView): string {
  if (!v.quorum) return '';
  const s = v.quorum.service;
  return `<section id="quorum"><h2>Quorum device</h2><p class="big">${t(s.health.state.toUpperCase(), v.quorum.tone)}</p>${s.health.reason ? `<p>${esc(s.health.reason)}</p>` : ''}${snapshotHtml(snakeKeys(s.snapshot))}</section>`;
}

function devices(v: RackView, now: Date): string {
  if (!v.devices.length) return '';
  const rows = v.devices.map(
    (d) =>
      `<tr data-device="${esc(d.name)}"><td class="name">${esc(d.name)}</td><td>${esc(d.family)}</td><td>${d.up === null ? t('not checked yet', 'idle') : d.up ? t('answers', 'ok') : t('DOWN', 'bad')}${d.error && !d.up ? `<br><span class="muted">${esc(d.error)}</span>` : ''}</td><td class="when">${esc(when(d.checked, now))}</td></tr>`,
  );
  return `<section id="devices"><h2>Power devices</h2><table><tr><th>device</th><th>family</th><th>reachability</th><th>checked</th></tr>${rows.join('')}</table></section>`;
}

function services(v: RackView): string {
  const rows = v.services.map(
    (s) =>
      `<tr data-service="${esc(s.name)}"><td>${esc(s.name)}${s.optional ? ' <small>(optional)</small>' : ''}</td><td>${t(s.state, s.tone)}</td><td>${esc(s.reason ?? '')}</td></tr>`,
  );
  return `<section id="services"><h2>Services</h2><table><tr><th>service</th><th>health</th><th>why</th></tr>${rows.join('')}</table></section>`;
}

function decisions(v: RackView): string {
  const rows = v.events.map((e) => {
    const action = e.data?.action;
    const tone: Tone = /FAILED|refused|not feeding|does not answer|never finished/i.test(e.sentence)
      ? 'bad'
      : action === 'off' || action === 'reboot' || e.kind.startsWith('fence.power-on')
        ? 'warn'
        : 'idle';
    return `<tr><td class="when">${esc(e.ts.replace('T', ' ').slice(0, 19))}</td><td>${esc(e.service)}</td><td${tone === 'idle' ? '' : ` class="t-${tone}"`}>${esc(e.sentence)}</td></tr>`;
  });
  return `<section id="decisions"><h2>Recent decisions</h2><table><tr><th>time (UTC)</th><th>service</th><th>decision</th></tr>${rows.join('\n') || '<tr><td colspan="3" class="muted">none yet</td></tr>'}</table></section>`;
}

function serviceDetails(
  name: string,
  state: string,
  snapshot: Record<string, unknown>,
  open: ReadonlySet<string>,
): string {
  const id = `svc-${idOf(name)}`;
  const keep = [...new Set([...open, id])].join(',');
  return `<details id="${esc(id)}"${open.has(id) ? ' open' : ''}><summary>${esc(name)} <span class="muted">— ${esc(state)}</span></summary>
<noscript><p><a href="?open=${esc(encodeURIComponent(keep))}">keep this section open across refreshes</a></p></noscript>
${snapshotHtml(snakeKeys(snapshot))}</details>`;
}

const isPlain = (x: unknown): x is Record<string, unknown> => !!x && typeof x === 'object' && !Array.isArray(x);
const isScalar = (x: unknown) => x === null || typeof x !== 'object';

function cellHtml(x: unknown): string {
  if (x === null || x === undefined) return '-';
  if (typeof x === 'boolean') return x ? 'yes' : 'no';
  if (Array.isArray(x) && x.every(isScalar)) return x.length ? esc(x.map((y) => cellHtml(y)).join(', ')) : '-';
  if (typeof x === 'object') return snapshotHtml(x);
  return esc(x);
}

/** A snapshot as tables: scalars as key/value rows, lists and maps of records as tables, the rest nested. */
export function snapshotHtml(v: unknown): string {
  if (Array.isArray(v)) {
    if (v.length && v.every(isPlain)) {
      const cols: string[] = [];
      for (const r of v) for (const [k, x] of Object.entries(r)) if (x !== undefined && !cols.includes(k)) cols.push(k);
      return `<div class="wide"><table class="records"><tr>${cols.map((c) => `<th>${esc(c)}</th>`).join('')}</tr>${v
        .map((r) => `<tr>${cols.map((c) => `<td>${cellHtml(r[c])}</td>`).join('')}</tr>`)
        .join('')}</table></div>`;
    }
    return cellHtml(v);
  }
  if (!isPlain(v)) return cellHtml(v);
  const kv: string[] = [];
  const blocks: string[] = [];
  for (const [k, x] of Object.entries(v)) {
    if (x === undefined) continue;
    const entries = isPlain(x) ? Object.values(x) : [];
    if (isScalar(x) || (Array.isArray(x) && x.every(isScalar)) || (isPlain(x) && !entries.length)) {
      kv.push(`<tr><th>${esc(k)}</th><td>${isPlain(x) ? '-' : cellHtml(x)}</td></tr>`);
    } else if (isPlain(x) && entries.every(isPlain)) {
      // a map of records (targets, devices): one row per key, or one section per key when the
      // records hold records themselves (a target's levels), as `rackwitness status` does
      if (
        entries.some((r) =>
          Object.values(r as object).some((y) => !isScalar(y) && !(Array.isArray(y) && y.every(isScalar))),
        )
      )
        for (const [name, r] of Object.entries(x)) blocks.push(`<h4>${esc(k)} ${esc(name)}</h4>${snapshotHtml(r)}`);
      else {
        const rows = Object.entries(x).map(([name, r]) => ({ name, ...(r as Record<string, unknown>) }));
        blocks.push(`<h4>${esc(k)}</h4>${snapshotHtml(rows)}`);
      }
    } else {
      blocks.push(`<h4>${esc(k)}</h4>${snapshotHtml(x)}`);
    }
  }
  return `${kv.length ? `<table class="kv">${kv.join('')}</table>` : ''}${blocks.join('')}`;
}
