/** The lazy command table: each row's names are exactly what its module registers, no name is
 *  claimed twice, and a command line loads only its own module. */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMAND_MODULES, commandName, registerCommands } from '../../../src/cli/commands.js';

const names = (p: Command) => p.commands.map((c) => c.name()).sort();

describe('COMMAND_MODULES', () => {
  it('each row names exactly the commands its module registers', async () => {
    for (const m of COMMAND_MODULES) {
      const p = new Command('t');
      (await m.load())(p);
      expect(names(p), m.names.join(',')).toEqual([...m.names].sort());
    }
  });

  it('no command is claimed by two rows', () => {
    const all = COMMAND_MODULES.flatMap((m) => m.names);
    expect(new Set(all).size).toBe(all.length);
  });

  it('a command line registers only its own module; help and unknown names register all', async () => {
    const only = new Command('t');
    await registerCommands(only, ['ipmi', '--host', 'h', 'power', 'status']);
    expect(names(only)).toEqual(['ipmi']);
    for (const args of [[], ['--help'], ['help', 'ipmi'], ['nosuch']]) {
      const all = new Command('t');
      await registerCommands(all, args);
      expect(names(all)).toEqual(COMMAND_MODULES.flatMap((m) => m.names).sort());
    }
    expect(commandName(['-V'])).toBeUndefined();
  });
});
