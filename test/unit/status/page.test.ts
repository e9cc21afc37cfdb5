/**
 * The status page's rendering over hand-made statuses: every value escaped (device, node, ticket
 * and service names, reasons, event sentences, snapshot keys), the quorum-device section present
 * exactly when a quorum service runs, two writable primaries and a running fence called out.
 * The browser test (test/integration/status/page.test.ts) reads the page of the real daemon.
 */
import { describe, expect, it } from 'vitest';
import type { EventEntry } from '../../../src/daemon/events.js';
import type { DaemonStatus, ServiceStatus } from '../../../src/daemon/service.js';
import { openFromQuery, PAGE_CSP, renderStatusPage } from '../../../src/status/page.js';
import { rackView } from '../../../src/status/rack-view.js';

const NOW = new Date('2026-12-07T12:00:00.000Z');

function svc(name: string, snapshot: Record<string, unknown>, state: ServiceStatus['health'] = { state: 'ok' }) {
  return { name, optional: false, gates_watchdog: true, health: state, snapshot } satisfies ServiceStatus;
}

function status(services: ServiceStatus[], extra: Partial<DaemonStatus> = {}): DaemonStatus {
  return {
    box: 'rack1',
    version: '0.1.0',
    demo: false,
    pid: 1,
    started_at: NOW.toISOString(),
    uptime_s: 60,
    overall: 'ok',
    problems: [],
    services,
    ...extra,
  };
}

const pgsql = (nodes: Array<Record<string, unknown>>, writable: string[]) =>
  svc('pgsql', {
    simulated: false,
    rack: { nodes, primary: writable[0] ?? null, writablePrimaries: writable, summary: 'a summary' },
  });

describe('status page rendering', () => {
  it('escapes every value that reaches the page', () => {
    const x = (where: string) => `<img src=x onerror="alert('${where}')">&`;
    const st = status(
      [
        svc('fencing', {
          targets: {
            [x('target')]: {
              power: 'on',
              power_read_at: NOW.toISOString(),
              problem: x('problem'),
              in_progress: { action: x('action'), stage: 'fence', since: NOW.toISOString() },
              last_fence: { id: '1', action: 'off', result: x('result'), at: NOW.toISOString(), verified_by: x('vb') },
            },
          },
          devices: { [x('device')]: { family: 'sim', up: false, error: x('error') } },
        }),
        pgsql([{ name: x('node'), role: x('role'), reason: x('reason'), scoreReason: x('score') }], [x('w1'), x('w2')]),
        svc('arbitrator', {
          address: '127.0.0.1',
          tickets: [{ name: x('ticket'), leader: x('leader'), state: x('tstate'), mode: 'automatic' }],
          peers: [{ address: x('peer'), type: x('ptype'), lastRecv: null }],
        }),
        svc('watchdog', { feeding: false, reason: x('why'), mode: 'off', problem: x('wdproblem') }),
        svc('qdevice', { [x('qkey')]: x('qvalue') }, { state: 'degraded', reason: x('qreason') }),
        svc(x('service'), { [x('key')]: [{ [x('col')]: x('cell') }] }, { state: 'failed', reason: x('sreason') }),
      ],
      { box: x('box'), version: x('version'), overall: 'failed', problems: [x('problem-line')] },
    );
    const events: EventEntry[] = [{ ts: NOW.toISOString(), service: x('evsvc'), kind: 'k', sentence: x('sentence') }];
    const html = renderStatusPage(st, events, { now: NOW, open: new Set(['svc-x']) });
    expect(html).not.toMatch(/<img/i);
    expect(html.match(/<script/g)).toHaveLength(1); // the page's own
    expect(html).not.toMatch(/onerror="/);
    for (const where of [
      'target',
      'problem',
      'action',
      'result',
      'vb',
      'device',
      'error',
      'node',
      'role',
      'reason',
      'score',
      'w1',
      'w2',
      'ticket',
      'leader',
      'tstate',
      'peer',
      'why',
      'wdproblem',
      'qkey',
      'qvalue',
      'qreason',
      'service',
      'key',
      'col',
      'cell',
      'sreason',
      'box',
      'version',
      'problem-line',
      'evsvc',
      'sentence',
    ])
      expect(html, where).toContain(`&lt;img src=x onerror=&quot;alert(&#39;${where}&#39;)&quot;&gt;&amp;`);
  });

  it('shows a quorum-device section only when a quorum service runs', () => {
    const without = renderStatusPage(status([svc('fencing', {})]), [], { now: NOW });
    expect(without).not.toContain('id="quorum"');
    const withQ = renderStatusPage(
      status([svc('qdevice', { algorithm: 'ffsplit', clients: [{ node: 'node-a', vote: 'ACK' }] })]),
      [],
      { now: NOW },
    );
    expect(withQ).toMatch(/<section id="quorum"><h2>Quorum device<\/h2><p class="big"><span class="t-ok">OK<\/span>/);
    expect(withQ).toContain('<th>algorithm</th><td>ffsplit</td>');
    expect(withQ).toContain('<td>node-a</td><td>ACK</td>');
  });

  it('calls out two writable primaries and a fence running now', () => {
    const st = status([
      svc('fencing', {
        targets: {
          'node-b': {
            power: 'on',
            in_progress: { action: 'off', stage: 'fence', since: '2026-12-07T11:59:58.000Z' },
          },
        },
      }),
      pgsql(
        [
          { name: 'node-a', role: 'primary', timeline: 2 },
          { name: 'node-b', role: 'primary', timeline: 3 },
        ],
        ['node-a', 'node-b'],
      ),
    ]);
    const html = renderStatusPage(st, [], { now: NOW });
    expect(html).toContain(
      '<div class="alert tone-bad" data-alert="two-primaries">TWO WRITABLE PRIMARIES: node-a and node-b</div>',
    );
    expect(html).toContain(
      '<div class="alert tone-bad" data-alert="fencing">FENCING node-b now: off running since 11:59:58 UTC (2 s ago)</div>',
    );
    const v = rackView(st, [], NOW);
    expect(v.nodes.map((n) => [n.name, n.tone])).toEqual([
      ['node-a', 'bad'], // one of two writable primaries
      ['node-b', 'bad'],
    ]);
    expect(v.pg?.tone).toBe('bad');
  });

  it('reads a missing or malformed snapshot as unknown, never a crash', () => {
    const st = status([
      svc('fencing', { targets: { 'node-a': 'garbage', 'node-b': { power: 42, last_fence: [] } }, devices: null }),
      svc('pgsql', { rack: { nodes: 'x' } }),
      svc('arbitrator', { tickets: [null, 3] }),
      svc('watchdog', {}),
    ]);
    const v = rackView(st, [], NOW);
    expect(v.nodes.map((n) => [n.name, n.power, n.last_fence])).toEqual([
      ['node-a', 'unknown', null],
      ['node-b', 'unknown', null],
    ]);
    expect(v.tickets?.map((t) => [t.name, t.holder])).toEqual([
      ['?', null],
      ['?', null],
    ]);
    expect(v.watchdog?.feeding).toBeNull();
    expect(() => renderStatusPage(st, [], { now: NOW })).not.toThrow();
  });

  it('keeps ?open= sections open, takes only plain ids, and pins its inline CSS and script in the CSP', () => {
    expect([...openFromQuery(new URLSearchParams('open=svc-a,svc-b&open=svc-c,<x>,'))]).toEqual([
      'svc-a',
      'svc-b',
      'svc-c',
    ]);
    const html = renderStatusPage(status([svc('fencing', {}), svc('pgsql', {})]), [], {
      now: NOW,
      open: new Set(['svc-pgsql']),
    });
    expect(html).toContain('<details id="svc-pgsql" open>');
    expect(html).toContain('<details id="svc-fencing">');
    expect(html).toContain('<a href="?open=svc-pgsql%2Csvc-fencing">');
    expect(PAGE_CSP).toMatch(
      /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]+='; script-src 'sha256-[A-Za-z0-9+/]+='/,
    );
    expect(html).not.toMatch(/https?:\/\//); // no external resource, not even a link
  });
});
