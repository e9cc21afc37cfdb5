/** The fencing service's Prometheus metrics: created unregistered, zeroed and registered at start. */
import { Counter, Gauge, Histogram } from 'prom-client';
import type { ServiceContext } from '../../daemon/service.js';
import { arbitrationTable } from '../decisions/arbitration.js';
import { zeroFenceApiRequests, zeroFenceOperations } from './counter-labels.js';
import type { FencingState } from './state.js';

export interface FencingMetrics {
  opsTotal: Counter<'target' | 'action' | 'result'>;
  opDuration: Histogram<'action'>;
  deviceUp: Gauge<'device'>;
  apiRequests: Counter<'outcome' | 'reason'>;
  arbitrations: Counter<'row'>;
  inProgress: Gauge;
}

export function createFencingMetrics(st: FencingState): FencingMetrics {
  return {
    opsTotal: new Counter({
      name: 'rackwitness_fence_operations_total',
      help: 'Fence operations by target, action and result (success, failed, refused).',
      labelNames: ['target', 'action', 'result'] as const,
      registers: [],
    }),
    opDuration: new Histogram({
      name: 'rackwitness_fence_operation_duration_seconds',
      help: 'Duration of fence operations, from the first device read to the verified result.',
      labelNames: ['action'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120],
      registers: [],
    }),
    deviceUp: new Gauge({
      name: 'rackwitness_fence_device_up',
      help: '1 when the power device answered the last reachability check, 0 when not.',
      labelNames: ['device'] as const,
      registers: [],
      collect() {
        this.reset();
        for (const [name, d] of st.devices) if (d.up !== undefined) this.set({ device: name }, d.up ? 1 : 0);
      },
    }),
    apiRequests: new Counter({
      name: 'rackwitness_fence_api_requests_total',
      help: 'Fence agent API requests by outcome (accepted, refused) and refusal reason.',
      labelNames: ['outcome', 'reason'] as const,
      registers: [],
    }),
    arbitrations: new Counter({
      name: 'rackwitness_fence_arbitration_total',
      help: 'Fence arbitration decisions by table row (e.g. arb.hold-for-preferred, arb.rival-won).',
      labelNames: ['row'] as const,
      registers: [],
    }),
    inProgress: new Gauge({
      name: 'rackwitness_fence_operations_in_progress',
      help: 'Fence operations running now.',
      registers: [],
      collect() {
        this.set(st.fencer?.inProgress().length ?? 0);
      },
    }),
  };
}

/** Zeroes every series that must exist from start (see ../metrics.ts) and registers the metrics. */
export function registerFencingMetrics(ctx: ServiceContext, m: FencingMetrics, targets: string[]): void {
  for (const r of arbitrationTable.rows) m.arbitrations.inc({ row: r.id }, 0);
  zeroFenceOperations(m.opsTotal, targets);
  zeroFenceApiRequests(m.apiRequests);
  ctx.metrics.registerMetric(m.opsTotal);
  ctx.metrics.registerMetric(m.opDuration);
  ctx.metrics.registerMetric(m.deviceUp);
  ctx.metrics.registerMetric(m.apiRequests);
  ctx.metrics.registerMetric(m.inProgress);
  ctx.metrics.registerMetric(m.arbitrations);
}
