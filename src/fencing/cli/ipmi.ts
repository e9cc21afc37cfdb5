/**
 * `rackwitness ipmi ... power <action>`: talks to a BMC directly (no daemon), for commissioning
 * and diagnostics. The password comes from a file, never from the command line.
 *
 *   rackwitness ipmi --host 10.0.0.5 --user fence --password-file /etc/rackwitness/bmc-a.pw power status
 *   rackwitness ipmi ... power off               # read, Chassis Control off, read until off (verified)
 *   rackwitness ipmi ... power reboot            # off verified, boot delay, on verified
 *
 * Exit codes: 0 ok, 1 failure (device error, unreadable password file), 2 usage error.
 */
import { statSync } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { DriverError } from '../devices/driver.js';
import type { IpmiClient } from '../devices/ipmi/client.js';
import type { ChassisAction } from '../devices/ipmi/codec.js';
import type { IpmiDeviceConfig } from '../devices/ipmi/config.js';
import { createIpmiClient, createIpmiDriver, IPMI_PLUG } from '../devices/ipmi/index.js';
import { SingleFlight } from '../devices/single-flight.js';
import { runOneLevel } from '../operations/one-level.js';

interface IpmiCliOptions {
  host: string;
  port: number;
  user: string;
  passwordFile: string;
  kgFile?: string;
  cipher: string;
  privilege: 'operator' | 'administrator';
  ipmi15?: boolean;
  timeoutMs: number;
  retries: number;
  json?: boolean;
}

interface PowerOptions {
  verify?: boolean;
  verifyTimeoutS: number;
  bootDelayS: number;
}

function intArg(min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`must be an integer in ${min}..${max}`);
    return n;
  };
}

function numArg(min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`must be a number in ${min}..${max}`);
    return n;
  };
}

export function registerIpmiCli(program: Command): void {
  const ipmi = program
    .command('ipmi')
    .description('Talk to a BMC directly over IPMI v2.0 (RMCP+), without the daemon.')
    .requiredOption('--host <host>', 'BMC address')
    .option('--port <port>', 'BMC UDP port', intArg(1, 65535), 623)
    .requiredOption('--user <name>', 'BMC user name')
    .requiredOption('--password-file <file>', 'file holding the BMC password')
    .option('--kg-file <file>', 'file holding the BMC key K_G, for BMCs that have one set')
    .addOption(new Option('--cipher <suite>', 'RMCP+ cipher suite').choices(['3', '17']).default('3'))
    .addOption(
      new Option('--privilege <level>', 'session privilege for power control')
        .choices(['operator', 'administrator'])
        .default('operator'),
    )
    .option('--ipmi15', 'allow IPMI 1.5 (MD5) when the BMC lacks RMCP+')
    .option('--timeout-ms <ms>', 'first per-request timeout (doubles per retry)', intArg(20, 10_000), 250)
    .option('--retries <n>', 'retransmissions per request', intArg(0, 8), 4)
    .option('--json', 'print the result as JSON');

  ipmi
    .command('power')
    .description(
      'Read or switch the chassis power: status | on | off | reboot | cycle | reset | soft. on, off and reboot run the daemon’s verified operation (read first, switch, read the new state back; reboot: off verified, the boot delay, on verified).',
    )
    .addArgument(
      ipmi
        .createArgument(
          '<action>',
          'status, on, off (hard), reboot (verified off, then on), cycle, reset (hard), soft (ACPI)',
        )
        .choices(['status', 'on', 'off', 'reboot', 'cycle', 'reset', 'soft']),
    )
    .option('--verify', 'after soft, poll until the chassis reads off (on, off and reboot are always verified)')
    .option(
      '--verify-timeout-s <s>',
      'how long on/off/reboot and soft --verify wait for the new state',
      numArg(0.1, 600),
      20,
    )
    .option('--boot-delay-s <s>', 'reboot: wait between the verified off and the power-on', numArg(0, 600), 10)
    .action(async (action: string, popts: PowerOptions, cmd: Command) => {
      const o = cmd.optsWithGlobals<IpmiCliOptions & PowerOptions>();
      if (popts.verify && (action === 'cycle' || action === 'reset' || action === 'status')) {
        cmd.error(`--verify works with on, off and soft, not ${action}`, { exitCode: 2, code: 'rackwitness.usage' });
      }
      await runPower(action, o);
    });
}

async function runPower(action: string, o: IpmiCliOptions & PowerOptions): Promise<void> {
  const out = (human: string, data: Record<string, unknown>) => {
    process.stdout.write(o.json ? `${JSON.stringify(data)}\n` : `${human}\n`);
  };
  const device = `${o.host}:${o.port}`;
  const t0 = performance.now();
  warnIfShared(o.passwordFile);
  const cfg: IpmiDeviceConfig = {
    driver: 'ipmi',
    name: undefined,
    host: o.host,
    port: o.port,
    username: o.user,
    password_file: o.passwordFile,
    kg_file: o.kgFile,
    cipher: o.cipher === '17' ? 17 : 3,
    privilege: o.privilege,
    allow_cipher_zero: false,
    ipmi15: o.ipmi15 === true,
    request_timeout_ms: o.timeoutMs,
    retries: o.retries,
  };
  // one client and one driver of this process, one operation at a time on the BMC
  const deps = { device, lanes: new SingleFlight() };
  try {
    const client = createIpmiClient(cfg, deps);
    const ms = () => Math.round(performance.now() - t0);
    if (action === 'status') {
      const st = await client.status();
      const power = st.powerOn ? 'on' : 'off';
      out(`Chassis Power is ${power}`, { ok: true, device, action, power, status: st, ms: ms() });
      return;
    }
    if (action === 'on' || action === 'off' || action === 'reboot') {
      // the daemon's verified operation on a one-level target: read first, switch, read back
      const r = await runOneLevel(createIpmiDriver(cfg, deps), IPMI_PLUG, action, {
        powerTimeoutMs: o.verifyTimeoutS * 1000,
        pollIntervalMs: 250,
        commandTimeoutMs: 60_000,
        bootDelayMs: o.bootDelayS * 1000,
      });
      if (!r.ok) throw new DriverError(r.kind ?? 'timeout', device, `${r.reason}; not verified`);
      const off = r.offMs === undefined ? '' : `off verified in ${r.offMs} ms, boot delay ${o.bootDelayS} s, `;
      out(`Chassis Power is ${r.state} (${off}verified after ${r.reads} status read(s))`, {
        ok: true,
        device,
        action,
        power: r.state,
        verified: true,
        polls: r.reads,
        ...(r.offMs === undefined ? {} : { off_ms: r.offMs }),
        ms: ms(),
      });
      return;
    }
    const act: ChassisAction = action === 'cycle' ? 'cycle' : action === 'reset' ? 'reset' : 'soft';
    await client.control(act);
    if (act === 'soft' && o.verify) {
      const r = await pollUntil(client, 'off', o.verifyTimeoutS * 1000);
      out(`Chassis Power is ${r} (verified)`, { ok: true, device, action, power: r, verified: true, ms: ms() });
      return;
    }
    out(
      `Chassis Power Control: ${action} requested (not verified${act === 'soft' ? '; add --verify to wait for off' : ''})`,
      {
        ok: true,
        device,
        action,
        verified: false,
        ms: ms(),
      },
    );
  } catch (e) {
    const kind = e instanceof DriverError ? e.kind : 'io';
    const msg = e instanceof Error ? e.message : String(e);
    if (o.json) process.stdout.write(`${JSON.stringify({ ok: false, device, action, kind, error: msg })}\n`);
    process.stderr.write(`rackwitness ipmi: ${msg} [${kind}]\n`);
    process.exitCode = 1;
  }
}

/** A password file readable by group or others is worth a warning (the daemon refuses it). */
function warnIfShared(file: string): void {
  try {
    const mode = statSync(file).mode;
    if (mode & 0o077) {
      process.stderr.write(
        `rackwitness ipmi: warning: ${file} is accessible by group/others (mode ${(mode & 0o777).toString(8)}); use chmod 600\n`,
      );
    }
  } catch {
    // unreadable: reported when the password is read
  }
}

/** Polls status in separate sessions (used after soft shutdown, which the OS may delay). */
async function pollUntil(client: IpmiClient, target: 'on' | 'off', timeoutMs: number): Promise<'on' | 'off'> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const st = await client.status();
    const state = st.powerOn ? 'on' : 'off';
    if (state === target) return state;
    if (performance.now() > end) {
      throw new DriverError('timeout', client.device, `chassis still reports power ${state} after ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
