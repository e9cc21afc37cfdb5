/** Where a command finds its config and the daemon's socket. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { LoadedConfig, LoadOptions } from '../config/load.js';
import { packageRoot } from '../package-root.js';

export { packageRoot };

export const DEFAULT_CONFIG = '/etc/rackwitness/rackwitness.yaml';

export function demoConfigPath(): string {
  return resolve(packageRoot(), 'demo', 'rackwitness.demo.yaml');
}

export interface ConfigOpts {
  config?: string;
  demo?: boolean;
  socket?: string;
}

/** Adds --config/--demo to a command. */
export function withConfigOption(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', `config file (default: $RACKWITNESS_CONFIG or ${DEFAULT_CONFIG})`)
    .option('--demo', 'use the demo config shipped with the package');
}

/** Adds --config/--demo/--socket to a command that talks to the daemon. */
export function withDaemonOptions(cmd: Command): Command {
  return withConfigOption(cmd).option('--socket <path>', 'control socket of the daemon (default: from the config)');
}

export function configPath(opts: ConfigOpts): string {
  if (opts.demo) return demoConfigPath();
  return opts.config ?? process.env.RACKWITNESS_CONFIG ?? DEFAULT_CONFIG;
}

export async function loadFor(opts: ConfigOpts, loadOpts: LoadOptions = {}): Promise<LoadedConfig> {
  // The schema (zod) and the YAML parser load only for commands that read a config.
  const { loadConfigFile } = await import('../config/load.js');
  return loadConfigFile(configPath(opts), loadOpts);
}

/** The control socket: --socket, $RACKWITNESS_SOCKET, or control.socket of the config. */
export async function socketPath(opts: ConfigOpts): Promise<string> {
  if (opts.socket) return opts.socket;
  if (process.env.RACKWITNESS_SOCKET) return process.env.RACKWITNESS_SOCKET;
  // Reading the socket path needs no secrets: a monitoring user may not read secret files.
  const loaded = await loadFor(opts, { skipFileChecks: true });
  return loaded.config.control.socket;
}
