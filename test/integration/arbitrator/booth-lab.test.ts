/**
 * Our arbitrator between two real boothd sites, each member in its own network namespace on a
 * private bridge (prefix rwbth). Scenarios run in order and share the lab: grant, `booth list`
 * and `booth peers` from every member and against our arbitrator, wrong-key client, arbitrator
 * restart mid-lease, kill -9 of the holder (automatic ticket moves, manual stays), a partitioned
 * holder (never granted at two sites at once), and a fuzz run against the UDP and TCP ports.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BoothLab, LAB_KEY_TEXT } from '../../fixtures/booth-lab.js';
import { until, waitFor } from '../../fixtures/proc.js';

const EXPIRE = 10;
const ACQUIRE_AFTER = 2;

const lab = new BoothLab({
  prefix: 'rwbth',
  net: '10.213.88',
  auth: true,
  expireS: EXPIRE,
  timeoutS: 1,
  retries: 3,
  acquireAfterS: ACQUIRE_AFTER,
});
const { s1: S1, s2: S2, arb: ARB } = lab.addr;

/** Polls `booth list` at a member until the ticket's leader is `want`. */
async function leaderBecomes(m: 's1' | 's2' | 'arb', ticket: string, want: string, timeoutMs: number) {
  return until(() => lab.leaderOf(m, ticket) === want, timeoutMs, 300);
}

function granted(m: 's1' | 's2', ticket: string): boolean {
  return lab.cib(m, ticket).granted === 'true';
}

describe('booth arbitrator against real boothd sites', () => {
  beforeAll(async () => {
    lab.create();
    const arb = lab.startOurs();
    await arb.waitFor(/listening on/, 30_000);
    lab.startBoothd('s1');
    lab.startBoothd('s2');
    // sites broadcast Stat at start and wait up to `timeout` for the answers
    await until(() => /ticket: ticketA/.test(lab.list('s1')) && /ticket: ticketA/.test(lab.list('s2')), 20_000, 300);
    // our start-up quiet period (two timeouts without new votes): wait until it says it is over
    await arb.waitFor(/ticketM: start-up quiet period over/, 10_000);
    await arb.waitFor(/ticketA: start-up quiet period over/, 10_000);
  });

  afterAll(async () => {
    await lab.destroy();
  });

  it('answers booth list on every member before any grant', () => {
    const expected = 'ticket: ticketA, leader: NONE\nticket: ticketM, leader: NONE [manual mode]\n';
    expect(lab.list('arb')).toBe(expected);
    expect(lab.list('s1', ARB)).toBe(expected);
    expect(lab.list('s1')).toBe(expected);
    expect(lab.list('s2')).toBe(expected);
    expect(lab.list('s2', ARB)).toBe(expected);
  });

  it('grants the automatic and the manual ticket to site 1 with our vote', async () => {
    const a = lab.booth('s1', ['grant', 'ticketA']);
    expect(a.out).toMatch(/grant succeeded/);
    const m = lab.booth('s1', ['grant', 'ticketM']);
    expect(m.out).toMatch(/grant succeeded/);
    await leaderBecomes('arb', 'ticketA', S1, 10_000);
    await leaderBecomes('s2', 'ticketA', S1, 10_000);
    await leaderBecomes('arb', 'ticketM', S1, 10_000);
    expect(granted('s1', 'ticketA')).toBe(true);
    const list = lab.list('s2', ARB);
    expect(list).toMatch(
      new RegExp(
        `^ticket: ticketA, leader: ${S1.replaceAll('.', '\\.')}, expires: \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\n`,
      ),
    );
    expect(list).toMatch(
      new RegExp(`ticket: ticketM, leader: ${S1.replaceAll('.', '\\.')}, expires: INF \\[manual mode\\]\\n$`),
    );
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

  it('relearns the holder after a restart mid-lease', async () => {
    await lab.kill('arb', 'SIGKILL');
    const arb = lab.startOurs();
    await arb.waitFor(/listening on/, 30_000);
    // Stat at start -> the sites answer MIdx with their view (holder and remaining lease)
    await leaderBecomes('arb', 'ticketA', S1, 15_000);
    await leaderBecomes('arb', 'ticketM', S1, 15_000);
    expect(granted('s1', 'ticketA')).toBe(true);
    expect(granted('s2', 'ticketA')).toBe(false);
  });

  it('kill -9 of the holder: the automatic ticket moves to site 2, the manual one stays', async () => {
    // the arbitrator restarted by the last test can vote again, and site 2 follows site 1
    await lab.procs.get('arb')?.waitFor(/ticketA: start-up quiet period over/, 10_000);
    await leaderBecomes('s2', 'ticketA', S1, 10_000);
    await lab.kill('s1', 'SIGKILL');
    await leaderBecomes('s2', 'ticketA', S2, (EXPIRE + ACQUIRE_AFTER + 15) * 1000);
    await leaderBecomes('arb', 'ticketA', S2, 5_000);
    expect(lab.leaderOf('s2', 'ticketM')).toBe(S1);
    expect(lab.leaderOf('arb', 'ticketM')).toBe(S1);
    expect(granted('s2', 'ticketA')).toBe(true);
    // the restarted site learns where the ticket lives now
    lab.startBoothd('s1');
    await leaderBecomes('s1', 'ticketA', S2, 20_000);
    // its stale CIB grant is revoked once it learns that
    await until(() => !granted('s1', 'ticketA'), 15_000, 200);
  });

  it('a partitioned holder and its reconnection never lead to a double grant', async () => {
    let both = 0;
    let samples = 0;
    const watch = setInterval(() => {
      samples++;
      if (granted('s1', 'ticketA') && granted('s2', 'ticketA')) both++;
    }, 100);
    try {
      lab.link('s2', false);
      await until(() => granted('s1', 'ticketA'), (EXPIRE + ACQUIRE_AFTER + 20) * 1000, 200);
      expect(lab.leaderOf('arb', 'ticketA')).toBe(S1);
      lab.link('s2', true);
      await leaderBecomes('s2', 'ticketA', S1, 20_000);
      expect(granted('s2', 'ticketA')).toBe(false);
    } finally {
      clearInterval(watch);
      lab.link('s2', true);
    }
    expect(samples).toBeGreaterThan(20);
    expect(both).toBe(0);
  });

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
  });
});

describe('booth arbitrator without authfile', () => {
  // 124-byte member messages; the booth client still writes 152 bytes with length 124
  const plain = new BoothLab({
    prefix: 'rwbth-n',
    net: '10.213.90',
    auth: false,
    expireS: EXPIRE,
    timeoutS: 1,
    retries: 3,
    acquireAfterS: ACQUIRE_AFTER,
  });

  beforeAll(async () => {
    plain.create();
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
  });

  afterAll(async () => {
    await plain.destroy();
  });

  it('grants with our vote and answers booth list and peers', async () => {
    expect(plain.booth('s2', ['grant', 'ticketA']).out).toMatch(/grant succeeded/);
    await until(() => plain.leaderOf('s1', 'ticketA', plain.addr.arb) === plain.addr.s2, 10_000, 300);
    expect(plain.leaderOf('arb', 'ticketA')).toBe(plain.addr.s2);
    expect(plain.booth('s1', ['peers', '-s', plain.addr.arb]).out).toMatch(/authfail:0 invalid:0/);
  });
});
