/**
 * Label sets of the fencing counters that must exist from start. A counter series that appears
 * only at its first increment is invisible to `increase(...) > 0` on that first increment (there
 * is no earlier sample to compare with), so the first fencing failure would never alert. The
 * service zeroes every configured target × action × result (and every API refusal reason) when it
 * registers its metrics.
 */
import type { Counter } from 'prom-client';
import type { RefusalReason } from '../api/server.js';
import { fenceActions } from '../decisions/core.js';

/** Results of a fence operation (FenceResult.result). */
export const fenceResults = ['success', 'failed', 'refused'] as const;
/** Results of the power-on that follows a reboot (FollowUpResult.result), counted as action "power-on". */
export const powerOnResults = ['success', 'failed', 'cancelled'] as const;

// A Record, so that a new RefusalReason fails to compile until it is listed here.
const refusal: Record<RefusalReason, true> = {
  'rate-limited': true,
  'not-found': true,
  'body-too-large': true,
  'missing-auth': true,
  'unknown-key': true,
  'stale-timestamp': true,
  'bad-signature': true,
  replay: true,
  'bad-request': true,
  'unknown-target': true,
  busy: true,
  'not-ready': true,
  'replay-guard': true,
};
export const refusalReasons = Object.keys(refusal) as RefusalReason[];

/** Every target × action × result of rackwitness_fence_operations_total, at 0. */
export function zeroFenceOperations(ops: Counter<'target' | 'action' | 'result'>, targets: readonly string[]): void {
  for (const target of targets) {
    for (const action of fenceActions) for (const result of fenceResults) ops.inc({ target, action, result }, 0);
    for (const result of powerOnResults) ops.inc({ target, action: 'power-on', result }, 0);
  }
}

/** Every outcome × reason of rackwitness_fence_api_requests_total, at 0. */
export function zeroFenceApiRequests(requests: Counter<'outcome' | 'reason'>): void {
  requests.inc({ outcome: 'accepted', reason: '' }, 0);
  for (const reason of refusalReasons) requests.inc({ outcome: 'refused', reason }, 0);
}
