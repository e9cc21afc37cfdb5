/**
 * Who am I: like boothd, the arbitrator finds its own address among the configured members by
 * byte-identical comparison with the local interface addresses, and binds only that address.
 * Host names in booth.conf are resolved once at start; the first result replaces the name.
 */
import { lookup } from 'node:dns/promises';
import { networkInterfaces } from 'node:os';
import { type BoothConf, type BoothMember, checkIdCollisions } from './boothconf.js';
import { addressBytes, siteId } from './wire.js';

export function sameAddress(a: string, b: string): boolean {
  try {
    return Buffer.from(addressBytes(a)).equals(Buffer.from(addressBytes(b)));
  } catch {
    return false;
  }
}

export function localAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.push(a.address);
  return out;
}

/** Resolves host-name members to numeric addresses and computes their site ids. */
export async function resolveMembers(conf: BoothConf): Promise<BoothConf> {
  const members: BoothMember[] = [];
  for (const m of conf.members) {
    if (m.id !== 0) {
      members.push(m);
      continue;
    }
    let address: string;
    try {
      address = (await lookup(m.address)).address;
    } catch (e) {
      throw new Error(`booth.conf: cannot resolve ${m.type} "${m.address}" (${(e as Error).message})`);
    }
    members.push({ ...m, address, id: siteId(address) });
  }
  checkIdCollisions(members);
  return { ...conf, members };
}

/**
 * The member this box is. With an override, that configured address; otherwise the member
 * whose address is one of the local addresses. Only an arbitrator line is accepted.
 */
export function findSelf(conf: BoothConf, local: string[], override?: string): BoothMember {
  let me: BoothMember | undefined;
  if (override !== undefined) {
    me = conf.members.find((m) => sameAddress(m.address, override) || m.address === override);
    if (!me) throw new Error(`--address ${override} is not a site or arbitrator in booth.conf`);
  } else {
    me = conf.members.find((m) => local.some((l) => sameAddress(l, m.address)));
    if (!me)
      throw new Error(
        `cannot find myself in booth.conf: none of ${conf.members.map((m) => m.address).join(', ')} is a local address (use --address)`,
      );
  }
  if (me.type !== 'arbitrator')
    throw new Error(`${me.address} is a booth site in booth.conf; rackwitness only runs as an arbitrator`);
  return me;
}
