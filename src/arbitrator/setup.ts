/**
 * Builds an Arbitrator from files, shared by the daemon service and the standalone command:
 * booth.conf parsed and resolved, own address found (or given), authfile read with boothd's rules.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { Arbitrator, type ArbLogger, type EventSink, type GuardOptions } from './arbitrator.js';
import { readAuthKey } from './authkey.js';
import { type BoothConf, type BoothMember, parseBoothConf } from './boothconf.js';
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
  onTick?: () => void;
}

/** What setupArbitrator reads and checks before building the arbitrator (also `config check`). */
export interface ArbitratorFiles {
  conf: BoothConf;
  self: BoothMember;
  key: Buffer | undefined;
}

export async function setupArbitrator(o: SetupOptions): Promise<Arbitrator> {
  const { conf, self, key } = await readArbitratorFiles(o);
  return new Arbitrator({
    conf,
    self,
    key,
    log: o.log,
    event: o.event,
    guard: o.guard,
    onChange: o.onChange,
    onTick: o.onTick,
  });
}

/**
 * Reads booth.conf, finds this box's member, reads the authfile with boothd's rules and checks
 * the guard's tickets; throws an Error naming the file. Binds nothing.
 */
export async function readArbitratorFiles(
  o: Pick<SetupOptions, 'boothConfig' | 'authfile' | 'address'> & { guard?: { tickets: ReadonlySet<string> } },
): Promise<ArbitratorFiles> {
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
  return { conf, self, key };
}
