/**
 * The status page in Debian's headless Chromium, against the real daemon in demo mode (simulated
 * power devices, a real PostgreSQL primary + standby when the binaries are installed). Three
 * states — ok, degraded (a power device stops answering) and fencing (a reboot answered, its
 * power-on pending) — are read from the rendered DOM as a person reads them, checked against
 * /status.json of the same moment, and screenshot. The refresh keeps open sections open, with
 * the script and without it, and the page loads nothing from anywhere but the box.
 *
 * Screenshots go to a temporary directory; RW_UPDATE_SCREENSHOTS=1 writes them to docs/ (the
 * committed ones the README shows).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callDaemon } from '../../../src/cli/control-client.js';
import { runCli, type startDaemon as StartDaemon, startDaemon } from '../../fixtures/cli.js';
import { cleanupDir, freePort, tempDir, waitFor } from '../../fixtures/proc.js';

const CHROMIUM = '/usr/bin/chromium';
const execFileP = promisify(execFile);
const SHOTS = process.env.RW_UPDATE_SCREENSHOTS === '1' ? resolve(import.meta.dirname, '../../../docs') : undefined;

interface NodeCard {
  badges: string[];
  rows: Record<string, string>;
}

/** What a person reads on the page: the banner, the alerts, each node card, the panels. */
interface Reading {
  title: string;
  overall: string;
  banner: string;
  alerts: string[];
  nodes: Record<string, NodeCard>;
  pgSummary: string;
  tickets: Record<string, string[]>;
  boothPeers: string;
  watchdog: { head: string; why: string };
  quorum: boolean;
  devices: Record<string, string>;
  services: Record<string, string[]>;
  decisions: string[];
  details: string[];
}

/**
 * Runs in the page (the test's TypeScript has no DOM types): reads the page as a person does.
 * Plain JavaScript, passed to Chromium as text.
 */
const READER = `(() => {
    const text = (e) => (e?.innerText ?? '').replace(/\\s+/g, ' ').trim();
    const cells = (tr) => [...tr.querySelectorAll('td')].map((td) => text(td));
    const nodes = {};
    for (const card of document.querySelectorAll('#nodes article.node')) {
      const rows = {};
      for (const dt of card.querySelectorAll('dt')) rows[text(dt)] = text(dt.nextElementSibling);
      nodes[card.getAttribute('data-node') ?? '?'] = {
        badges: [...card.querySelectorAll('h3 .badge')].map((b) => text(b)),
        rows,
      };
    }
    const byAttr = (sel, attr) =>
      Object.fromEntries([...document.querySelectorAll(sel)].map((tr) => [tr.getAttribute(attr) ?? '?', cells(tr)]));
    return {
      title: document.title,
      overall: document.querySelector('#rack')?.getAttribute('data-overall') ?? '',
      banner: text(document.querySelector('#overall')),
      alerts: [...document.querySelectorAll('#rack .alert')].map((a) => text(a)),
      nodes,
      pgSummary: text(document.querySelector('#pg-summary')),
      tickets: byAttr('#tickets tr[data-ticket]', 'data-ticket'),
      boothPeers: text(document.querySelector('#tickets p')),
      watchdog: {
        head: text(document.querySelector('#watchdog .big')),
        why: text(document.querySelector('#watchdog .big + p')),
      },
      quorum: !!document.querySelector('#quorum'),
      devices: Object.fromEntries(
        [...document.querySelectorAll('#devices tr[data-device]')].map((tr) => [
          tr.getAttribute('data-device') ?? '?',
          cells(tr)[2] ?? '',
        ]),
      ),
      services: byAttr('#services tr[data-service]', 'data-service'),
      decisions: [...document.querySelectorAll('#decisions tr')].slice(1).map((tr) => cells(tr)[2] ?? ''),
      details: [...document.querySelectorAll('#details details')].map((d) => d.id),
    };
})()`;

function read(page: Page): Promise<Reading> {
  return page.evaluate<Reading>(READER);
}

interface Status {
  overall: string;
  problems: string[];
  services: Array<{ name: string; health: { state: string; reason?: string }; snapshot: Record<string, unknown> }>;
}

describe('status page in headless Chromium', () => {
  let daemon: Awaited<ReturnType<typeof StartDaemon>>;
  let base: string;
  let sock: string;
  let fenceApiPort: number;
  let shots: string;
  let browser: Browser;
  let ctx: BrowserContext;
  const requests: string[] = [];
  const consoleErrors: string[] = [];

  const status = async (): Promise<Status> => (await fetch(`${base}/status.json`)).json() as Promise<Status>;
  const service = (s: Status, name: string) => s.services.find((x) => x.name === name) as Status['services'][0];
  const pgNodes = (s: Status) =>
    (service(s, 'pgsql').snapshot.rack as { nodes: Array<Record<string, unknown>> } | undefined)?.nodes ?? [];

  const open = async (path = '/', context = ctx) => {
    const page = await context.newPage();
    page.on('request', (r) => requests.push(r.url()));
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    const res = await page.goto(`${base}${path}`);
    expect(res?.status()).toBe(200);
    return { page, headers: res?.headers() ?? {} };
  };
  const shot = (page: Page, name: string) =>
    page.screenshot({ path: join(shots, `status-page-${name}.png`), fullPage: true });

  beforeAll(async () => {
    const dir = cleanupDir(tempDir('rw-page-'));
    shots = SHOTS ?? join(dir, 'shots');
    mkdirSync(shots, { recursive: true });
    const http = await freePort();
    fenceApiPort = await freePort();
    sock = join(dir, 'control.sock');
    // the demo's ticket registry on a free port (demo/booth.conf has a fixed one the demo test uses)
    const booth = join(dir, 'booth.conf');
    writeFileSync(
      booth,
      readFileSync(resolve(import.meta.dirname, '../../../demo/booth.conf'), 'utf8').replace(
        /^port = \d+$/m,
        `port = ${await freePort()}`,
      ),
    );
    daemon = await startDaemon(['--demo'], {
      RACKWITNESS_BOX_STATE_DIR: join(dir, 'state'),
      RACKWITNESS_CONTROL_SOCKET: sock,
      RACKWITNESS_STATUS_MQTT_EMBEDDED_PORT: String(await freePort()),
      RACKWITNESS_STATUS_HTTP_PORT: String(http),
      RACKWITNESS_FENCING_API_PORT: String(fenceApiPort),
      RACKWITNESS_ARBITRATOR_BOOTH_CONFIG: booth,
      // a reboot's power-on waits 30 s: the fencing state stays on screen long enough to read
      RACKWITNESS_FENCING_BOOT_DELAY_S: '30',
      // device reachability checked every second, so a dead device shows within the test
      RACKWITNESS_FENCING_MONITOR_INTERVAL_S: '1',
    });
    base = `http://127.0.0.1:${http}`;
    // launch() gives Chromium a fresh, temporary --user-data-dir of its own
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    ctx = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  });

  afterAll(async () => {
    await browser?.close();
    if (daemon) {
      daemon.child.kill('SIGTERM');
      await daemon.exited;
    }
  });

  it('ok: both nodes, their power and PostgreSQL role, the ticket, the watchdog; nothing loaded from elsewhere', async () => {
    // the rack as the daemon sees it once every device was read and PostgreSQL observed
    const st = await waitFor(
      'the demo healthy, both nodes observed',
      async () => {
        const s = await status();
        const nodes = pgNodes(s);
        return s.overall === 'ok' && nodes.length === 2 && nodes.every((n) => typeof n.score === 'number')
          ? s
          : undefined;
      },
      30_000,
    );
    const { page, headers } = await open();
    const r = await read(page);
    await shot(page, 'ok');

    expect(headers['content-security-policy']).toMatch(/default-src 'none'/);
    expect(r.title).toBe('OK · rackwitness demo');
    expect(r.overall).toBe('ok');
    expect(r.banner).toBe('OK every service is healthy');
    expect(r.alerts).toEqual([]);
    expect(Object.keys(r.nodes)).toEqual(['node-a', 'node-b']);
    // per node: role and score as /status.json says, power as read through the simulated BMCs
    for (const n of pgNodes(st)) {
      const card = r.nodes[n.name as string] as NodeCard;
      expect(card.badges).toEqual([String(n.role).toUpperCase(), 'POWER ON']);
      expect(card.rows.Power).toMatch(/^on · read \d\d:\d\d:\d\d UTC \(/);
      expect(card.rows['Last fence']).toBe('no fence in the journal');
      expect(card.rows.PostgreSQL).toBe(`${n.role} · timeline ${n.timeline}`);
      expect(card.rows['Promotion score']).toMatch(new RegExp(`^${n.score} — `));
    }
    expect(r.nodes['node-a']?.rows.PostgreSQL).toBe('primary · timeline 1');
    expect(r.nodes['node-b']?.rows.Lag).toMatch(/^\d+(\.\d)? k?B · [\d.]+ s · streaming \(async\)$/);
    expect(r.nodes['node-a']?.rows).not.toHaveProperty('Lag');
    expect(r.pgSummary).toMatch(/^PostgreSQL: node-a is primary on timeline 1; node-b streams/);
    // the demo's booth sites do not exist: nobody holds the ticket, and the page says why
    expect(r.tickets.db?.slice(0, 3)).toEqual(['db', 'nobody', 'Init']);
    expect(r.boothPeers).toBe('booth peers: site 127.0.0.2 never heard · site 127.0.0.3 never heard');
    expect(r.watchdog.head).toBe('FEEDING');
    expect(r.watchdog.why).toMatch(/^why: all 3 gated service\(s\) healthy/);
    // no quorum device in this daemon: no section for one
    expect(r.quorum).toBe(false);
    expect(r.devices).toEqual({ 'bmc-a': 'answers', 'bmc-b': 'answers', 'pdu-1': 'answers' });
    expect(Object.fromEntries(Object.entries(r.services).map(([k, v]) => [k, v[1]]))).toEqual(
      Object.fromEntries(st.services.map((s) => [s.name, 'ok'])),
    );
    expect(r.decisions).toContain('Daemon ready: ok.');
    expect(r.details).toEqual(st.services.map((s) => `svc-${s.name}`));
    // snapshots in the details are tables, not JSON
    expect(await page.locator('#svc-pgsql').innerHTML()).not.toMatch(/[{[]&quot;|[{[]"/);
    // the fence API key the daemon runs with is nowhere on the page (its file name may be)
    const shown = JSON.parse((await runCli(['config', 'show', '--demo'])).stdout);
    const key = readFileSync(shown.fencing.api.keys[0].key_file, 'utf8').trim();
    expect(key.length).toBeGreaterThanOrEqual(32);
    expect(await page.content()).not.toContain(key);
    await page.close();
  });

  it('a refresh swaps the content in place and keeps what the reader opened open (and closed closed)', async () => {
    const { page } = await open();
    const before = await page.locator('.meta').textContent();
    await page.locator('#svc-fencing > summary').click();
    await page.locator('#svc-pgsql > summary').click();
    await page.locator('#svc-pgsql > summary').click(); // opened and closed again
    expect(await page.locator('#svc-fencing').getAttribute('open')).toBe('');
    // two refreshes by the page's own script (it counts them on <html data-refreshes>)
    // (polled from outside: the page's CSP forbids the eval a waitForFunction would need)
    await waitFor(
      'two refreshes',
      async () => Number(await page.locator('html').getAttribute('data-refreshes')) >= 2,
      20_000,
      100,
    );
    expect(await page.locator('.meta').textContent()).not.toBe(before); // new content, not the old DOM
    // (the open attribute reflects the open state a click toggles)
    expect(await page.locator('#svc-fencing').getAttribute('open')).toBe('');
    expect(await page.locator('#svc-pgsql').getAttribute('open')).toBeNull();
    expect(await page.locator('#svc-fencing table').first().isVisible()).toBe(true);
    expect(await page.locator('#svc-fencing').innerText()).toMatch(/bmc-a\/chassis/);
    expect(await page.locator('#lost').isHidden()).toBe(true);
    await page.close();
  });

  it('without JavaScript: a meta refresh, and ?open= keeps a section open across it', async () => {
    const noJs = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1200, height: 900 } });
    const { page } = await open('/?open=svc-watchdog', noJs);
    expect(await page.locator('#svc-watchdog').getAttribute('open')).toBe('');
    const before = await page.locator('.meta').textContent();
    await page.waitForEvent('load', { timeout: 20_000 }); // the <noscript> meta refresh
    expect(await page.locator('.meta').textContent()).not.toBe(before);
    expect(await page.locator('#svc-watchdog').getAttribute('open')).toBe('');
    expect(await page.locator('#svc-fencing').getAttribute('open')).toBeNull();
    // each section offers the link that keeps it open as well
    expect(await page.locator('#svc-fencing a').getAttribute('href')).toBe('?open=svc-watchdog%2Csvc-fencing');
    await noJs.close();
  });

  it('degraded: a power device that stops answering is in the banner, its node card and the device list', async () => {
    await callDaemon(sock, 'fence.sim', { device: 'bmc-b', fault: 'unreachable' });
    const st = await waitFor(
      'fencing degraded by bmc-b',
      async () => {
        const s = await status();
        return service(s, 'fencing').health.state === 'degraded' &&
          (service(s, 'fencing').snapshot.targets as Record<string, { power: string }>)['node-b']?.power === 'unknown'
          ? s
          : undefined;
      },
      20_000,
    );
    const { page } = await open();
    const r = await read(page);
    await shot(page, 'degraded');
    expect(r.title).toBe('DEGRADED · rackwitness demo');
    expect(r.overall).toBe('degraded');
    expect(r.banner).toBe(`DEGRADED ${st.problems.join(' ')}`);
    expect(r.banner).toMatch(/power device down: bmc-b/);
    expect(r.nodes['node-b']?.badges).toEqual(['STANDBY', 'POWER UNKNOWN']);
    expect(r.nodes['node-b']?.rows.Power).toMatch(/^unknown · the last read failed .* last known: on \(read\)$/);
    expect(r.nodes['node-a']?.badges).toEqual(['PRIMARY', 'POWER ON']);
    expect(r.devices['bmc-b']).toMatch(/^DOWN .*no answer \(simulated unreachable device\)/);
    expect(r.devices['bmc-a']).toBe('answers');
    expect(r.services.fencing?.slice(1)).toEqual(['degraded', 'power device down: bmc-b']);
    expect(r.decisions[0]).toMatch(/^Power device bmc-b does not answer/);
    await page.close();

    await callDaemon(sock, 'fence.sim', { device: 'bmc-b', fault: 'none' });
    await waitFor('back to ok', async () => (await status()).overall === 'ok', 20_000);
  });

  it('fencing: a rebooted node reads off, fenced, with its power-on due, and the last fence', async () => {
    const fence = await runCli(['fence', 'node-b', '--action', 'reboot', '--json', '--socket', sock]);
    expect(fence.code).toBe(0);
    const answer = JSON.parse(fence.stdout) as { id: string; level: number; verified_by: string };
    // the power devices are simulated; what a real power-off does to node-b's PostgreSQL (the demo
    // runs a real one) is done here: an immediate stop, and the observer sees node-b down
    const rackDir = /PostgreSQL rack \(real, PG15\): .* in (\S+) \(started/.exec(daemon.output())?.[1];
    expect(rackDir, 'the demo runs a real PostgreSQL rack (postgresql-15 from test/install-deps.sh)').toBeDefined();
    const stop = [
      '/usr/lib/postgresql/15/bin/pg_ctl',
      '-D',
      join(rackDir as string, 'node-b'),
      '-m',
      'immediate',
      'stop',
    ];
    if (process.getuid?.() === 0) await execFileP('runuser', ['-u', 'postgres', '--', ...stop]);
    else await execFileP(stop[0] as string, stop.slice(1));
    await waitFor(
      'node-b seen down',
      async () => pgNodes(await status()).find((n) => n.name === 'node-b')?.role === 'down',
      20_000,
    );
    const { page } = await open();
    const r = await read(page);
    await shot(page, 'fencing');
    const target = (service(await status(), 'fencing').snapshot.targets as Record<string, Record<string, unknown>>)[
      'node-b'
    ] as { power_on_pending_until?: string; last_fence?: { id: string } };
    expect(target.last_fence?.id).toBe(answer.id);
    const due = target.power_on_pending_until?.slice(11, 19);
    expect(due).toMatch(/^\d\d:\d\d:\d\d$/);
    expect(r.alerts).toEqual([
      expect.stringMatching(
        new RegExp(`^node-b FENCED \\(reboot, off verified\\); power-on due ${due} UTC \\(in \\d+ s\\)$`),
      ),
    ]);
    const st = await status();
    expect(r.overall).toBe(st.overall);
    expect(r.banner).toBe(
      st.problems.length ? `${st.overall.toUpperCase()} ${st.problems.join(' ')}` : 'OK every service is healthy',
    );
    expect(r.nodes['node-b']?.badges).toEqual(['DOWN', 'POWER OFF', 'FENCED']);
    expect(r.nodes['node-b']?.rows.PostgreSQL).toMatch(/^down /);
    expect(r.nodes['node-b']?.rows).not.toHaveProperty('Lag');
    expect(r.nodes['node-b']?.rows.Power).toMatch(/^off · verified off by a fence \d\d:\d\d:\d\d UTC/);
    expect(r.nodes['node-b']?.rows['Fencing now']).toMatch(new RegExp(`^reboot answered; power-on due ${due} UTC`));
    expect(r.nodes['node-b']?.rows['Last fence']).toMatch(
      new RegExp(
        `^reboot SUCCESS \\d\\d:\\d\\d:\\d\\d UTC \\([^)]+\\) · level ${answer.level} · \\d+\\.\\d s · power-on running verified: ${answer.verified_by.replace(/[()/]/g, '\\$&')}$`,
      ),
    );
    expect(r.nodes['node-a']?.badges).toEqual(['PRIMARY', 'POWER ON']);
    expect(r.nodes['node-a']?.rows['Last fence']).toBe('no fence in the journal');
    expect(r.decisions.some((d) => /^Reboot of node-b succeeded at level 1/.test(d))).toBe(true);
    await page.close();
  });

  // after the screenshots, which should not show this refusal
  it('markup in a value is shown as text: a fence API request whose path is an <img> tag', async () => {
    // anyone who reaches the fence API port can put text into a refusal sentence (the request path)
    const hostile = '/v1/fence<img/src=x/onerror=alert(document.domain)>';
    const reply = await new Promise<string>((resolveReply, reject) => {
      const sock = connect(fenceApiPort, '127.0.0.1', () =>
        sock.end(`POST ${hostile} HTTP/1.1\r\nHost: box\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`),
      );
      let got = '';
      sock.on('data', (d) => {
        got += String(d);
      });
      sock.on('end', () => resolveReply(got));
      sock.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 404 /);
    await waitFor(
      'the refusal in the events',
      async () =>
        ((await (await fetch(`${base}/events.json`)).json()) as Array<{ sentence: string }>).some((e) =>
          e.sentence.includes(hostile),
        ),
      10_000,
    );
    const { page } = await open();
    const r = await read(page);
    expect(r.decisions).toContain(`Refused a fence API request from 127.0.0.1 (POST ${hostile}): not-found.`);
    expect(await page.locator('img').count()).toBe(0);
    await page.close();
  });

  it('when the box stops answering, a bar says since when and the last state stays on screen', async () => {
    const { page } = await open();
    const before = await read(page);
    daemon.child.kill('SIGTERM');
    expect((await daemon.exited).code).toBe(0);
    await waitFor('the no-answer bar', () => page.locator('#lost').isVisible(), 20_000, 100);
    expect(await page.locator('#lost').innerText()).toMatch(
      /^No answer from the box since \d\d:\d\d:\d\d UTC \(.+\): what you see is the last state it reported\.$/,
    );
    expect((await read(page)).nodes).toEqual(before.nodes);
    await page.close();
    // the failed fetches are the only console errors this may add
    consoleErrors.splice(
      0,
      consoleErrors.length,
      ...consoleErrors.filter((e) => !/Failed to load resource|ERR_CONNECTION_REFUSED/.test(e)),
    );
  });

  it('loaded nothing but the box, and the browser reported no error (CSP violations included)', () => {
    expect(requests.filter((u) => !u.startsWith(`${base}/`))).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });
});
