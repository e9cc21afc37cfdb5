/**
 * `rackwitness arbitrator`: runs the booth-compatible arbitrator in the foreground, without the
 * daemon, so it can replace a boothd arbitrator as is (same booth.conf, same authfile, same
 * address and port). Decisions go to stderr as one line each; SIGTERM/SIGINT stop it.
 */
import type { Command } from 'commander';
import type { ArbLogger } from './arbitrator.js';
import { setupArbitrator } from './setup.js';

interface Opts {
  boothConfig: string;
  authfile?: string;
  address?: string;
  verbose?: boolean;
  json?: boolean;
}

function stderrLogger(verbose: boolean, json: boolean): ArbLogger {
  const line = (level: string, obj: object, msg?: string) => {
    if (json) process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...obj })}\n`);
    else process.stderr.write(`${new Date().toISOString()} ${level} ${msg ?? ''}\n`);
  };
  return {
    debug: (o, m) => verbose && line('debug', o, m),
    info: (o, m) => line('info', o, m),
    warn: (o, m) => line('warn', o, m),
    error: (o, m) => line('error', o, m),
  };
}

export async function runArbitrator(opts: Opts): Promise<void> {
  const log = stderrLogger(opts.verbose ?? false, opts.json ?? false);
  const arb = await setupArbitrator({
    boothConfig: opts.boothConfig,
    authfile: opts.authfile,
    address: opts.address,
    log,
    event: (kind, sentence, data) => log.info({ kind, ...data }, `${kind}: ${sentence}`),
  });
  await arb.start();
  await new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      log.info({ signal: sig }, `arbitrator stopping on ${sig}`);
      void arb.stop().then(resolve, resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

export function registerArbitratorCli(program: Command): void {
  program
    .command('arbitrator')
    .description(
      'Run the booth-compatible ticket arbitrator in the foreground (drop-in for a boothd arbitrator; needs no daemon).',
    )
    .requiredOption('--booth-config <file>', 'booth.conf shared with the sites')
    .option('--authfile <file>', "booth authfile (default: booth.conf's authfile line)")
    .option('--address <addr>', 'arbitrator address of booth.conf to bind (default: found among local addresses)')
    .option('-v, --verbose', 'log every packet decision')
    .option('--json', 'log lines as JSON')
    .action(async (opts: Opts) => {
      await runArbitrator(opts);
    });
}
