#!/usr/bin/env -S node --max-semi-space-size=1 --optimize-for-size
/**
 * The rackwitness command. Data goes to stdout, messages to stderr; --json where output is data.
 * Exit codes: 0 ok, 1 failure or invalid input, 2 usage error; `status` uses the Nagios set
 * (0 ok, 1 degraded, 2 failed, 3 daemon unreachable).
 */
import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { registerCommands } from './commands.js';
// <cli:imports> capabilities import their register function above this line
// (or, better for start-up, add a lazily loaded row to COMMAND_MODULES in ./commands.ts)

/** The program for these arguments: only the named command's module is loaded (./commands.ts). */
export async function buildProgram(args: readonly string[] = process.argv.slice(2)): Promise<Command> {
  const program = new Command('rackwitness')
    .description('Witness box of a two-node PostgreSQL rack: fencing, ticket arbitration, watchdog, status.')
    .version(VERSION, '-V, --version')
    .showHelpAfterError()
    .exitOverride();
  await registerCommands(program, args);
  // <cli:register> capabilities call their register function above this line
  return program;
}

async function main(): Promise<void> {
  // `rackwitness events --json | head -1`: a reader that goes away is no error of ours
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  const program = await buildProgram();
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
