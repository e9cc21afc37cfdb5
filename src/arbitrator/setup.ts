/**
 * Builds an Arbitrator from files, shared by the daemon service and the standalone command:
 * booth.conf parsed and resolved, own address found (or given), authfile read with boothd's rules.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { Arbitrator, type ArbLogger, type EventSink, type GuardOptions } from './arbitrator.js';
import { readAuthKey } from './authkey.js';
import { parseBoothConf } from './boothconf.js';
import { findSelf, localAddresses, resolveMembers } from './identity.js';

export interface SetupOptions {
  boothConfig: string;
  /** Overrides booth.conf's authfile line. */
  authfile?: string;
  address?: string;
  log: ArbLogger;
  event: EventSink;
  guard?: GuardOptions;
  onChange?: () => void;
}

export async function setupArbitrator(o: SetupOptions): Promise<Arbitrator> {
  let text: string;
  try {
    text = readFileSync(o.boothConfig, 'utf8');
  } catch (e) {
    throw new Error(`booth config ${o.boothConfig}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  let conf: ReturnType<typeof parseBoothConf>;
  try {
    conf = parseBoothConf(text);
  } catch (e) {
    throw new Error(`${o.boothConfig}: ${(e as Error).message}`);
  }
  conf = await resolveMembers(conf);
  const self = findSelf(conf, localAddresses(), o.address);
  let keyPath = o.authfile ?? conf.authfile;
  if (keyPath !== undefined && !isAbsolute(keyPath)) keyPath = resolve(keyPath);
  const key = keyPath === undefined ? undefined : readAuthKey(keyPath);
  if (o.guard) {
    for (const t of o.guard.tickets)
      if (!conf.tickets.some((c) => c.name === t))
        throw new Error(`arbitrator.pg_guard.tickets: ticket "${t}" is not in ${o.boothConfig}`);
  }
  return new Arbitrator({ conf, self, key, log: o.log, event: o.event, guard: o.guard, onChange: o.onChange });
}
