/**
 * fence_rackwitness end to end: the fencing service (real HTTP API, sim devices, journal) runs
 * in this process; the compiled agent runs as a child exactly as pacemaker-fenced runs it (no
 * argv, key=value on stdin); and finally through the REAL fencer: pacemaker-fenced in
 * stand-alone mode inside a network namespace of ours, with the agent installed as
 * /usr/sbin/fence_rackwitness for the duration of the file.
 */
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { signedHeaders } from '../../../src/fencing/api/protocol.js';
import { type IpmiSim, startIpmiSim } from '../../fixtures/ipmi-sim.js';
import { onCleanup, spawnProc, until } from '../../fixtures/proc.js';
import { type Harness, TEST_KEY as KEY, run, startFencing } from './fencing-harness.js';

describe('fence_rackwitness against the running fencing service', () => {
  let h: Harness;
  let dir = '';
  let port = 0;
  let keyFile = '';
  let agentJs = '';
  const agent = (stdin: string, env: NodeJS.ProcessEnv = {}) => h.agent(stdin, env);
  const base = () => h.base();

  beforeAll(async () => {
    h = await startFencing(
      `  corosync_token_ms: 100
  corosync_consensus_ms: 120
  boot_delay_s: 0.5
  power_timeout_s: 1.5
  poll_interval_ms: 100
  command_timeout_s: 1
  allow_simulated: true
  devices:
    - {driver: sim, name: bmc-a, plugs: [chassis], latency_ms: 5, switch_delay_ms: 150}
    - {driver: sim, name: pdu1, plugs: ['1', '2'], latency_ms: 5, switch_delay_ms: 100}
  targets:
    node-a:
      levels:
        - {plugs: [{device: bmc-a, plug: chassis}]}
        - {plugs: [{device: pdu1, plug: '1'}]}
    node-b:
      levels:
        - {plugs: [{device: pdu1, plug: '2'}]}`,
      '0.0.0.0',
    );
    ({ dir, port, keyFile, agentJs } = h);
    // faults are injected through the service's own control method (fence.sim); results are
    // read from the agent, the journal file and the events file, never from driver internals
    expect(await h.handlers.get('fence.sim')?.({ device: 'bmc-a' })).toEqual({ device: 'bmc-a', fault: 'none' });
  });

  const setFault = (device: string, fault: string) => h.handlers.get('fence.sim')?.({ device, fault });
  const journal = () => h.journal();

  it('metadata validates against fence-agents’ metadata.rng (stdin and -o)', async () => {
    const rng = '/usr/share/cluster/relaxng/metadata.rng';
    const a = await agent('action=metadata\n');
    expect(a.code).toBe(0);
    const b = await run(process.execPath, [agentJs, '-o', 'metadata']);
    expect(b.stdout).toBe(a.stdout);
    writeFileSync(join(dir, 'meta.xml'), a.stdout);
    const lint = await run('xmllint', ['--noout', '--relaxng', rng, join(dir, 'meta.xml')]);
    expect(lint.stderr).toMatch(/validates/);
    expect(lint.code).toBe(0);
    expect(a.stdout).toMatch(/<parameter name="plug" unique="0" required="1" obsoletes="port">/);
    expect(a.stdout).toMatch(/<parameter name="port" unique="0" required="1" deprecated="1">/);
    expect(a.stdout).toMatch(/<action name="on" automatic="0"\/>/);
  });

  it('validate-all and option errors behave as fence-agents (unknown stdin keys ignored, CLI strict)', async () => {
    const ok = await agent(`action=validate-all\n${base()}plug=node-a\nbogus_option=1\n`);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toMatch(/Ignoring unknown option 'bogus_option=1'/);
    expect((await agent('action=validate-all\nplug=node-a\n')).code).toBe(1);
    const bad = await agent(`action=bogus\n${base()}`);
    expect([bad.code, bad.stderr]).toEqual([1, expect.stringMatching(/Unrecognised action 'bogus'/)]);
    expect((await run(process.execPath, [agentJs, '--no-such-option'])).code).toBe(1);
  });

  it('takes the key the standard fence-agents ways: username + password_script, password; refuses ssl', async () => {
    const noKey = `ip=127.0.0.1\nipport=${port}\n`;
    // a script the fencer runs through the shell; its first line is the key
    let r = await agent(`action=status\n${noKey}plug=node-b\nusername=cluster\npassword_script=cat ${keyFile}\n`);
    expect([r.code, r.stdout]).toEqual([0, 'Status: ON\n']);
    r = await agent(`action=status\n${noKey}plug=node-b\npassword=${KEY}\n`);
    expect([r.code, r.stdout]).toEqual([0, 'Status: ON\n']);
    // a wrong key from the script is refused by the box, never a status
    r = await agent(`action=status\n${noKey}plug=node-b\npassword_script=echo ${'x'.repeat(40)}\n`);
    expect(r.code).toBe(1);
    expect(r.stdout).not.toMatch(/Status:/);
    r = await agent(`action=status\n${noKey}plug=node-b\npassword_script=exit 3\n`);
    expect([r.code, r.stderr]).toEqual([1, expect.stringMatching(/password_script failed/)]);
    r = await agent(`action=validate-all\n${base()}ssl=1\n`);
    expect([r.code, r.stderr]).toEqual([1, expect.stringMatching(/ssl is not supported/)]);
  });

  it('status / off / status / on through stdin as pacemaker-fenced sends it (port= and plug=)', async () => {
    let r = await agent(`action=status\n${base()}port=node-a\nnodename=node-a\n`);
    expect([r.code, r.stdout]).toEqual([0, 'Status: ON\n']);
    r = await agent(`nodename=node-a\n${base()}action=off\nport=node-a\n`, { PCMK_service: 'pacemaker-fenced' });
    expect([r.code, r.stdout]).toEqual([0, 'Success: Powered OFF\n']);
    r = await agent(`action=status\n${base()}plug=node-a\n`);
    expect([r.code, r.stdout]).toEqual([2, 'Status: OFF\n']);
    r = await agent(`action=off\n${base()}plug=node-a\n`);
    expect([r.code, r.stdout]).toEqual([0, 'Success: Already OFF\n']);
    r = await run(process.execPath, [
      agentJs,
      '-a',
      '127.0.0.1',
      '-u',
      String(port),
      '-k',
      keyFile,
      '-n',
      'node-a',
      '-o',
      'on',
    ]);
    expect([r.code, r.stdout]).toEqual([0, 'Success: Powered ON\n']);
    const last = journal().at(-1);
    expect(last).toMatchObject({
      target: 'node-a',
      action: 'on',
      result: 'success',
      requester: { via: 'api', who: 'cluster', addr: '127.0.0.1' },
    });
    r = await agent(`action=list\n${base()}`);
    expect([r.code, r.stdout]).toEqual([0, 'node-a,node-a\nnode-b,node-b\n']);
    r = await agent(`action=monitor\n${base()}`);
    expect(r.code).toBe(0);
  });

  it('a target that never reaches off is a failure (every level), never a success', async () => {
    await setFault('bmc-a', 'stuck-on');
    await setFault('pdu1', 'stuck-on');
    try {
      const r = await agent(`action=off\n${base()}port=node-a\n`);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/Failed: off of node-a failed on the box: every level failed/);
      const st = await agent(`action=status\n${base()}port=node-a\n`);
      expect(st.stdout).toBe('Status: ON\n');
      expect(journal().at(-2)).toMatchObject({ target: 'node-a', action: 'off', result: 'failed' });
    } finally {
      await setFault('bmc-a', 'none');
      await setFault('pdu1', 'none');
    }
  });

  it('the IPMI level failing falls through to the PDU outlet; verified_by names it', async () => {
    await setFault('bmc-a', 'unreachable');
    try {
      const r = await agent(`action=off\n${base()}port=node-a\n`);
      expect([r.code, r.stdout]).toEqual([0, 'Success: Powered OFF\n']);
      expect(journal().at(-1)).toMatchObject({ result: 'success', level: 2, verified_by: 'read off: pdu1/1 (sim)' });
    } finally {
      await setFault('bmc-a', 'none');
    }
    const st = await h.handlers.get('fence.run')?.({ target: 'node-a', action: 'on' });
    expect(st).toMatchObject({ result: 'success', power: 'on' });
  });

  it('fence_ipmilan options: retry_on repeats a failed on (1 + retry_on attempts), power_wait waits after the verified state; deprecated login/passwd_script work', async () => {
    const ons = () => journal().filter((e) => e.target === 'node-a' && e.action === 'on').length;
    let r = await agent(`action=off\n${base()}plug=node-a\n`);
    expect([r.code, r.stdout]).toEqual([0, 'Success: Powered OFF\n']);
    // node-a has two levels (bmc-a, then pdu1/1): both refuse to switch on
    await setFault('bmc-a', 'on-fails');
    await setFault('pdu1', 'on-fails');
    try {
      const before = ons();
      r = await agent(`action=on\n${base()}plug=node-a\nretry_on=2\n`);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/retrying \(2\/2\)/);
      expect(ons() - before).toBe(3);
      r = await agent(`action=on\n${base()}plug=node-a\nretry_on=0\n`);
      expect(r.code).toBe(1);
      expect(ons() - before).toBe(4);
    } finally {
      await setFault('bmc-a', 'none');
      await setFault('pdu1', 'none');
    }
    const t0 = Date.now();
    r = await agent(`action=on\n${base()}plug=node-a\npower_wait=1\npower_timeout=30\nlogin_timeout=3\n`);
    expect([r.code, r.stdout]).toEqual([0, 'Success: Powered ON\n']);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    // fence-agents' internal names on stdin, as an old CIB may still carry them
    r = await agent(
      `action=status\nipaddr=127.0.0.1\nipport=${port}\nport=node-a\nlogin=cluster\npasswd_script=cat ${keyFile}\n`,
    );
    expect([r.code, r.stdout, r.stderr]).toEqual([0, 'Status: ON\n', '']);
  });

  it('a wrong key, an unknown target and a replayed request are refused and act on nothing', async () => {
    const wrong = join(dir, 'wrong.key');
    writeFileSync(wrong, 'another-key-another-key-another-key-xyz\n', { mode: 0o600 });
    const before = journal().length;
    let r = await agent(`action=off\nip=127.0.0.1\nipport=${port}\nkey_file=${wrong}\nport=node-b\n`);
    expect([r.code, r.stderr]).toEqual([1, expect.stringMatching(/refused the request \(HTTP 401 bad-signature\)/)]);
    r = await agent(`action=off\n${base()}port=node-z\n`);
    expect([r.code, r.stderr]).toEqual([1, expect.stringMatching(/HTTP 404 unknown-target/)]);
    // replay: send the very same signed request twice
    const body = JSON.stringify({ target: 'node-b', action: 'status' });
    const headers = signedHeaders(Buffer.from(KEY), 'cluster', 'POST', '/v1/fence', body);
    const post = () =>
      new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/fence', headers }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end(body);
      });
    expect(await post()).toBe(200);
    expect(await post()).toBe(401);
    expect(journal().length).toBe(before + 1); // only the first status ran
    const events = readFileSync(join(dir, 'state', 'events.jsonl'), 'utf8');
    expect(events).toMatch(/bad-signature/);
    expect(events).toMatch(/replay/);
  });

  describe('through the real pacemaker-fenced (stand-alone mode, own network namespace)', () => {
    const ns = `rwfence-${process.pid % 100000}`;
    const hostIf = `rwfh${process.pid % 100000}`;
    const nsIf = `rwfn${process.pid % 100000}`;
    const net = `10.213.${process.pid % 250}`;
    const installed = '/usr/sbin/fence_rackwitness';
    // dir is only known in the outer beforeAll: resolve the log path lazily, never in the cwd
    let fenceLog = '';
    const inNs = (cmd: string, args: string[], timeoutMs = 60_000) =>
      run('ip', ['netns', 'exec', ns, cmd, ...args], undefined, undefined, timeoutMs);

    beforeAll(async () => {
      expect(existsSync(installed), `${installed} already exists; refusing to overwrite it`).toBe(false);
      onCleanup(() => {
        rmSync(installed, { force: true });
      });
      writeFileSync(installed, `#!/bin/sh\nexec ${process.execPath} ${agentJs} "$@"\n`, { mode: 0o755 });
      chmodSync(installed, 0o755);
      onCleanup(async () => {
        await run('ip', ['netns', 'del', ns]);
        await run('ip', ['link', 'del', hostIf]);
      });
      for (const args of [
        ['netns', 'add', ns],
        ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf],
        ['link', 'set', nsIf, 'netns', ns],
        ['addr', 'add', `${net}.1/30`, 'dev', hostIf],
        ['link', 'set', hostIf, 'up'],
        ['-n', ns, 'addr', 'add', `${net}.2/30`, 'dev', nsIf],
        ['-n', ns, 'link', 'set', nsIf, 'up'],
        ['-n', ns, 'link', 'set', 'lo', 'up'],
      ]) {
        const r = await run('ip', args);
        expect(r.code, `ip ${args.join(' ')}: ${r.stderr}`).toBe(0);
      }
      fenceLog = join(dir, 'fenced.log');
      writeFileSync(fenceLog, ''); // "accepting connections" must come from this fencer
      spawnProc('ip', ['netns', 'exec', ns, '/usr/lib/pacemaker/pacemaker-fenced', '-s', '-l', fenceLog]);
      await until(
        () => existsSync(fenceLog) && /accepting connections/.test(readFileSync(fenceLog, 'utf8')),
        20_000,
        100,
      );
      const reg = await inNs('stonith_admin', [
        '--register',
        'rw1',
        '--agent',
        'fence_rackwitness',
        '-o',
        `ip=${net}.1`,
        '-o',
        `ipport=${port}`,
        '-o',
        `key_file=${keyFile}`,
        '-o',
        'key_id=cluster',
        '-o',
        'pcmk_host_list=node-a node-b',
      ]);
      expect(reg.code, `${reg.stderr}${reg.stdout}\n${readFileSync(fenceLog, 'utf8').slice(-3000)}`).toBe(0);
    });

    it('stonith_admin --metadata accepts the agent’s metadata', async () => {
      const r = await inNs('stonith_admin', ['--metadata', '--agent', 'fence_rackwitness']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/<resource-agent name="fence_rackwitness"/);
      expect(r.stdout).toMatch(/<parameter name="plug"/);
    });

    it('stonith_admin --reboot node-a: answered at the verified off, the power-on follows; journaled with the fencer as requester', async () => {
      const r = await inNs('stonith_admin', ['--reboot', 'node-a', '--timeout', '40'], 60_000);
      expect(r.code, `${r.stdout}${r.stderr}\n${readFileSync(fenceLog, 'utf8').slice(-3000)}`).toBe(0);
      const reboot = journal().find((x) => x.action === 'reboot' && x.target === 'node-a');
      expect(reboot).toMatchObject({
        target: 'node-a',
        action: 'reboot',
        result: 'success',
        power: 'off',
        level: 1,
        requester: { addr: `${net}.2` },
      });
      expect(reboot?.verified_by).toMatch(/^read off: bmc-a\/chassis/);
      await until(() => journal().some((x) => x.follows === reboot?.id && x.result === 'success'), 10_000, 50);
      const st = await h.handlers.get('fence.run')?.({ target: 'node-a', action: 'status' });
      expect(st).toMatchObject({ power: 'on' });
    });

    describe('against the real ipmi_sim, next to fence_ipmilan at the same BMC', () => {
      let sim: IpmiSim;
      let hi: Harness;
      const runs = Math.max(1, Number(process.env.RW_FENCE_TIMING_RUNS ?? 1));
      const bootDelay = Number(process.env.RW_FENCE_BOOT_DELAY_S ?? 3);

      beforeAll(async () => {
        sim = await startIpmiSim({ power: 'on', addr: '0.0.0.0' });
        hi = await startFencing(
          `  corosync_token_ms: 1000
  boot_delay_s: ${bootDelay}
  power_timeout_s: 5
  poll_interval_ms: 100
  command_timeout_s: 2
  devices:
    - {driver: ipmi, name: bmc-i, host: 127.0.0.1, port: ${sim.port}, username: ${sim.users.operator.name}, password_file: ${sim.users.operator.passwordFile}, cipher: 3}
  targets:
    node-i:
      levels:
        - {plugs: [{device: bmc-i, plug: chassis}]}`,
          '0.0.0.0',
        );
        const reg = await inNs('stonith_admin', [
          '--register',
          'rwi',
          '--agent',
          'fence_rackwitness',
          '-o',
          `ip=${net}.1`,
          '-o',
          `ipport=${hi.port}`,
          '-o',
          `key_file=${hi.keyFile}`,
          '-o',
          'pcmk_host_list=node-i',
        ]);
        expect(reg.code, reg.stderr + reg.stdout).toBe(0);
        const lan = await inNs('stonith_admin', [
          '--register',
          'ipmilan',
          '--agent',
          'fence_ipmilan',
          '-o',
          `ip=${net}.1`,
          '-o',
          `ipport=${sim.port}`,
          '-o',
          `username=${sim.users.admin.name}`,
          '-o',
          `password=${sim.users.admin.password}`,
          '-o',
          'lanplus=1',
          '-o',
          'cipher=3',
          '-o',
          'pcmk_host_list=node-j',
        ]);
        expect(lan.code, lan.stderr + lan.stdout).toBe(0);
      });

      const timed = async (target: string) => {
        const t0 = performance.now();
        const r = await inNs('stonith_admin', ['--reboot', target, '--timeout', '60'], 90_000);
        return { r, s: (performance.now() - t0) / 1000, railAtReturn: sim.powerState() };
      };

      it('stonith_admin --reboot returns success while the BMC rail still reads off; the power-on follows, journaled and shown', async () => {
        const ours: number[] = [];
        const theirs: number[] = [];
        for (let i = 0; i < runs; i++) {
          const lan = await timed('node-j');
          expect(lan.r.code, `${lan.r.stdout}${lan.r.stderr}`).toBe(0);
          theirs.push(lan.s);
          await until(() => sim.powerState() === 'on', 30_000, 50);
          const before = sim.chassisLog().length;
          const t = await timed('node-i');
          console.log(`run ${i + 1}: fence_ipmilan ${lan.s.toFixed(2)} s, fence_rackwitness ${t.s.toFixed(2)} s`);
          expect(t.r.code, `${t.r.stdout}${t.r.stderr}\n${readFileSync(fenceLog, 'utf8').slice(-3000)}`).toBe(0);
          ours.push(t.s);
          // the answer arrived while the rail still reads off: the power-on had not happened yet
          expect(t.railAtReturn).toBe('off');
          const status = (await hi.handlers.get('fence.status')?.({})) as {
            targets: Record<string, { power_on_pending_until?: string; in_progress?: { stage: string } }>;
          };
          const pending = status.targets['node-i'];
          if (sim.powerState() === 'off') {
            expect(pending?.power_on_pending_until).toMatch(/^\d{4}-/);
            expect(pending?.in_progress?.stage).toBe('follow-up');
          }
          const reboot = hi.journal().findLast((x) => x.action === 'reboot');
          expect(reboot).toMatchObject({
            result: 'success',
            power: 'off',
            verified_by: 'read off: bmc-i/chassis (ipmi)',
          });
          await until(() => sim.powerState() === 'on', 30_000, 50);
          await until(() => hi.journal().some((x) => x.follows === reboot?.id && x.finished !== undefined), 15_000, 50);
          expect(hi.journal().find((x) => x.follows === reboot?.id)).toMatchObject({
            action: 'power-on',
            result: 'success',
            power: 'on',
            verified_by: 'read on again: bmc-i/chassis (ipmi)',
          });
          expect(sim.chassisLog().slice(before)).toEqual(['set power 0', 'set power 1']);
        }
        const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] ?? 0;
        // timings are reported, never asserted
        console.log(
          `stonith_admin --reboot (boot_delay_s ${bootDelay}, ${runs} run(s)): fence_rackwitness ${ours.map((x) => x.toFixed(2)).join(' ')} s (median ${med(ours).toFixed(2)}), fence_ipmilan ${theirs.map((x) => x.toFixed(2)).join(' ')} s (median ${med(theirs).toFixed(2)}), ratio ${(med(ours) / med(theirs)).toFixed(2)}`,
        );
      });
    });

    it('stonith_admin --fence (off) of a node whose outlet never goes off fails; the node is not reported fenced', async () => {
      await setFault('pdu1', 'stuck-on');
      try {
        const r = await inNs('stonith_admin', ['--fence', 'node-b', '--timeout', '20'], 40_000);
        expect(r.code, `${r.stdout}${r.stderr}\n${readFileSync(fenceLog, 'utf8').slice(-3000)}`).not.toBe(0);
        const mine = journal().filter((h) => h.target === 'node-b' && h.action === 'off');
        expect(mine.length, `${r.stdout}${r.stderr}\n${readFileSync(fenceLog, 'utf8').slice(-3000)}`).toBeGreaterThan(
          0,
        );
        expect(mine.every((h) => h.result === 'failed')).toBe(true);
        const hist = await inNs('stonith_admin', ['--history', 'node-b']);
        expect(hist.stdout).not.toMatch(/was able to turn off node node-b/);
      } finally {
        await setFault('pdu1', 'none');
      }
    });
  });
});
