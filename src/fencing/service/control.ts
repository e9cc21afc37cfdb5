/** The control methods: fence.run, fence.history, fence.status and fence.sim (simulated devices only). */
import type { ControlParams, Untrusted } from '../../daemon/control-protocol.js';
import type { ServiceContext } from '../../daemon/service.js';
import { fenceActions } from '../decisions/core.js';
import { type SimDriver, simFaults } from '../devices/sim/index.js';
import type { FenceJournal } from '../journal.js';
import { type Fencer, UnknownTargetError } from '../operations/fencer.js';
import { controlRequester, historyLimit } from './control-params.js';
import { fencingSnapshot } from './snapshot.js';
import { type FencingState, NAME } from './state.js';

/** Registers the handlers; the fencer and journal are the ones open now (the handlers close over them). */
export function registerFenceControl(
  ctx: ServiceContext,
  st: FencingState,
  running: Fencer,
  history: FenceJournal,
): void {
  ctx.handle('fence.run', async (params) => {
    const closed = ctx.admission();
    if (closed) throw new Error(closed);
    const target = String(params.target ?? '');
    const action = fenceActions.find((a) => a === (params.action ?? 'reboot'));
    if (!action) throw new Error(`action must be one of ${fenceActions.join(', ')}`);
    try {
      return await running.run({
        target,
        action,
        requester: controlRequester(params),
      });
    } catch (e) {
      if (e instanceof UnknownTargetError)
        throw new Error(`${e.message}; configured: ${running.targets().join(', ') || 'none'}`);
      throw e;
    }
  });
  ctx.handle('fence.history', async (params) => {
    const limit = historyLimit(params);
    const target = typeof params.target === 'string' ? params.target : undefined;
    return { entries: history.history(limit, target) };
  });
  ctx.handle('fence.status', async () => fencingSnapshot(st));
  ctx.handle('fence.sim', async (params) => simControl(ctx, st, params));
}

/** fence.sim: reads or sets a simulated device's fault. */
async function simControl(ctx: ServiceContext, st: FencingState, params: Untrusted<ControlParams<'fence.sim'>>) {
  const name = String(params.device ?? '');
  const drv = st.drivers.get(name);
  if (drv?.family !== 'sim') throw new Error(`"${name}" is not a simulated device`);
  const sim = drv as SimDriver;
  if (params.fault !== undefined) {
    const fault = simFaults.find((f) => f === params.fault);
    if (!fault) throw new Error(`fault must be one of ${simFaults.join(', ')}`);
    sim.setFault(fault);
    ctx.events.record(NAME, 'fence.sim.fault', `Simulated device ${name} now behaves as "${fault}".`);
  }
  return { device: name, fault: sim.fault() };
}
