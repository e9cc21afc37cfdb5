/**
 * What the fencer, the arbiter and the agent API report: events, log lines, metrics, and the
 * power/problem state the monitor and the snapshot read.
 */
import type { ServiceContext } from '../../daemon/service.js';
import type { Attempt } from '../api/server.js';
import type { ArbiterOptions } from '../decisions/arbitration.js';
import type { FenceRequest, FenceResult, FencerHooks, FollowUpResult } from '../operations/fencer.js';
import type { FencingMetrics } from './metrics.js';
import { refreshHealth } from './monitor.js';
import { cap, type FencingState, NAME } from './state.js';

export function fencerHooks(ctx: ServiceContext, st: FencingState, m: FencingMetrics): FencerHooks {
  return {
    onStarted(req, id) {
      const who =
        req.requester.via === 'api'
          ? `${req.requester.addr}${req.requester.node ? ` (${req.requester.node})` : ''}`
          : req.requester.via;
      ctx.events.record(NAME, `fence.${req.action}`, `Starting ${req.action} of ${req.target}, asked by ${who}.`, {
        id,
        target: req.target,
        action: req.action,
        requester: req.requester,
      });
      ctx.changed();
    },
    onDecision(req, id, d) {
      ctx.log.info({ id, target: req.target, action: req.action, row: d.row }, d.reason);
    },
    onAdmit(req, d) {
      ctx.log.info(
        { target: req.target, action: req.action, requester: req.requester, row: d.row, verdict: d.verdict },
        d.reason,
      );
    },
    onFinished: (req, res) => onFinished(ctx, st, m, req, res),
    onFollowUpStarted() {
      ctx.changed();
    },
    onFollowUpPhase(req, fu) {
      if (fu.phase === 'verify-on')
        ctx.events.record(
          NAME,
          'fence.power-on.sent',
          `Boot delay over: switching ${req.target} back on after its reboot.`,
          { id: fu.id, follows: fu.follows, target: req.target },
        );
      ctx.changed();
    },
    onFollowUpFinished: (req, fu) => onFollowUpFinished(ctx, st, m, req, fu),
  };
}

function onFinished(ctx: ServiceContext, st: FencingState, m: FencingMetrics, req: FenceRequest, res: FenceResult) {
  m.opsTotal.inc({ target: req.target, action: req.action, result: res.result });
  if (res.result !== 'refused') m.opDuration.observe({ action: req.action }, res.duration_ms / 1000);
  if (res.power && (res.result === 'success' || res.power === 'off'))
    st.power.set(req.target, { state: res.power, at: new Date().toISOString() });
  if (res.result === 'success' && req.action !== 'status') st.problems.delete(req.target);
  refreshHealth(st);
  ctx.events.record(NAME, `fence.${res.result}`, sentence(res), {
    id: res.id,
    target: res.target,
    action: res.action,
    result: res.result,
    level: res.level,
    verified_by: res.verified_by,
    duration_ms: res.duration_ms,
  });
  ctx.changed();
}

function onFollowUpFinished(
  ctx: ServiceContext,
  st: FencingState,
  m: FencingMetrics,
  req: FenceRequest,
  fu: FollowUpResult,
) {
  m.opsTotal.inc({ target: req.target, action: 'power-on', result: fu.result });
  if (fu.power) st.power.set(req.target, { state: fu.power, at: new Date().toISOString() });
  if (fu.result === 'success') st.problems.delete(req.target);
  else if (fu.result === 'failed')
    st.problems.set(
      req.target,
      `${req.target} stays off: its power-on after a reboot FAILED (${fu.reason}); the fence answer stands; power it on with "rackwitness fence ${req.target} --action on".`,
    );
  else if (/daemon is stopping/.test(fu.reason))
    st.problems.set(req.target, `${req.target} stays off: its pending power-on was cancelled when the daemon stopped.`);
  ctx.events.record(NAME, `fence.power-on.${fu.result}`, followUpSentence(fu), {
    id: fu.id,
    follows: fu.follows,
    target: fu.target,
    result: fu.result,
    level: fu.level,
    verified_by: fu.verified_by,
    duration_ms: fu.duration_ms,
  });
  refreshHealth(st);
  ctx.changed();
}

/** The arbiter's onDecision: counted, logged, and a hold (or the window's end) is an event. */
export function arbitrationReporter(ctx: ServiceContext, m: FencingMetrics): NonNullable<ArbiterOptions['onDecision']> {
  return (req, d) => {
    m.arbitrations.inc({ row: d.row });
    ctx.log.info({ target: req.target, action: req.action, requester: req.requester, row: d.row }, d.reason);
    if (d.outcome === 'hold') {
      ctx.events.record(NAME, 'fence.arbitration.hold', `${cap(d.reason)}.`, {
        target: req.target,
        action: req.action,
        requester: req.requester,
        row: d.row,
      });
      ctx.changed();
    } else if (d.row === 'arb.window-over') {
      ctx.events.record(NAME, 'fence.arbitration.released', `${cap(d.reason)}.`, {
        target: req.target,
        requester: req.requester,
        row: d.row,
      });
    }
  };
}

/** The agent API's onAttempt: counted, logged, and a refusal is an aggregated refusal event. */
export function apiAttemptReporter(ctx: ServiceContext, st: FencingState, m: FencingMetrics): (a: Attempt) => void {
  return (a) => {
    if (a.outcome === 'accepted') st.apiCounts.accepted++;
    else st.apiCounts.refused++;
    m.apiRequests.inc({ outcome: a.outcome, reason: a.reason ?? '' });
    const fields = {
      addr: a.addr,
      method: a.method,
      path: a.path,
      key_id: a.keyId,
      target: a.target,
      action: a.action,
      status: a.status,
    };
    if (a.outcome === 'accepted') {
      ctx.log.info({ ...fields, outcome: 'accepted' }, 'fence API request accepted');
      return;
    }
    ctx.log.warn({ ...fields, outcome: 'refused', reason: a.reason }, `fence API request refused: ${a.reason}`);
    // aggregated per source + reason: unauthenticated traffic cannot flush the fence decisions
    ctx.events.refusal(
      NAME,
      'fence.api.refused',
      { source: a.addr, reason: a.reason ?? 'refused' },
      `Refused a fence API request from ${a.addr} (${a.method} ${a.path}${a.target ? `, target ${a.target}` : ''}): ${a.reason}.`,
      { addr: a.addr, key_id: a.keyId, target: a.target, action: a.action },
    );
  };
}

function followUpSentence(f: FollowUpResult): string {
  const dur = `${(f.duration_ms / 1000).toFixed(1)} s`;
  switch (f.result) {
    case 'success':
      return `Power-on of ${f.target} after its reboot succeeded ${dur} after the answer: ${f.reason}.`;
    case 'cancelled':
      return `Pending power-on of ${f.target} after its reboot was cancelled: ${f.reason}.`;
    default:
      return `Power-on of ${f.target} after its reboot FAILED: ${f.reason}${f.note ? ` (${f.note})` : ''}; ${f.target} stays off, and the fence result already given (off verified) stands.`;
  }
}

function sentence(r: FenceResult): string {
  const lvl = r.level ? ` at level ${r.level}` : '';
  switch (r.result) {
    case 'success':
      return `${cap(r.action)} of ${r.target} succeeded${lvl} in ${(r.duration_ms / 1000).toFixed(1)} s: ${r.reason}${r.note ? ` (${r.note})` : ''}${r.power_on_pending_until ? `; power-on due at ${r.power_on_pending_until}` : ''}.`;
    case 'refused':
      return `Refused ${r.action} of ${r.target}: ${r.reason}.`;
    default:
      return `${cap(r.action)} of ${r.target} FAILED after ${(r.duration_ms / 1000).toFixed(1)} s: ${r.reason}${r.action === 'off' || r.action === 'reboot' ? '; the target is NOT known to be off' : ''}.`;
  }
}
