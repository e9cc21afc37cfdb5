/**
 * `rackwitness pdu ...`: diagnostics that talk to a PDU directly (no daemon): read an outlet,
 * switch it with the daemon's verified operation on a one-level target (read first, switch,
 * read the new state back; reboot: off verified, the boot delay, on verified), list outlets.
 * Data on stdout (--json for machines), messages on stderr. Exit codes: 0 done (and verified),
 * 1 device error or not verified, 2 usage error.
 */
import type { Command } from 'commander';
import { DriverError, type PlugInfo, type PowerDriver } from '../devices/driver.js';
import { runOneLevel } from '../operations/one-level.js';

interface PduOpts {
  driver?: string;
  host?: string;
  port?: string;
  snmpVersion?: string;
  community?: string;
  communityFile?: string;
  v3User?: string;
  securityLevel?: string;
  authProtocol?: string;
  authPasswordFile?: string;
  privProtocol?: string;
  privPasswordFile?: string;
  family?: string;
  device?: string;
  baud?: string;
  user?: string;
  passwordFile?: string;
  timeout?: string;
  verifyTimeout?: string;
  bootDelay?: string;
  json?: boolean;
}

const CLI_COMMUNITY = '\0cli-community';

function usage(cmd: Command, msg: string): never {
  cmd.error(`rackwitness pdu: ${msg}`, { exitCode: 2, code: 'rackwitness.usage' });
}

function num(cmd: Command, v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) usage(cmd, `${what} must be a positive number, got "${v}"`);
  return n;
}

/** Builds the driver the options describe; usage errors exit 2 naming the option. */
export async function driverFromOptions(cmd: Command, o: PduOpts): Promise<PowerDriver> {
  // Transports load on demand, only the chosen one: `rackwitness --help` loads neither net-snmp
  // nor serialport, an SNMP command does not load the serial port's native binding.
  const { defaultReadSecret } = await import('../devices/outlets.js');
  const timeout = num(cmd, o.timeout, '--timeout');
  try {
    if (o.driver === 'apc-snmp') {
      if (!o.host) usage(cmd, '--host is required with --driver apc-snmp');
      const version = o.snmpVersion ?? (o.v3User ? '3' : '1');
      if (!['1', '2c', '3'].includes(version)) usage(cmd, `--snmp-version must be 1, 2c or 3, got "${version}"`);
      if (version !== '3' && !o.community && !o.communityFile)
        usage(cmd, 'give --community-file (or --community) for SNMP v1/v2c');
      if (version === '3' && !o.v3User) usage(cmd, 'give --v3-user (and pass phrase files) for SNMP v3');
      const cfg = {
        driver: 'apc-snmp' as const,
        name: 'pdu',
        host: o.host,
        port: num(cmd, o.port, '--port') ?? 161,
        version: version as '1' | '2c' | '3',
        community_file: version === '3' ? undefined : (o.communityFile ?? CLI_COMMUNITY),
        v3:
          version === '3'
            ? {
                user: o.v3User as string,
                security_level: (o.securityLevel ?? 'authPriv') as 'authPriv',
                auth_protocol: (o.authProtocol ?? 'sha') as 'sha',
                auth_password_file: o.authPasswordFile,
                priv_protocol: (o.privProtocol ?? 'aes') as 'aes',
                priv_password_file: o.privPasswordFile,
              }
            : undefined,
        family: (o.family ?? 'auto') as 'auto',
        timeout_s: timeout ?? 1,
      };
      const community = o.community;
      const { apcSnmpDeviceSchema, createApcSnmpDriver } = await import('../devices/apc-snmp/index.js');
      return createApcSnmpDriver(apcSnmpDeviceSchema.parse(cfg), {
        readSecret: (f) =>
          f === CLI_COMMUNITY && community !== undefined ? Promise.resolve(community) : defaultReadSecret(f),
      });
    }
    // "apc-serial" is the name the APC serial console goes by elsewhere; the family is pdu-serial
    if (o.driver === 'pdu-serial' || o.driver === 'apc-serial') {
      if (!o.device) usage(cmd, '--device is required with --driver pdu-serial');
      if (!o.user || !o.passwordFile) usage(cmd, '--user and --password-file are required with --driver pdu-serial');
      const { createPduSerialDriver, pduSerialDeviceSchema } = await import('../devices/pdu-serial/index.js');
      return createPduSerialDriver(
        pduSerialDeviceSchema.parse({
          driver: 'pdu-serial',
          name: 'pdu',
          device: o.device,
          baud: (num(cmd, o.baud, '--baud') ?? 9600) as 9600,
          user: o.user,
          password_file: o.passwordFile,
          command_timeout_s: timeout ?? 5,
        }),
      );
    }
  } catch (e) {
    if (e instanceof Error && e.name === 'ZodError') usage(cmd, `invalid options: ${e.message}`);
    throw e;
  }
  usage(cmd, `--driver must be apc-snmp or pdu-serial (alias apc-serial), got "${o.driver ?? ''}"`);
}

function out(o: PduOpts, data: unknown, text: string): void {
  process.stdout.write(o.json ? `${JSON.stringify(data)}\n` : `${text}\n`);
}

async function withDriver(cmd: Command, fn: (d: PowerDriver, o: PduOpts) => Promise<void>): Promise<void> {
  const o = cmd.optsWithGlobals() as PduOpts;
  const d = await driverFromOptions(cmd, o);
  try {
    await fn(d, o);
  } catch (e) {
    if (!(e instanceof DriverError)) throw e;
    process.stderr.write(`rackwitness pdu: ${e.kind}: ${e.message}\n`);
    if (o.json) process.stdout.write(`${JSON.stringify({ ok: false, kind: e.kind, error: e.message })}\n`);
    process.exitCode = 1;
  } finally {
    await d.close();
  }
}

export function registerPduCli(program: Command): void {
  const pdu = program
    .command('pdu')
    .description(
      'Talk to a PDU directly (diagnostics, no daemon): outlet status/on/off/reboot with verification, list.',
    )
    .option('--driver <family>', 'apc-snmp | pdu-serial (alias apc-serial)')
    .option('--host <host>', 'apc-snmp: PDU address')
    .option('--port <port>', 'apc-snmp: UDP port (default 161)')
    .option('--snmp-version <v>', 'apc-snmp: 1 | 2c | 3 (default 1, or 3 with --v3-user)')
    .option('--community-file <file>', 'apc-snmp: file holding the write community (preferred)')
    .option(
      '--community <community>',
      'apc-snmp: write community on the command line (visible in ps; diagnostics only)',
    )
    .option('--v3-user <user>', 'apc-snmp: SNMPv3 user')
    .option('--security-level <level>', 'apc-snmp: noAuthNoPriv | authNoPriv | authPriv (default authPriv)')
    .option('--auth-protocol <p>', 'apc-snmp: md5 | sha | sha224 | sha256 | sha384 | sha512 (default sha)')
    .option('--auth-password-file <file>', 'apc-snmp: file holding the v3 authentication pass phrase')
    .option('--priv-protocol <p>', 'apc-snmp: des | aes | aes256b | aes256r (default aes)')
    .option('--priv-password-file <file>', 'apc-snmp: file holding the v3 privacy pass phrase')
    .option('--family <table>', 'apc-snmp: outlet table (auto, apc-rpdu, apc-rpdu2, apc-spdu, tripplite, eaton-epdu)')
    .option('--device <path>', 'pdu-serial: serial device (/dev/serial/by-id/...)')
    .option('--baud <rate>', 'pdu-serial: line speed (default 9600)')
    .option('--user <user>', 'pdu-serial: console user')
    .option('--password-file <file>', 'pdu-serial: file holding the console password')
    .option('--timeout <s>', 'per-request timeout in seconds (SNMP request / console command)')
    .option('--verify-timeout <s>', 'how long on/off/reboot wait for the PDU to report the new state (default 10)')
    .option('--boot-delay <s>', 'reboot: wait between the verified off and the power-on (default 10, as fencing)')
    .option('--json', 'print JSON');

  pdu
    .command('outlet')
    .description('Read or switch one outlet (number or name); on/off/reboot wait until the PDU reports the new state.')
    .argument('<outlet>', 'outlet number or outlet name')
    .argument('<action>', 'status | on | off | reboot')
    .action(async (plug: string, action: string, _opts: unknown, cmd: Command) => {
      const act = (['status', 'on', 'off', 'reboot'] as const).find((a) => a === action);
      if (!act) usage(cmd, `action must be status, on, off or reboot, got "${action}"`);
      await withDriver(cmd, async (d, o) => {
        const verifyMs = (num(cmd, o.verifyTimeout, '--verify-timeout') ?? 10) * 1000;
        const bootDelay = o.bootDelay === undefined ? 10 : Number(o.bootDelay);
        if (!Number.isFinite(bootDelay) || bootDelay < 0 || bootDelay > 600)
          usage(cmd, `--boot-delay must be a number of seconds in 0..600, got "${o.bootDelay}"`);
        if (act === 'status') {
          const t0 = performance.now();
          const state = await d.status(plug, AbortSignal.timeout(verifyMs + 60_000));
          out(o, { ok: true, outlet: plug, state, ms: Math.round(performance.now() - t0) }, state);
          return;
        }
        const r = await runOneLevel(d, plug, act, {
          powerTimeoutMs: verifyMs,
          pollIntervalMs: 200,
          commandTimeoutMs: 60_000,
          bootDelayMs: bootDelay * 1000,
        });
        if (!r.ok) throw new DriverError(r.kind ?? 'timeout', d.device, `${r.reason}; not verified`);
        if (act === 'reboot') {
          out(
            o,
            {
              ok: true,
              outlet: plug,
              action,
              state: r.state,
              verified: true,
              off_ms: r.offMs,
              ms: r.ms,
              reads: r.reads,
            },
            `outlet ${plug}: off verified in ${r.offMs} ms, on verified ${r.ms} ms after the start (boot delay ${bootDelay} s)`,
          );
          return;
        }
        out(
          o,
          { ok: true, outlet: plug, action, state: r.state, verified: true, ms: r.ms, reads: r.reads },
          `outlet ${plug}: ${r.state} (verified in ${r.ms} ms)`,
        );
      });
    });

  pdu
    .command('list')
    .description('List outlets with their names and states.')
    .action(async (_opts: unknown, cmd: Command) => {
      await withDriver(cmd, async (d, o) => {
        if (!d.list) throw new DriverError('refused', d.device, 'this device cannot list outlets');
        const rows: PlugInfo[] = await d.list(AbortSignal.timeout(60_000));
        out(o, rows, rows.map((r) => `${r.plug.padStart(3)}  ${r.state.padEnd(3)}  ${r.name ?? ''}`).join('\n'));
      });
    });
}
