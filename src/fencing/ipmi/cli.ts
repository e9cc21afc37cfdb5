/**
 * `rackwitness ipmi ... power <action>`: talks to a BMC directly (no daemon), for commissioning
 * and diagnostics. The password comes from a file, never from the command line.
 *
 *   rackwitness ipmi --host 10.0.0.5 --user fence --password-file /etc/rackwitness/bmc-a.pw power status
 *   rackwitness ipmi ... power off --verify      # request, then poll until the chassis reads off
 *
 * Exit codes: 0 ok, 1 failure (device error, unreadable password file), 2 usage error.
 */
import { statSync } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { DriverError } from '../driver.js';
import { IpmiClient } from './client.js';
import type { ChassisAction } from './codec.js';
import { readSecretFile } from './secret.js';

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
    .description('Read or switch the chassis power: status | on | off | cycle | reset | soft.')
    .addArgument(
      ipmi
        .createArgument('<action>', 'status, on, off (hard), cycle, reset (hard), soft (ACPI)')
        .choices(['status', 'on', 'off', 'cycle', 'reset', 'soft']),
    )
    .option('--verify', 'after on/off/soft, poll until the chassis reports the new state')
    .option('--verify-timeout-s <s>', 'how long --verify polls', numArg(0.1, 600), 20)
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
  try {
    const client = new IpmiClient({
      host: o.host,
      port: o.port,
      device,
      username: o.user,
      password: async () => {
        try {
          return Buffer.from(await readSecretFile(o.passwordFile), 'utf8');
        } catch (e) {
          throw new DriverError(
            'config',
            device,
            `cannot read --password-file ${o.passwordFile}: ${(e as Error).message}`,
          );
        }
      },
      ...(o.kgFile ? { kg: () => readKg(o.kgFile as string, device) } : {}),
      cipher: o.cipher === '17' ? 17 : 3,
      privilege: o.privilege,
      ipmi15: o.ipmi15 === true,
      requestTimeoutMs: o.timeoutMs,
      retries: o.retries,
    });
    const ms = () => Math.round(performance.now() - t0);
    if (action === 'status') {
      const st = await client.status();
      const power = st.powerOn ? 'on' : 'off';
      out(`Chassis Power is ${power}`, { ok: true, device, action, power, status: st, ms: ms() });
      return;
    }
    const act = action as ChassisAction;
    if (o.verify) {
      const target = act === 'on' ? 'on' : 'off';
      if (act === 'soft') {
        await client.control('soft');
        const r = await pollUntil(client, target, o.verifyTimeoutS * 1000);
        out(`Chassis Power is ${r} (verified)`, { ok: true, device, action, power: r, verified: true, ms: ms() });
        return;
      }
      const r = await client.controlVerified(target, { timeoutMs: o.verifyTimeoutS * 1000 });
      out(`Chassis Power is ${r.state} (verified after ${r.polls} status read(s))`, {
        ok: true,
        device,
        action,
        power: r.state,
        verified: true,
        polls: r.polls,
        ms: ms(),
      });
      return;
    }
    await client.control(act);
    out(`Chassis Power Control: ${action} requested (not verified; add --verify to wait for the new state)`, {
      ok: true,
      device,
      action,
      verified: false,
      ms: ms(),
    });
  } catch (e) {
    const kind = e instanceof DriverError ? e.kind : 'io';
    const msg = e instanceof Error ? e.message : String(e);
    if (o.json) process.stdout.write(`${JSON.stringify({ ok: false, device, action, kind, error: msg })}\n`);
    process.stderr.write(`rackwitness ipmi: ${msg} [${kind}]\n`);
    process.exitCode = 1;
  }
}

async function readKg(file: string, device: string): Promise<Buffer> {
  try {
    return Buffer.from(await readSecretFile(file), 'utf8');
  } catch (e) {
    throw new DriverError('config', device, `cannot read --kg-file ${file}: ${(e as Error).message}`);
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
