/**
 * The parameters of the fencing control methods, checked: anything that can reach the control
 * socket can send any JSON, so nothing it sends is trusted as an identity and every number is
 * validated (a clear error naming the parameter, never a silent clamp).
 */
import type { ControlParams, Untrusted } from '../../daemon/control-protocol.js';
import type { Requester } from '../journal.js';

const USER_RE = /^[A-Za-z0-9_.@-]{1,64}$/;

/**
 * The requester of a fence asked through the control socket. The socket cannot verify who the
 * caller is (its permissions admit a group), so a user name the caller sends is recorded as
 * claimed: `who` is "unverified:<name>", which no API key id (letters, digits, _ . -) can be.
 */
export function controlRequester(params: Untrusted<ControlParams<'fence.run'>>): Requester {
  const user = params.user;
  if (user === undefined) return { via: 'cli' };
  if (typeof user !== 'string' || !USER_RE.test(user))
    throw new Error('user must be a user name (1–64 letters, digits, "_", ".", "@" or "-")');
  return { via: 'cli', who: `unverified:${user}` };
}

export const MAX_HISTORY_LIMIT = 100_000;

/** fence.history's `limit`: absent = 50, else an integer 1..100000. */
export function historyLimit(params: Untrusted<ControlParams<'fence.history'>>): number {
  const l = params.limit;
  if (l === undefined) return 50;
  if (typeof l !== 'number' || !Number.isInteger(l) || l < 1 || l > MAX_HISTORY_LIMIT)
    throw new Error(`limit must be an integer from 1 to ${MAX_HISTORY_LIMIT}, not ${JSON.stringify(l)}`);
  return l;
}
