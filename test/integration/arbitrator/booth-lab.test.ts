/**
 * The ticket-registry topology, live: our arbitrator between two booth sites, each a real
 * single-node Pacemaker cluster running a real boothd (so the tickets land in each site's CIB
 * through the real crm_ticket, and the real policy engine acts on them), every member in its own
 * network namespace on a private bridge (prefix rwbt). Each site runs PostgreSQL under our agent
 * (ocf:rackwitness:pgsqlms, one instance per site) whose Promoted role needs ticketA (rsc_ticket,
 * loss-policy demote: the deadman; fence in the last lab), the unpromoted site streaming from the
 * promoted one across the sites, and a Dummy service that needs the manual ticketM (loss-policy stop).
 * Scenarios run in order and share the lab: before any grant nothing is writable; a grant makes
 * only the holder's PostgreSQL a primary; `booth list`/`booth peers` against our arbitrator;
 * wrong-key client; arbitrator restart mid-lease; the holder site dies (ticketA moves at expiry,
 * the other site's Pacemaker promotes its standby with every replicated write, the manual ticketM
 * stays); the dead site comes back as a standby; an isolated holder loses ticketA at expiry and
 * demotes its running primary while the other site takes over; a fuzz run against the UDP and
 * TCP ports; an orderly move by booth revoke/grant. At every sample, never two writable
 * PostgreSQL instances across the sites.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BoothLab, LAB_KEY_TEXT, type Site } from '../../fixtures/booth-lab.js';
import { until, waitFor } from '../../fixtures/proc.js';

const EXPIRE = 10;
const ACQUIRE_AFTER = 2;

const lab = new BoothLab({
  prefix: 'rwbt',
  net: '10.213.88',
  auth: true,
  expireS: EXPIRE,
  timeoutS: 1,
  retries: 3,
  acquireAfterS: ACQUIRE_AFTER,
});
const { s1: S1, s2: S2, arb: ARB } = lab.addr;

/** Polls `booth list` at a member until the ticket's leader is `want`. */
async function leaderBecomes(m: Site | 'arb', ticket: string, want: string, timeoutMs: number) {
  return until(() => lab.leaderOf(m, ticket) === want, timeoutMs, 300);
}

/** The end of ticketA's current lease as `booth list` at a member shows it (UTC, to the second). */
function leaseEndAt(m: Site | 'arb'): number {
  const re = /^ticket: ticketA, leader: [^,]+, expires: (\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)/m;
  const hit = re.exec(lab.list(m));
  if (!hit) throw new Error(`no lease end for ticketA in booth list at ${m}`);
  return Date.parse(`${hit[1]}T${hit[2]}Z`);
}

/**
 * Samples both sites back to back until stopped (a few samples a second): how often both PostgreSQL instances answered
 * pg_is_in_recovery() = false (two writable primaries) or both were Promoted in Pacemaker.
 */
function watchSites(l: BoothLab): { stop(): Promise<{ samples: number; bothWritable: number; bothPromoted: number }> } {
  let stop = false;
  const counts = { samples: 0, bothWritable: 0, bothPromoted: 0 };
  const loop = (async () => {
    while (!stop) {
      const [p1, p2, r1, r2] = await Promise.all([
        l.pgRole('s1').catch(() => 'down'),
        l.pgRole('s2').catch(() => 'down'),
        l.roles('s1').catch(() => null),
        l.roles('s2').catch(() => null),
      ]);
      counts.samples++;
      if (p1 === 'primary' && p2 === 'primary') counts.bothWritable++;
      if (r1?.db === 'Promoted' && r2?.db === 'Promoted') counts.bothPromoted++;
    }
  })();
  return {
    async stop() {
      stop = true;
      await loop;
      return counts;
    },
  };
}

/** Writes `n` rows into a fresh table at the site's primary; every INSERT acknowledged. */
async function writeRows(l: BoothLab, site: Site, table: string, n: number): Promise<void> {
  const r = await l.sql(
    site,
    `CREATE TABLE ${table} (id int PRIMARY KEY); INSERT INTO ${table} SELECT generate_series(1, ${n})`,
  );
  if (r.code !== 0) throw new Error(`writing ${table} at ${site}: ${r.stderr.trim()}`);
}

/** The number of rows of `table` the site's PostgreSQL has (a standby reads them too), -1 if unreadable. */
async function rowCount(l: BoothLab, site: Site, table: string): Promise<number> {
  const r = await l.sql(site, `SELECT count(*) FROM ${table}`);
  return r.code === 0 ? Number(r.stdout.trim()) : -1;
}

/** The standby at `site` has replayed every row and is promotable (its own monitor scored it). */
async function replicated(l: BoothLab, site: Site, table: string, n: number): Promise<void> {
  await waitFor(
    `${n} rows of ${table} replayed at ${site}`,
    async () => (await rowCount(l, site, table)) === n,
    30_000,
    300,
  );
  await waitFor(`a positive promotion score at ${site}`, async () => (await l.score(site)) > 0, 20_000, 300);
}

/** Polls a site's crm_mon until db has the role (Promoted, Unpromoted). */
async function dbBecomes(l: BoothLab, site: Site, role: string, timeoutMs: number) {
  let last = '';
  try {
    await waitFor(
      `db ${role} at ${site}`,
      async () => {
        last = (await l.roles(site)).db;
        return last === role;
      },
      timeoutMs,
      300,
    );
  } catch (e) {
    throw new Error(`${String(e)} (last role ${last})\n${l.diagnose()}`);
  }
}

describe('booth arbitrator between two live Pacemaker sites', () => {
  beforeAll(async () => {
    await lab.create();
    const arb = lab.startOurs();
    await arb.waitFor(/listening on/, 30_000);
    lab.startBoothd('s1');
    lab.startBoothd('s2');
    // sites broadcast Stat at start and wait up to `timeout` for the answers
    await until(() => /ticket: ticketA/.test(lab.list('s1')) && /ticket: ticketA/.test(lab.list('s2')), 20_000, 300);
    // our start-up quiet period (two timeouts without new votes): wait until it says it is over
    await arb.waitFor(/ticketM: start-up quiet period over/, 10_000);
    await arb.waitFor(/ticketA: start-up quiet period over/, 10_000);
  }, 240_000);

  afterAll(async () => {
    await lab.destroy();
  }, 60_000);

  it('before any grant: booth list agrees everywhere, no site’s CIB grants a ticket, nothing is writable', async () => {
    const expected = 'ticket: ticketA, leader: NONE\nticket: ticketM, leader: NONE [manual mode]\n';
    expect(lab.list('arb')).toBe(expected);
    expect(lab.list('s1', ARB)).toBe(expected);
    expect(lab.list('s1')).toBe(expected);
    expect(lab.list('s2')).toBe(expected);
    expect(lab.list('s2', ARB)).toBe(expected);
    for (const site of ['s1', 's2'] as const) {
      expect(await lab.granted(site, 'ticketA')).toBe(false);
      expect(await lab.granted(site, 'ticketM')).toBe(false);
      // Pacemaker runs PostgreSQL (probed, started as a standby), but without the ticket it may not promote it
      expect(await lab.roles(site)).toEqual({ db: 'Unpromoted', manualSvc: false });
      expect(await lab.pgRole(site)).toBe('standby');
    }
  });

  it('grants both tickets to site 1 with our vote: only there the CIB holds them and PostgreSQL is the primary', async () => {
    const a = lab.booth('s1', ['grant', 'ticketA']);
    expect(a.out).toMatch(/grant succeeded/);
    const m = lab.booth('s1', ['grant', 'ticketM']);
    expect(m.out).toMatch(/grant succeeded/);
    await leaderBecomes('arb', 'ticketA', S1, 10_000);
    await leaderBecomes('s2', 'ticketA', S1, 10_000);
    await leaderBecomes('arb', 'ticketM', S1, 10_000);
    const list = lab.list('s2', ARB);
    expect(list).toMatch(
      new RegExp(
        `^ticket: ticketA, leader: ${S1.replaceAll('.', '\\.')}, expires: \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\n`,
      ),
    );
    expect(list).toMatch(
      new RegExp(`ticket: ticketM, leader: ${S1.replaceAll('.', '\\.')}, expires: INF \\[manual mode\\]\\n$`),
    );
    // what boothd wrote with the real crm_ticket into site 1's CIB
    const cibA = await lab.cib('s1', 'ticketA');
    expect(cibA.granted).toBe('true');
    expect(Number(cibA.expires)).toBeGreaterThan(Date.now() / 1000);
    expect(await lab.granted('s1', 'ticketM')).toBe(true);
    expect(await lab.granted('s2', 'ticketA')).toBe(false);
    expect(await lab.granted('s2', 'ticketM')).toBe(false);
    // the policy engine promotes only where the ticket is granted
    await dbBecomes(lab, 's1', 'Promoted', 20_000);
    await until(async () => (await lab.roles('s1')).manualSvc, 20_000, 300);
    expect(await lab.roles('s2')).toEqual({ db: 'Unpromoted', manualSvc: false });
    // what a client sees: site 1 writable, site 2 a standby streaming from it across the sites
    expect(await lab.pgRole('s1')).toBe('primary');
    expect(await lab.pgRole('s2')).toBe('standby');
    await waitFor('site 2 streaming from site 1', () => lab.streaming('s2'), 30_000, 300);
    // the sites saw no missing ack from us
    expect(lab.procs.get('s1')?.output() ?? '').not.toMatch(/didn't acknowledge/);
  });

  it('booth peers against our arbitrator shows both sites with counters', () => {
    const out = lab.booth('s1', ['peers', '-s', ARB]).out;
    expect(out).toMatch(new RegExp(`^site {9}${S1.replaceAll('.', '\\.')}, last recv: \\d{4}-`, 'm'));
    expect(out).toMatch(new RegExp(`^site {9}${S2.replaceAll('.', '\\.')}, last recv: `, 'm'));
    expect(out).toMatch(/\tRecv pkts:[1-9]\d* error:0 authfail:0 invalid:0/);
  });

  it('a client with a wrong key gets boothd’s authentication failure', () => {
    const bad = `${lab.dir}/badkey`;
    const conf = `${lab.dir}/bad.conf`;
    lab.nodeIn(
      's1',
      `import {writeFileSync,readFileSync} from 'node:fs';
       writeFileSync(${JSON.stringify(bad)}, 'wrong-key-0123456789\\n', {mode: 0o600});
       writeFileSync(${JSON.stringify(conf)}, readFileSync(${JSON.stringify(lab.conf)}, 'utf8').replace(/^authfile = .*$/m, 'authfile = ${bad}'));`,
    );
    const r = lab.booth('s1', ['list', '-s', ARB], conf);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(new RegExp(`${ARB.replaceAll('.', '\\.')}: failed to authenticate`));
  });

  it('relearns the holder after a restart mid-lease; site 1 keeps the ticket and stays Promoted', async () => {
    await lab.kill('arb', 'SIGKILL');
    const arb = lab.startOurs();
    await arb.waitFor(/listening on/, 30_000);
    // Stat at start -> the sites answer MIdx with their view (holder and remaining lease)
    await leaderBecomes('arb', 'ticketA', S1, 15_000);
    await leaderBecomes('arb', 'ticketM', S1, 15_000);
    expect(await lab.granted('s1', 'ticketA')).toBe(true);
    expect(await lab.granted('s2', 'ticketA')).toBe(false);
    expect((await lab.roles('s1')).db).toBe('Promoted');
    expect((await lab.roles('s2')).db).toBe('Unpromoted');
    expect(await lab.pgRole('s1')).toBe('primary');
  });

  it('site 1 dies: ticketA expires and moves to site 2, whose PostgreSQL is promoted with every replicated write; the manual ticketM stays with the dead site', async () => {
    // the arbitrator restarted by the last test can vote again, and site 2 follows site 1
    await lab.procs.get('arb')?.waitFor(/ticketA: start-up quiet period over/, 10_000);
    await leaderBecomes('s2', 'ticketA', S1, 10_000);
    // acknowledged writes, replayed at site 2 before the site dies (an orderly move)
    await writeRows(lab, 's1', 't_death', 500);
    await replicated(lab, 's2', 't_death', 500);
    const watch = watchSites(lab);
    const leaseEnd = leaseEndAt('s2');
    expect(leaseEnd).toBeGreaterThan(Date.now());
    await lab.killSite('s1');
    await leaderBecomes('s2', 'ticketA', S2, (EXPIRE + ACQUIRE_AFTER + 15) * 1000);
    // not before the lease the dead site held has run out, plus acquire-after
    expect(Date.now()).toBeGreaterThanOrEqual(leaseEnd + (ACQUIRE_AFTER - 1) * 1000);
    await leaderBecomes('arb', 'ticketA', S2, 5_000);
    expect(await lab.granted('s2', 'ticketA')).toBe(true);
    await dbBecomes(lab, 's2', 'Promoted', 20_000);
    expect(await lab.pgRole('s2')).toBe('primary');
    expect(await rowCount(lab, 's2', 't_death')).toBe(500);
    const w = await watch.stop();
    expect(w.samples).toBeGreaterThan(10);
    expect(w.bothWritable).toBe(0);
    // a manual ticket is never moved by booth: still the dead site's, not granted at site 2,
    // its service not started there, after expire + acquire-after
    expect(lab.leaderOf('s2', 'ticketM')).toBe(S1);
    expect(lab.leaderOf('arb', 'ticketM')).toBe(S1);
    expect(await lab.granted('s2', 'ticketM')).toBe(false);
    expect((await lab.roles('s2')).manualSvc).toBe(false);
  }, 90_000);

  it('the dead site boots again: it learns where ticketA lives, its CIB does not grant it, its PostgreSQL rejoins as a standby of site 2', async () => {
    await lab.bootSite('s1', 150_000);
    lab.startBoothd('s1');
    await leaderBecomes('s1', 'ticketA', S2, 20_000);
    expect(await lab.granted('s1', 'ticketA')).toBe(false);
    expect((await lab.roles('s1')).db).toBe('Unpromoted');
    expect((await lab.roles('s2')).db).toBe('Promoted');
    expect(await lab.pgRole('s1')).toBe('standby');
    await waitFor('site 1 streaming from site 2', () => lab.streaming('s1'), 30_000, 300);
    expect(await rowCount(lab, 's1', 't_death')).toBe(500);
  }, 200_000);

  it('an isolated holder loses ticketA at expiry and its running primary is demoted (loss-policy demote); site 1 takes over with the replicated writes; never two writable primaries', async () => {
    await writeRows(lab, 's2', 't_deadman', 300);
    await replicated(lab, 's1', 't_deadman', 300);
    const watch = watchSites(lab);
    try {
      lab.link('s2', false);
      const leaseEnd = leaseEndAt('s2');
      // site 2 cannot renew: its boothd revokes the ticket in its CIB when the lease ends (not
      // before), and the policy engine demotes PostgreSQL there while the site is still running
      await until(async () => !(await lab.granted('s2', 'ticketA')), (EXPIRE + 10) * 1000, 300);
      expect(Date.now()).toBeGreaterThanOrEqual(leaseEnd - 1000);
      await dbBecomes(lab, 's2', 'Unpromoted', 30_000);
      expect(await lab.pgRole('s2')).toBe('standby');
      // site 1 acquires after expire + acquire-after, with our vote, and promotes its standby
      await leaderBecomes('s1', 'ticketA', S1, (EXPIRE + ACQUIRE_AFTER + 20) * 1000);
      expect(await lab.granted('s1', 'ticketA')).toBe(true);
      await dbBecomes(lab, 's1', 'Promoted', 30_000);
      expect(await lab.pgRole('s1')).toBe('primary');
      expect(await rowCount(lab, 's1', 't_deadman')).toBe(300);
      expect(lab.leaderOf('arb', 'ticketA')).toBe(S1);
      lab.link('s2', true);
      await leaderBecomes('s2', 'ticketA', S1, 20_000);
      expect(await lab.granted('s2', 'ticketA')).toBe(false);
      expect((await lab.roles('s2')).db).toBe('Unpromoted');
      expect(await lab.pgRole('s2')).toBe('standby');
    } finally {
      lab.link('s2', true);
    }
    const w = await watch.stop();
    expect(w.samples).toBeGreaterThan(10);
    expect(w.bothWritable).toBe(0);
    expect(w.bothPromoted).toBe(0);
  }, 150_000);

  it('fuzzed UDP datagrams and TCP requests are dropped and counted, state unchanged', async () => {
    const before = lab.list('s1', ARB);
    const peersBefore = lab.booth('s1', ['peers', '-s', ARB]).out;
    const out = lab.nodeIn(
      's2',
      `import dgram from 'node:dgram'; import net from 'node:net'; import crypto from 'node:crypto';
       const [arb, keyText] = process.argv.slice(1);
       const key = Buffer.from(keyText);
       const sock = dgram.createSocket('udp4');
       let sent = 0;
       // paced, so that the kernel's receive buffer does not drop what we want counted
       const send = (b) => new Promise((r) => sock.send(b, 9929, arb, () => (++sent % 20 ? r() : setTimeout(r, 5))));
       const u32 = (b, o, v) => b.writeUInt32BE(v >>> 0, o);
       const crc = (await import('node:zlib')).crc32;
       const from = (crc(Buffer.from([${lab.addr.s2.split('.').join(',')}])) & 0x7fffffff) >>> 0;
       function valid(cmd, secs) {
         const b = Buffer.alloc(152);
         u32(b, 0, 1); u32(b, 4, secs); u32(b, 8, 0); u32(b, 12, 0x5f1ba08c); u32(b, 16, 0x00010003);
         u32(b, 20, from); u32(b, 24, 152); b.write(cmd, 28, 'latin1'); b.write('ticketA', 48);
         u32(b, 112, from); u32(b, 116, 99); u32(b, 120, 3600);
         u32(b, 124, 2); crypto.createHmac('sha1', key).update(b.subarray(0, 124)).digest().copy(b, 128);
         return b;
       }
       let n = 0;
       const now = Math.floor(Date.now() / 1000);
       for (let i = 0; i < 600; i++) { await send(crypto.randomBytes(1 + (i % 300))); n++; }
       for (let i = 0; i < 600; i++) {
         const b = valid(['HrtB', 'UpdE', 'RVot', 'Revk', 'MIdx'][i % 5], now);
         // any covered byte (from .. MAC); the 4 pad bytes after the MAC are not covered by it
         const pos = 20 + (i % 128); b[pos] ^= 1 + (i % 255);
         await send(b); n++;
       }
       // replays: correctly signed heartbeats stamped before the 600 s window
       for (let i = 0; i < 50; i++) { await send(valid('HrtB', now - 700 - i)); n++; }
       // oversized and header-only
       await send(Buffer.alloc(2000, 7)); await send(valid('HrtB', now).subarray(0, 48)); n += 2;
       sock.close();
       let tcp = 0;
       for (let i = 0; i < 40; i++) {
         await new Promise((r) => {
           const c = net.connect(9929, arb, () => {
             const b = i % 2 ? crypto.randomBytes(200) : valid('CLst', now);
             if (!(i % 2)) b[130] ^= 0xff;
             c.end(b);
           });
           c.on('data', () => {}); c.on('error', () => r()); c.on('close', () => r());
           c.setTimeout(3000, () => c.destroy());
         });
         tcp++;
       }
       console.log(JSON.stringify({ udp: n, tcp }));`,
      [ARB, LAB_KEY_TEXT],
    );
    expect(JSON.parse(out)).toEqual({ udp: 1252, tcp: 40 });
    const authfail = (text: string) =>
      Number(
        new RegExp(`${S2.replaceAll('.', '\\.')}[^\\n]*\\n[^\\n]*\\n\\tRecv pkts:\\d+ error:\\d+ authfail:(\\d+)`).exec(
          text,
        )?.[1],
      );
    // the arbitrator has worked through the fuzz (its auth failures counted), and is still up
    await waitFor(
      'the arbitrator to count at least 500 auth failures from the fuzz',
      () => authfail(lab.booth('s1', ['peers', '-s', ARB]).out) - authfail(peersBefore) >= 500,
      10_000,
      200,
    );
    expect(lab.procs.get('arb')?.child.exitCode).toBeNull();
    const after = lab.list('s1', ARB);
    expect(after.replace(/expires: [^\n]*/g, '')).toBe(before.replace(/expires: [^\n]*/g, ''));
    // the real sites still follow the holder
    await leaderBecomes('s2', 'ticketA', S1, 15_000);
    expect((await lab.roles('s1')).db).toBe('Promoted');
    expect(await lab.pgRole('s1')).toBe('primary');
  });
});

describe('booth arbitrator without authfile', () => {
  // 124-byte member messages; the booth client still writes 152 bytes with length 124
  const plain = new BoothLab({
    prefix: 'rwbt-n',
    net: '10.213.90',
    auth: false,
    expireS: EXPIRE,
    timeoutS: 1,
    retries: 3,
    acquireAfterS: ACQUIRE_AFTER,
  });

  beforeAll(async () => {
    await plain.create();
    const arb = plain.startOurs();
    await arb.waitFor(/listening on/, 30_000);
    plain.startBoothd('s1');
    plain.startBoothd('s2');
    await until(
      () => /ticket: ticketA/.test(plain.list('s1')) && /ticket: ticketA/.test(plain.list('s2')),
      20_000,
      300,
    );
    await arb.waitFor(/ticketA: start-up quiet period over/, 10_000);
  }, 240_000);

  afterAll(async () => {
    await plain.destroy();
  }, 60_000);

  it('grants with our vote, answers booth list and peers, and site 2 promotes', async () => {
    expect(plain.booth('s2', ['grant', 'ticketA']).out).toMatch(/grant succeeded/);
    await until(() => plain.leaderOf('s1', 'ticketA', plain.addr.arb) === plain.addr.s2, 10_000, 300);
    expect(plain.leaderOf('arb', 'ticketA')).toBe(plain.addr.s2);
    expect(plain.booth('s1', ['peers', '-s', plain.addr.arb]).out).toMatch(/authfail:0 invalid:0/);
    expect(await plain.granted('s2', 'ticketA')).toBe(true);
    await dbBecomes(plain, 's2', 'Promoted', 20_000);
    expect((await plain.roles('s1')).db).toBe('Unpromoted');
    expect(await plain.pgRole('s2')).toBe('primary');
    expect(await plain.pgRole('s1')).toBe('standby');
  });

  it('an orderly move by booth revoke and grant: site 2 demotes, site 1 is promoted with every acknowledged write, site 2 follows it', async () => {
    await writeRows(plain, 's2', 't_move', 200);
    await replicated(plain, 's1', 't_move', 200);
    const watch = watchSites(plain);
    expect(plain.booth('s2', ['revoke', 'ticketA']).out).toMatch(/revoke succeeded/);
    // revoked in site 2's CIB: loss-policy demote stops the primary cleanly and restarts it as a standby
    await until(async () => !(await plain.granted('s2', 'ticketA')), 10_000, 300);
    await dbBecomes(plain, 's2', 'Unpromoted', 30_000);
    expect(await plain.pgRole('s2')).toBe('standby');
    expect(plain.booth('s1', ['grant', 'ticketA']).out).toMatch(/grant succeeded/);
    await dbBecomes(plain, 's1', 'Promoted', 30_000);
    expect(await plain.pgRole('s1')).toBe('primary');
    expect(await rowCount(plain, 's1', 't_move')).toBe(200);
    // the old primary's shutdown reached site 1 before the promotion: it follows the new timeline
    await waitFor('site 2 streaming from site 1', () => plain.streaming('s2'), 30_000, 300);
    const w = await watch.stop();
    // the move takes a few seconds; a sample (two psql, two crm_mon) about a quarter of one
    expect(w.samples).toBeGreaterThan(5);
    expect(w.bothWritable).toBe(0);
    expect(w.bothPromoted).toBe(0);
  }, 120_000);
});

describe('loss-policy fence: a site that loses the ticket is fenced through its BMC', () => {
  const fl = new BoothLab({
    prefix: 'rwbt-f',
    net: '10.213.91',
    auth: true,
    expireS: EXPIRE,
    timeoutS: 1,
    retries: 3,
    acquireAfterS: ACQUIRE_AFTER,
    lossPolicy: 'fence',
  });

  beforeAll(async () => {
    await fl.create();
    const arb = fl.startOurs();
    await arb.waitFor(/listening on/, 30_000);
    fl.startBoothd('s1');
    fl.startBoothd('s2');
    await until(() => /ticket: ticketA/.test(fl.list('s1')) && /ticket: ticketA/.test(fl.list('s2')), 20_000, 300);
    await arb.waitFor(/ticketA: start-up quiet period over/, 10_000);
  }, 240_000);

  afterAll(async () => {
    await fl.destroy();
  }, 60_000);

  it('the isolated holder is powered off by its own fence device; the other site takes the ticket and promotes its standby', async () => {
    expect(fl.booth('s1', ['grant', 'ticketA']).out).toMatch(/grant succeeded/);
    await dbBecomes(fl, 's1', 'Promoted', 20_000);
    await writeRows(fl, 's1', 't_fence', 100);
    await replicated(fl, 's2', 't_fence', 100);
    const fence = (await fl.crmMon('s1')).resources.find((r) => r.id === 'fence-site');
    expect(fence?.role).toBe('Started');
    await until(() => fl.leaderOf('s2', 'ticketA') === fl.addr.s1, 10_000, 300);
    const watch = watchSites(fl);
    try {
      // the site's booth LAN port goes down; its management link to the BMC stays
      fl.link('s1', false);
      // lease end: boothd revokes ticketA in site 1's CIB, loss-policy fence makes Pacemaker fence
      // node1, its fence_ipmilan powers it off through the BMC (ipmi_sim's chassis control)
      // (the BMC hook notes the command after the power-off is complete)
      await waitFor(
        'site 1 powered off by its fence device',
        () => fl.chassisLog('s1').includes('set power 0'),
        (EXPIRE + 30) * 1000,
        300,
      );
      expect(fl.power('s1')).toBe('off');
      expect(fl.sitePids('s1')).toEqual([]);
      // site 1's own log (on its disk): boothd revoked with crm_ticket, the scheduler fenced for the
      // lost deadman ticket, and the fencer, alone in its cluster, fenced its own node
      const log = fl.pacemakerLog('s1');
      expect(log).toMatch(/ticket_state\[@id='ticketA'\]: {2}@granted=false/);
      expect(log).toMatch(/Cluster node node1 will be fenced: deadman ticket was lost/);
      expect(log).toMatch(/Will handle own fencing because no peer can/);
      expect(log).toMatch(/Requesting that node1 perform '(reboot|off)' action targeting node1/);
      await until(() => fl.leaderOf('s2', 'ticketA') === fl.addr.s2, (EXPIRE + ACQUIRE_AFTER + 20) * 1000, 300);
      expect(await fl.granted('s2', 'ticketA')).toBe(true);
      await dbBecomes(fl, 's2', 'Promoted', 20_000);
      expect(await fl.pgRole('s2')).toBe('primary');
      expect(await rowCount(fl, 's2', 't_fence')).toBe(100);
      // nothing else powered site 2 off
      expect(fl.chassisLog('s2')).not.toContain('set power 0');
    } finally {
      fl.link('s1', true);
    }
    const w = await watch.stop();
    expect(w.bothWritable).toBe(0);
    expect(w.bothPromoted).toBe(0);
  }, 150_000);
});
