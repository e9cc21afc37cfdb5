/**
 * Runs the real fencing service (HTTP API, drivers, journal, events) in the test process with a
 * given fencing config section, and the compiled fence_rackwitness agent as a child process.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { loadConfigText } from '../../../src/config/load.js';
import { EventLog } from '../../../src/daemon/events.js';
import { ProviderRegistry } from '../../../src/daemon/providers.js';
import type { ControlHandler, Service, ServiceContext } from '../../../src/daemon/service.js';
import { type HistoryEntry, readJournalFile } from '../../../src/fencing/journal.js';
import { createFencingService } from '../../../src/fencing/service.js';
import { Heartbeats } from '../../../src/watchdog/heartbeat.js';
import { compileEntries } from '../../fixtures/compile-entry.js';
import { cleanupDir, freePort, onCleanup, tempDir } from '../../fixtures/proc.js';

export const TEST_KEY = 'integration-test-key-0123456789abcdef0123456789';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(
  cmd: string,
  args: string[],
  input?: string,
  env?: NodeJS.ProcessEnv,
  timeoutMs = 60_000,
): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: timeoutMs, env: env ?? process.env }, (err, stdout, stderr) => {
      const code = err
        ? typeof (err as { code?: unknown }).code === 'number'
          ? (err as { code: number }).code
          : 1
        : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    child.stdin?.on('error', () => undefined); // a child that never reads stdin
    child.stdin?.end(input ?? '');
  });
}

export interface Harness {
  dir: string;
  port: number;
  keyFile: string;
  agentJs: string;
  service: Service;
  handlers: Map<string, ControlHandler>;
  /** stdin lines common to every agent call: ip, ipport, key_file, key_id. */
  base(): string;
  /** Runs the agent as pacemaker-fenced does: no argv, key=value on stdin. */
  agent(stdin: string, env?: NodeJS.ProcessEnv): Promise<Run>;
  journal(): HistoryEntry[];
}

/** `fencingYaml` is the body of the fencing section (indented by 2), without `api:`. */
/** `providers`: share a registry with other services of the test (as the daemon does), e.g. the pgsql observer's rack view. */
export async function startFencing(
  fencingYaml: string,
  apiHost = '127.0.0.1',
  apiExtra = '',
  providers: ProviderRegistry = new ProviderRegistry(),
): Promise<Harness> {
  const dir = cleanupDir(tempDir('rwfence-'));
  const keyFile = join(dir, 'fence.key');
  writeFileSync(keyFile, `${TEST_KEY}\n`, { mode: 0o600 });
  const out = compileEntries(['src/agents/fence/main.ts']);
  const agentJs = join(out, 'agents/fence/main.js');
  const port = await freePort();
  const yaml = `
box: {state_dir: ${dir}/state}
status: {enabled: false}
fencing:
${fencingYaml}
  api:
    host: ${apiHost}
    port: ${port}
    keys: [{id: cluster, key_file: ${keyFile}}]
${apiExtra}`;
  const { config } = loadConfigText(yaml, join(dir, 'rackwitness.yaml'));
  const handlers = new Map<string, ControlHandler>();
  const ctx: ServiceContext = {
    config,
    log: pino({ level: 'silent' }),
    events: new EventLog(join(dir, 'state'), 1000),
    metrics: new Registry(),
    providers,
    heartbeats: new Heartbeats(),
    stateDir: join(dir, 'state'),
    changed: () => undefined,
    health: () => ({}),
    admission: () => undefined,
    handle: (m, h) => handlers.set(m, h),
    demo: false,
    daemon: {
      status: () => {
        throw new Error('not used by fencing');
      },
      entities: () => [],
      onChange: () => () => undefined,
    },
  };
  const service = createFencingService(ctx);
  await service.start();
  onCleanup(() => service.stop());
  const base = () => `ip=127.0.0.1\nipport=${port}\nkey_file=${keyFile}\nkey_id=cluster\n`;
  return {
    dir,
    port,
    keyFile,
    agentJs,
    service,
    handlers,
    base,
    agent: (stdin, env = {}) => run(process.execPath, [agentJs], stdin, { PATH: '/usr/bin:/bin', ...env }),
    journal: () => readJournalFile(join(dir, 'state', 'fence-journal.jsonl')),
  };
}
