/**
 * PDU benchmark, ours vs the real fence agents, same run, same emulated PDUs. Medians.
 *
 *   SNMP status        ours: a fresh driver (new UDP session, sysObjectID read, one GET);
 *                      peer: fence_apc_snmp --action status (whole process)
 *   SNMP off verified  ours: fresh driver, SET off, GET until off; peer: fence_apc_snmp --action off
 *   serial off verified ours: fresh driver on the pty (open port, ENTER, login, olOff, bye; then a
 *                      second session with olStatus until off); peer: fence_apc --action off over
 *                      telnet to the same emulated PDU (its only transport)
 * The outlet is switched back on (untimed) between off runs so every off is a real transition.
 * Also reported: the same operations on a warm driver (what the daemon does with a held driver).
 * Writes bench/results/pdu.json.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { apcSnmpDeviceSchema, createApcSnmpDriver } from '../src/fencing/devices/apc-snmp/index.js';
import type { PowerDriver } from '../src/fencing/devices/driver.js';
import { createPduSerialDriver, pduSerialDeviceSchema } from '../src/fencing/devices/pdu-serial/index.js';
import { runOneLevel } from '../src/fencing/operations/one-level.js';
import { consoleState, SerialConsole, TelnetConsole } from '../test/fixtures/apc-console.js';
import { startFakeSnmpPdu } from '../test/fixtures/pdu-snmpd.js';
import { cleanupDir, tempDir } from '../test/fixtures/proc.js';
import { startPtyPair } from '../test/fixtures/pty-pair.js';
import { childCpuMs, median, packagedLayout } from './lib.js';

const run = promisify(execFile);
const OURS_RUNS = 21;
const PEER_RUNS = 9;
const sig = () => AbortSignal.timeout(30_000);
/** The CLI's and the daemon's verified off (read first, off, read off back), as fence_apc_snmp does. */
const verifiedOff = async (d: PowerDriver, plug: string) => {
  const r = await runOneLevel(d, plug, 'off', {
    powerTimeoutMs: 10_000,
    pollIntervalMs: 50,
    commandTimeoutMs: 10_000,
    bootDelayMs: 0,
  });
  if (!r.ok) throw new Error(r.reason);
};

const r1 = (x: number) => Math.round(x * 10) / 10;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function agent(bin: string, args: string[], expectRc: number): Promise<number> {
  const t0 = performance.now();
  let rc = 0;
  try {
    await run(bin, args, { timeout: 60_000 });
  } catch (e) {
    rc = (e as { code?: number }).code ?? -1;
  }
  const ms = performance.now() - t0;
  expect(rc, `${bin} ${args.join(' ')}`).toBe(expectRc);
  return ms;
}

const rows: Record<string, unknown>[] = [];
afterAll(() => {
  const result = { title: 'PDU drivers (SNMP, serial console)', rows };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/pdu.json', `${JSON.stringify(result, null, 2)}\n`);
  console.table(
    rows.map((r) => ({ name: r.name, ours_ms: r.ours_ms, peer: r.peer, peer_ms: r.peer_ms, ratio: r.ratio })),
  );
});

it('SNMP: status and off-verified, ours vs fence_apc_snmp', async () => {
  const pdu = await startFakeSnmpPdu({ names: { '3': 'node-a' } });
  const secrets = { readSecret: async () => 'private' };
  const cfg = {
    driver: 'apc-snmp' as const,
    name: 'bench-pdu',
    host: '127.0.0.1',
    port: pdu.port,
    community_file: 'community',
  };
  const fresh = () => createApcSnmpDriver(apcSnmpDeviceSchema.parse(cfg), secrets);
  const peerArgs = ['--ip', '127.0.0.1', '--ipport', String(pdu.port), '--community', 'private', '--plug', '7'];
  const warm = fresh();
  await warm.on('7', sig());

  const status: number[] = [];
  const off: number[] = [];
  const warmStatus: number[] = [];
  const warmOff: number[] = [];
  for (let i = 0; i < OURS_RUNS; i++) {
    const d = fresh();
    status.push(await timed(() => d.status('7', sig())));
    await d.close();
    const d2 = fresh();
    off.push(await timed(() => verifiedOff(d2, '7')));
    await d2.close();
    expect(pdu.read().outlets['7']?.state).toBe('off');
    await warm.on('7', sig());
    warmStatus.push(await timed(() => warm.status('7', sig())));
    warmOff.push(await timed(() => verifiedOff(warm, '7')));
    await warm.on('7', sig());
  }
  const peerStatus: number[] = [];
  const peerOff: number[] = [];
  let peerOffCpuSum = 0;
  for (let i = 0; i < PEER_RUNS; i++) {
    peerStatus.push(await agent('/usr/sbin/fence_apc_snmp', [...peerArgs, '--action', 'status'], 0));
    const c = childCpuMs();
    peerOff.push(await agent('/usr/sbin/fence_apc_snmp', [...peerArgs, '--action', 'off'], 0));
    peerOffCpuSum += childCpuMs() - c;
    expect(pdu.read().outlets['7']?.state).toBe('off');
    await warm.on('7', sig());
  }
  const peerOffCpu = Math.round(peerOffCpuSum / PEER_RUNS);
  // The box package's command: rackwitness pdu ... outlet 7 off (whole process, verified).
  const pkg = await packagedLayout();
  const [pkgNode, ...pkgArgs] = pkg.cli as [string, ...string[]];
  const cdir = cleanupDir(tempDir('rwpdu-bench-'));
  const communityFile = join(cdir, 'community');
  writeFileSync(communityFile, 'private\n');
  chmodSync(communityFile, 0o600);
  const cliArgs = [...pkgArgs, 'pdu', '--driver', 'apc-snmp', '--host', '127.0.0.1', '--port', String(pdu.port)];
  cliArgs.push('--community-file', communityFile, 'outlet', '7', 'off');
  const cliOff: number[] = [];
  await warm.on('7', sig());
  await agent(pkgNode, cliArgs, 0); // warm-up (page cache)
  const c0 = childCpuMs();
  for (let i = 0; i < OURS_RUNS; i++) {
    await warm.on('7', sig());
    cliOff.push(await agent(pkgNode, cliArgs, 0));
    expect(pdu.read().outlets['7']?.state).toBe('off');
  }
  const cliCpu = Math.round((childCpuMs() - c0) / OURS_RUNS);
  await warm.close();
  await pdu.stop();
  rows.push({
    name: 'SNMP outlet off, verified (packaged CLI process)',
    ours_ms: r1(median(cliOff)),
    peer: 'fence_apc_snmp',
    peer_ms: r1(median(peerOff)),
    ratio: r1(median(peerOff) / median(cliOff)),
    runs: cliOff.length,
    peer_runs: peerOff.length,
    ours_cpu_ms: cliCpu,
    peer_cpu_ms: peerOffCpu,
    target: '≥ 3× faster',
    met: median(peerOff) / median(cliOff) >= 3,
    note: 'rackwitness pdu --driver apc-snmp ... outlet 7 off from the rackwitness package (node start, SET, GET until off) vs fence_apc_snmp --action off, both whole processes',
  });
  const row = (name: string, ours: number[], peer: number[], w: number[], ref: number) => ({
    name,
    ours_ms: r1(median(ours)),
    peer: 'fence_apc_snmp',
    peer_ms: r1(median(peer)),
    ratio: r1(median(peer) / median(ours)),
    runs: ours.length,
    peer_runs: peer.length,
    ours_warm_ms: r1(median(w)),
    reference_peer_ms: ref,
    target: '≥ 20× faster',
    note: 'ours: fresh in-process driver per run (new session + sysObjectID); peer: whole process; real snmpd + pass_persist emulator on loopback',
  });
  rows.push(row('SNMP outlet status', status, peerStatus, warmStatus, 340));
  rows.push(row('SNMP outlet off, verified', off, peerOff, warmOff, 587));
});

async function serialRow(cps: number): Promise<void> {
  const dir = cleanupDir(tempDir('rwpdu-bench-'));
  const st = consoleState(8, { 3: 'node-a' });
  const creds = { user: 'apc', password: 'apc-bench' };
  const pair = await startPtyPair(dir);
  const con = await SerialConsole.open(pair.a, st, creds, cps);
  const telnet = await TelnetConsole.listen(st, creds);
  const mk = (): PowerDriver =>
    createPduSerialDriver(
      pduSerialDeviceSchema.parse({
        driver: 'pdu-serial',
        name: 'bench-serial',
        device: pair.b,
        user: 'apc',
        password_file: 'pw',
      }),
      { readSecret: async () => creds.password },
    );
  const runs = cps > 0 ? 7 : OURS_RUNS;
  const off: number[] = [];
  const warmOff: number[] = [];
  const peerOff: number[] = [];
  for (let i = 0; i < runs; i++) {
    const d = mk();
    off.push(await timed(() => verifiedOff(d, '6')));
    await d.close();
    expect(st.outlets.get(6)?.state).toBe('off');
    st.outlets.set(6, { name: 'Outlet 6', state: 'on' });
  }
  const warm = mk();
  await warm.status('6', sig());
  for (let i = 0; i < runs; i++) {
    warmOff.push(await timed(() => verifiedOff(warm, '6')));
    st.outlets.set(6, { name: 'Outlet 6', state: 'on' });
  }
  await warm.close();
  const args = [
    '--ip',
    '127.0.0.1',
    '--ipport',
    String(telnet.port),
    '--username',
    'apc',
    '--password',
    creds.password,
  ];
  for (let i = 0; i < PEER_RUNS; i++) {
    peerOff.push(await agent('/usr/sbin/fence_apc', [...args, '--plug', '6', '--action', 'off'], 0));
    expect(st.outlets.get(6)?.state).toBe('off');
    st.outlets.set(6, { name: 'Outlet 6', state: 'on' });
  }
  await telnet.close();
  await con.close();
  await pair.stop();
  rows.push({
    name:
      cps > 0
        ? `serial console outlet off, verified (console paced at ${cps} chars/s = 9600 8N1)`
        : 'serial console outlet off, verified',
    ours_ms: r1(median(off)),
    peer: 'fence_apc (telnet)',
    peer_ms: r1(median(peerOff)),
    ratio: r1(median(peerOff) / median(off)),
    runs: off.length,
    peer_runs: peerOff.length,
    ours_warm_ms: r1(median(warmOff)),
    reference_peer_ms: 2633,
    target: '≤ 1/4 of the peer (≥ 4×)',
    note:
      (cps > 0 ? 'console output paced like a 9600 bps line (banner ~700 chars); ' : 'pty without baud delay; ') +
      'ours: fresh driver per run (open port, ENTER, login, olOff, olStatus on the lingering session); warm = driver held by the daemon; peer: fence_apc over telnet (unpaced TCP) to the same emulated PDU, emulator bad-login delay 200 ms',
  });
}

it('serial: off-verified over the console (pty), ours vs fence_apc (telnet)', async () => {
  await serialRow(0);
});

it('serial: off-verified with the console paced at 9600 bps, ours vs fence_apc (telnet)', async () => {
  await serialRow(960);
});
