/**
 * The top-level commands and the module that registers each: a command line loads only the module
 * of its command (a short command such as `rackwitness ipmi ... power status` does not load the
 * daemon, zod schemas or the MQTT stack), while help, --version and unknown names load them all
 * (commander's help and "did you mean" need every command). A test keeps `names` equal to what
 * each module registers.
 */
import type { Command } from 'commander';

export interface CommandModule {
  names: readonly string[];
  load: () => Promise<(program: Command) => void>;
}

export const COMMAND_MODULES: readonly CommandModule[] = [
  {
    names: ['run', 'status', 'events', 'config', 'tables'],
    load: async () => (await import('./core-commands.js')).registerCoreCli,
  },
  { names: ['arbitrator'], load: async () => (await import('../arbitrator/cli.js')).registerArbitratorCli },
  { names: ['pg'], load: async () => (await import('../pgsql/cli.js')).registerPgsqlCli },
  { names: ['fence'], load: async () => (await import('../fencing/cli/fence.js')).registerFencingCli },
  { names: ['watchdog'], load: async () => (await import('../watchdog/cli.js')).registerWatchdogCli },
  { names: ['ipmi'], load: async () => (await import('../fencing/cli/ipmi.js')).registerIpmiCli },
  {
    names: ['install-agents'],
    load: async () => (await import('../agents/install.js')).registerInstallAgentsCli,
  },
  { names: ['pdu'], load: async () => (await import('../fencing/cli/pdu.js')).registerPduCli },
  { names: ['qdevice'], load: async () => (await import('../qdevice/cli.js')).registerQdeviceCli },
  // <cli:modules> capabilities add their row above this line
];

/** The command named on the command line: the first argument that is not an option. */
export function commandName(args: readonly string[]): string | undefined {
  return args.find((a) => !a.startsWith('-'));
}

/** Registers the module of `args`' command, or every module when the command is none of theirs. */
export async function registerCommands(program: Command, args: readonly string[]): Promise<void> {
  const name = commandName(args);
  const own = COMMAND_MODULES.find((m) => name !== undefined && m.names.includes(name));
  const mods = own ? [own] : COMMAND_MODULES;
  const registers = await Promise.all(mods.map((m) => m.load()));
  for (const register of registers) register(program);
}
