#!/usr/bin/env node
/**
 * Minimal entry point with only the arbitrator command (`node dist/arbitrator/standalone.js
 * arbitrator --booth-config ...`), for boxes or tests that run the arbitrator alone.
 */
import { Command, CommanderError } from 'commander';
import { registerArbitratorCli } from './cli.js';

const program = new Command('rackwitness').exitOverride();
registerArbitratorCli(program);
try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (!(e instanceof CommanderError))
    process.stderr.write(`rackwitness: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = e instanceof CommanderError ? (e.exitCode === 0 ? 0 : 2) : 1;
}
