/**
 * Arbitrator benchmark: the same namespace lab (two live Pacemaker sites running real boothd) run once with our
 * arbitrator and once with Debian's boothd as arbitrator. Measured per kind: `booth grant` time,
 * failover time of the automatic ticket after kill -9 of the holder (protocol-bound: expire +
 * acquire-after + election, so both should be about equal), CPU time and peak RSS of the
 * arbitrator process over the whole scenario. Writes bench/results/arbitrator.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { BoothLab, type Member } from '../test/fixtures/booth-lab.js';
import { sleep, until } from '../test/fixtures/proc.js';
import { median } from './lib.js';

const EXPIRE = 10;
const ACQUIRE_AFTER = 2;
const FAILOVERS = 3;
const GRANTS = 3;

interface KindResult {
  grantMs: number[];
  failoverMs: number[];
  cpuMs: number;
  /** CPU time after start-up (from listening to the end of the scenario). */
  steadyCpuMs: number;
  rssKiB: number;
}

function procStats(pid: number): { cpuMs: number; rssKiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return { cpuMs: (ticks * 1000) / 100, rssKiB: Number(hwm) };
}

const labs: BoothLab[] = [];
afterAll(async () => {
  for (const l of labs) await l.destroy();
});

async function runKind(kind: 'ours' | 'boothd'): Promise<KindResult> {
  const lab = new BoothLab({
    prefix: 'rwbt-b',
    net: '10.213.89',
    auth: true,
    expireS: EXPIRE,
    timeoutS: 1,
    retries: 3,
    acquireAfterS: ACQUIRE_AFTER,
  });
  labs.push(lab);
  await lab.create();
  const arb = kind === 'ours' ? lab.startOurs() : lab.startBoothd('arb');
  if (kind === 'ours') await arb.waitFor(/listening on/, 30_000);
  else await sleep(500);
  lab.startBoothd('s1');
  lab.startBoothd('s2');
  await until(() => /ticket: ticketA/.test(lab.list('s1')) && /ticket: ticketA/.test(lab.list('s2')), 20_000, 300);
  await sleep(2500); // past our start-up quiet period (two timeouts without new votes)
  const res: KindResult = { grantMs: [], failoverMs: [], cpuMs: 0, steadyCpuMs: 0, rssKiB: 0 };
  const arbPid = lab.procs.get('arb')?.child.pid as number;
  const startCpu = procStats(arbPid).cpuMs;

  // grant / revoke cycles at site 1
  for (let i = 0; i < GRANTS; i++) {
    const t0 = performance.now();
    const g = lab.booth('s1', ['grant', 'ticketA']);
    res.grantMs.push(performance.now() - t0);
    expect(g.out).toMatch(/grant succeeded/);
    if (i < GRANTS - 1) {
      expect(lab.booth('s1', ['revoke', 'ticketA']).out).toMatch(/revoke succeeded/);
      await until(() => lab.leaderOf('arb', 'ticketA') === 'none', 10_000, 100);
    }
  }
  await until(() => lab.leaderOf('s2', 'ticketA') === lab.addr.s1, 10_000, 100);

  // failovers: kill -9 the holder, time until the other site holds the ticket
  let holder: 's1' | 's2' = 's1';
  for (let i = 0; i < FAILOVERS; i++) {
    const other: 's1' | 's2' = holder === 's1' ? 's2' : 's1';
    await sleep(1000);
    const t0 = performance.now();
    await lab.kill(holder as Member, 'SIGKILL');
    await until(() => lab.leaderOf(other, 'ticketA') === lab.addr[other], (EXPIRE + ACQUIRE_AFTER + 20) * 1000, 100);
    res.failoverMs.push(performance.now() - t0);
    lab.startBoothd(holder);
    await until(() => lab.leaderOf(holder, 'ticketA') === lab.addr[other], 20_000, 200);
    holder = other;
  }
  Object.assign(res, procStats(arbPid));
  res.steadyCpuMs = res.cpuMs - startCpu;
  await lab.destroy();
  labs.splice(labs.indexOf(lab), 1);
  return res;
}

describe('arbitrator: ours vs boothd', () => {
  it('measures grant, failover, CPU and RSS in the same lab', async () => {
    const ours = await runKind('ours');
    const peer = await runKind('boothd');
    const row = (name: string, o: number, p: number, runs: number, note: string, extra = {}) => ({
      name,
      ours_ms: Math.round(o),
      peer: 'boothd (Debian 12 booth 1.0)',
      peer_ms: Math.round(p),
      ratio: o > 0 ? Number((p / o).toFixed(2)) : null,
      runs,
      note,
      ...extra,
    });
    const rows = [
      row(
        'booth grant at a site (election + commit)',
        median(ours.grantMs),
        median(peer.grantMs),
        GRANTS,
        'client-observed; includes the sites’ own timers',
      ),
      row(
        'failover after kill -9 of the holder',
        median(ours.failoverMs),
        median(peer.failoverMs),
        FAILOVERS,
        `protocol-bound: expire ${EXPIRE} s + acquire-after ${ACQUIRE_AFTER} s + election; polled every 100 ms`,
      ),
      row(
        'arbitrator CPU time over the scenario',
        ours.cpuMs,
        peer.cpuMs,
        1,
        'utime+stime of the arbitrator process, start-up included',
        {
          ours_rss_kib: ours.rssKiB,
          peer_rss_kib: peer.rssKiB,
        },
      ),
      row(
        'arbitrator CPU time after start-up',
        ours.steadyCpuMs,
        peer.steadyCpuMs,
        1,
        '3 grants, 2 revokes, 3 failovers and the renewals in between (10 ms clock ticks)',
      ),
    ];
    const result = {
      title: 'booth arbitrator: rackwitness vs boothd in the same namespace lab',
      rows,
      raw: { ours, peer },
    };
    mkdirSync('bench/results', { recursive: true });
    writeFileSync('bench/results/arbitrator.json', `${JSON.stringify(result, null, 2)}\n`);
    console.table(rows.map(({ name, ours_ms, peer_ms, ratio, runs }) => ({ name, ours_ms, peer_ms, ratio, runs })));
    console.log(`peak RSS: ours ${ours.rssKiB} KiB, boothd ${peer.rssKiB} KiB`);
    expect(ours.failoverMs.length).toBe(FAILOVERS);
    expect(peer.failoverMs.length).toBe(FAILOVERS);
  });
});
