/**
 * IPMI benchmark: our native RMCP+ driver vs the real fence_ipmilan (--lanplus --cipher 3) and
 * ipmitool -I lanplus -C 3, all against the same ipmi_sim in the same run. Medians.
 *
 *   status          one Get Chassis Status (ours: in-process session; peers: whole process)
 *   off verified    power off, then status until off (fence_ipmilan --action off does exactly that)
 *   reboot          off verified, then on verified (fence_ipmilan --action reboot, method onoff)
 *   ... via CLI     ours as a fresh `node dist/cli/main.js ipmi ...` process, start to answer
 *
 * The rail is reset before every run without IPMI (hook file), like hyperfine --prepare.
 * Writes bench/results/ipmi.json.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect, it } from 'vitest';
import { IpmiClient } from '../src/fencing/devices/ipmi/client.js';
import { ipmiDriverOf } from '../src/fencing/devices/ipmi/index.js';
import { runOneLevel } from '../src/fencing/operations/one-level.js';
import { run, startIpmiSim } from '../test/fixtures/ipmi-sim.js';
import { onCleanup, tempDir } from '../test/fixtures/proc.js';
import { childCpuMs, measure, median, packagedLayout } from './lib.js';

const CLI = 'dist/cli/main.js';

async function proc(cmd: string, args: string[], okCodes = [0]): Promise<void> {
  const r = await run(cmd, args, 60_000, { ...process.env, PYTHONWARNINGS: 'ignore' });
  if (!okCodes.includes(r.code)) throw new Error(`${cmd} ${args.join(' ')} -> ${r.code}\n${r.stdout}${r.stderr}`);
}

const r1 = (n: number) => Math.round(n * 10) / 10;

it('ipmi: ours vs fence_ipmilan vs ipmitool against the same ipmi_sim', async () => {
  const sim = await startIpmiSim({ power: 'on' });
  const on = () => sim.setPower('on');
  const off = () => sim.setPower('off');
  const client = new IpmiClient({
    host: sim.host,
    port: sim.port,
    username: 'admin',
    password: Buffer.from(sim.password),
    cipher: 3,
    privilege: 'administrator',
  });
  const fi = ['--ip', sim.host, '--ipport', String(sim.port), '--username', 'admin', '--password', sim.password];
  fi.push('--lanplus', '--cipher', '3');
  const it3 = [
    '-I',
    'lanplus',
    '-H',
    sim.host,
    '-p',
    String(sim.port),
    '-U',
    'admin',
    '-f',
    sim.passwordFile,
    '-C',
    '3',
  ];
  const cli = [
    'ipmi',
    '--host',
    sim.host,
    '--port',
    String(sim.port),
    '--user',
    'admin',
    '--password-file',
    sim.passwordFile,
  ];

  // A CLI process that loads only the ipmi command (what lazy command loading would give).
  const leanDir = tempDir('rwipmi-bench-');
  onCleanup(() => rmSync(leanDir, { recursive: true, force: true }));
  const lean = join(leanDir, 'lean-cli.mjs');
  writeFileSync(
    lean,
    [
      `import { Command } from '${resolve('node_modules/commander/esm.mjs')}';`,
      `import { registerIpmiCli } from '${resolve('dist/fencing/cli/ipmi.js')}';`,
      "const p = new Command('rackwitness');",
      'registerIpmiCli(p);',
      'await p.parseAsync(process.argv);',
      '',
    ].join('\n'),
  );

  // The box package's command (bundle split per command, node with the unit's flags).
  const pkg = await packagedLayout();
  const [pkgNode, ...pkgArgs] = pkg.cli as [string, ...string[]];

  // Warm-up (JIT, page cache of the peers' binaries).
  await proc(pkgNode, [...pkgArgs, ...cli, 'power', 'status']);
  await client.status();
  await proc('ipmitool', [...it3, 'chassis', 'power', 'status']);
  await proc('node', [CLI, ...cli, 'power', 'status']);
  await proc('node', [lean, ...cli, 'power', 'status']);

  // the daemon's (and the CLI's) verified operation: read, switch, read back; reboot without a boot delay
  const drv = ipmiDriverOf(client);
  const verified = async (action: 'off' | 'reboot') => {
    const r = await runOneLevel(drv, 'chassis', action, {
      powerTimeoutMs: 20_000,
      pollIntervalMs: 50,
      commandTimeoutMs: 10_000,
      bootDelayMs: 0,
    });
    if (!r.ok) throw new Error(r.reason);
  };
  const N = 30;
  let pkgCpu = 0;
  const ours = {
    status: await measure(N, on, () => client.status()),
    off: await measure(N, on, () => verified('off')),
    reboot: await measure(10, on, () => verified('reboot')),
    cliStatus: await measure(10, on, () => proc('node', [CLI, ...cli, 'power', 'status'])),
    leanStatus: await measure(10, on, () => proc('node', [lean, ...cli, 'power', 'status'])),
    // before cliOff: the check below wants the rail left off by the last off
    pkgStatus: await (async () => {
      const c0 = childCpuMs();
      const w = await measure(15, on, () => proc(pkgNode, [...pkgArgs, ...cli, 'power', 'status']));
      pkgCpu = Math.round((childCpuMs() - c0) / 15);
      return w;
    })(),
    cliOff: await measure(10, on, () => proc('node', [CLI, ...cli, 'power', 'off', '--verify'])),
  };
  expect(sim.powerState()).toBe('off');
  // What a CLI process costs before it sends a packet: bare node, and the CLI loading all commands.
  const nodeStart = await measure(10, on, () => proc('node', ['-e', '0']));
  const cliStart = await measure(10, on, () => proc('node', [CLI, '--version']));
  const fence = {
    status: await measure(10, on, () => proc('fence_ipmilan', [...fi, '--action', 'status'])),
    off: await measure(5, on, () => proc('fence_ipmilan', [...fi, '--action', 'off'])),
    reboot: await measure(5, on, () => proc('fence_ipmilan', [...fi, '--action', 'reboot'])),
  };
  let toolCpu = 0;
  const tool = {
    status: await (async () => {
      const c0 = childCpuMs();
      const w = await measure(15, on, () => proc('ipmitool', [...it3, 'chassis', 'power', 'status']));
      toolCpu = Math.round((childCpuMs() - c0) / 15);
      return w;
    })(),
    off: await measure(15, on, () => proc('ipmitool', [...it3, 'chassis', 'power', 'off'])),
    on: await measure(10, off, () => proc('ipmitool', [...it3, 'chassis', 'power', 'on'])),
  };

  const row = (name: string, o: number[], p: number[], t: number[] | undefined, note: string) => ({
    name,
    ours_ms: r1(median(o)),
    peer: 'fence_ipmilan',
    peer_ms: r1(median(p)),
    ratio: r1(median(p) / median(o)),
    runs: o.length,
    peer_runs: p.length,
    ...(t ? { ipmitool_ms: r1(median(t)), ipmitool_runs: t.length } : {}),
    ours_min_ms: r1(Math.min(...o)),
    ours_max_ms: r1(Math.max(...o)),
    note,
  });
  const rows = [
    row(
      'status (in-process)',
      ours.status,
      fence.status,
      tool.status,
      'one session: caps, RAKP, Get Chassis Status, close; peers as processes',
    ),
    row(
      'off verified (in-process)',
      ours.off,
      fence.off,
      tool.off,
      'ours: Chassis Control off + status polls until off, one session; fence_ipmilan --action off; ipmitool_ms is "power off" alone, unverified',
    ),
    row(
      'reboot: off verified, then on verified (in-process)',
      ours.reboot,
      fence.reboot,
      tool.on.map((v, i) => v + (tool.off[i] ?? v)),
      'fence_ipmilan --action reboot (method onoff); ipmitool_ms = power off + power on, unverified',
    ),
    row(
      'status (ours via CLI process)',
      ours.cliStatus,
      fence.status,
      tool.status,
      `node process start to answer, all three as processes; of ours, bare node start ${r1(median(nodeStart))} ms and CLI module loading to --version ${r1(median(cliStart))} ms`,
    ),
    row(
      'status (ours via lean CLI process)',
      ours.leanStatus,
      fence.status,
      tool.status,
      'node process that loads only the ipmi command (dist/fencing/cli/ipmi.js + commander), start to answer',
    ),
    row(
      'off verified (ours via CLI process)',
      ours.cliOff,
      fence.off,
      undefined,
      'rackwitness ipmi power off --verify as a fresh node process vs fence_ipmilan --action off',
    ),
  ];
  const pkgRow = {
    name: 'power status (packaged CLI process) vs ipmitool',
    ours_ms: r1(median(ours.pkgStatus)),
    peer: 'ipmitool -I lanplus -C 3',
    peer_ms: r1(median(tool.status)),
    ratio: r1(median(tool.status) / median(ours.pkgStatus)),
    runs: ours.pkgStatus.length,
    peer_runs: tool.status.length,
    ours_min_ms: r1(Math.min(...ours.pkgStatus)),
    ours_max_ms: r1(Math.max(...ours.pkgStatus)),
    ours_cpu_ms: pkgCpu,
    peer_cpu_ms: toolCpu,
    target: 'no slower than ipmitool (≥ 1×)',
    met: median(ours.pkgStatus) <= median(tool.status),
    note: 'rackwitness ipmi ... power status from the rackwitness package (loads only the ipmi command) vs ipmitool chassis power status, both whole processes',
  };
  for (const r of rows.slice(3))
    Object.assign(r, { node_start_ms: r1(median(nodeStart)), cli_start_ms: r1(median(cliStart)) });
  const result = {
    title: 'IPMI (ipmi_sim, cipher suite 3)',
    peer_versions: { ipmitool: (await run('ipmitool', ['-V'])).stdout.trim(), fence_ipmilan: 'fence-agents (Debian)' },
    rows: [...rows, pkgRow],
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/ipmi.json', `${JSON.stringify(result, null, 2)}\n`);
  console.log(
    ['| case | ours ms | fence_ipmilan ms | ipmitool ms | ratio |', '|---|---|---|---|---|']
      .concat(rows.map((r) => `| ${r.name} | ${r.ours_ms} | ${r.peer_ms} | ${r.ipmitool_ms ?? ''} | ${r.ratio}x |`))
      .join('\n'),
  );
  expect(await sim.activeSessions()).toBe(0);
});
