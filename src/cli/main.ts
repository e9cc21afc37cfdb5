#!/usr/bin/env -S node --max-semi-space-size=1 --optimize-for-size
/**
 * The rackwitness command. Data goes to stdout, messages to stderr; --json where output is data.
 * Exit codes: 0 ok, 1 failure or invalid input, 2 usage error; `status` uses the Nagios set
 * (0 ok, 1 degraded, 2 failed, 3 daemon unreachable).
 */
import { Command, CommanderError } from 'commander';
import { registerArbitratorCli } from '../arbitrator/cli.js';
import { registerFencingCli } from '../fencing/cli.js';
import { registerIpmiCli } from '../fencing/ipmi/cli.js';
import { registerPduCli } from '../fencing/pdu-cli.js';
import { registerPgsqlCli } from '../pgsql/cli.js';
import { registerInstallAgentsCli } from '../pgsql/install-agents.js';
import { registerQdeviceCli } from '../qdevice/cli.js';
import { VERSION } from '../version.js';
import { registerWatchdogCli } from '../watchdog/cli.js';
import { registerCoreCli } from './core-commands.js';
// <cli:imports> capabilities import their register function above this line

export function buildProgram(): Command {
  const program = new Command('rackwitness')
    .description('Witness box of a two-node PostgreSQL rack: fencing, ticket arbitration, watchdog, status.')
    .version(VERSION, '-V, --version')
    .showHelpAfterError()
    .exitOverride();
  registerCoreCli(program);
  registerArbitratorCli(program);
  registerPgsqlCli(program);
  registerFencingCli(program);
  registerWatchdogCli(program);
  registerIpmiCli(program);
  registerInstallAgentsCli(program);
  registerPduCli(program);
  registerQdeviceCli(program);
  // <cli:register> capabilities call their register function above this line
  return program;
}

async function main(): Promise<void> {
  // `rackwitness events --json | head -1`: a reader that goes away is no error of ours
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  const program = buildProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode === 0 ? 0 : 2;
      return;
    }
    process.stderr.write(`rackwitness: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  }
}

await main();
