/**
 * The shipped alert rules and dashboard: the real promtool checks and unit-tests the rules
 * (monitoring/rackwitness.rules.test.yml); the dashboard's queries parse into metric names that
 * the daemon exports (checked against a running daemon in test/integration/daemon/demo.test.ts).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  alertRules,
  dashboardQueries,
  MONITORING,
  promqlMetricNames,
  promtoolCheckMetrics,
} from '../../fixtures/monitoring.js';

const run = (args: string[]) => {
  const r = spawnSync('promtool', args, { cwd: MONITORING, encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
};

describe('alert rules', () => {
  it('pass promtool check rules', () => {
    const r = run(['check', 'rules', 'rackwitness.rules.yml']);
    expect(r.out).toMatch(/SUCCESS: \d+ rules found/);
    expect(r.code).toBe(0);
  });

  it('pass their promtool unit tests', () => {
    const r = run(['test', 'rules', 'rackwitness.rules.test.yml']);
    expect(r.out).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });

  it('cover what issue 14 asks for, and every rule has a unit test that expects it to fire', () => {
    const names = alertRules().map((r) => r.alert);
    expect(names).toEqual(
      expect.arrayContaining([
        'RackwitnessBoxDown',
        'RackwitnessWatchdogNotFeeding',
        'RackwitnessFenceFailedOrRefused',
        'RackwitnessFenceDeviceUnreachable',
        'RackwitnessTwoWritablePrimaries',
        'RackwitnessNoFailoverTarget',
        'RackwitnessReplicationLagOverMaxlag',
        'RackwitnessTicketWithoutLeader',
      ]),
    );
    const tests = parse(readFileSync(join(MONITORING, 'rackwitness.rules.test.yml'), 'utf8')) as {
      tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
    };
    const fired = new Set(
      tests.tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)),
    );
    const quiet = new Set(
      tests.tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length === 0).map((a) => a.alertname)),
    );
    for (const n of names) {
      expect(fired, `${n} has no test case where it fires`).toContain(n);
      expect(quiet, `${n} has no test case where it stays quiet`).toContain(n);
    }
  });
});

describe('PromQL metric-name extraction (used by the dashboard check)', () => {
  it('finds the selected metrics, not functions, labels, keywords, strings or template variables', () => {
    expect(
      promqlMetricNames(
        'histogram_quantile(0.95, sum by (le, action) (rate(rackwitness_fence_operation_duration_seconds_bucket{instance="$instance"}[$__rate_interval])))',
      ),
    ).toEqual(['rackwitness_fence_operation_duration_seconds_bucket']);
    expect(
      promqlMetricNames(
        'rackwitness_pgsql_lag_bytes > ignoring(node) group_left() rackwitness_pgsql_maxlag_bytes and ignoring(node) rackwitness_pgsql_maxlag_bytes > 0',
      ),
    ).toEqual(['rackwitness_pgsql_lag_bytes', 'rackwitness_pgsql_maxlag_bytes']);
    expect(promqlMetricNames('time() - rackwitness_start_time_seconds{instance=~"a|b"}')).toEqual([
      'rackwitness_start_time_seconds',
    ]);
    expect(promqlMetricNames('up{job="$job"} == 0 and on(instance) foo_total offset 5m')).toEqual(['foo_total', 'up']);
  });

  it('the dashboard has queries and every one names at least one metric', () => {
    const qs = dashboardQueries();
    expect(qs.length).toBeGreaterThan(20);
    for (const q of qs) expect(promqlMetricNames(q.expr), `${q.panel}: ${q.expr}`).not.toEqual([]);
  });
});

describe('strict promtool check metrics (the helper the /metrics tests use)', () => {
  it('reports a lint remark as a failure, and passes a clean exposition', () => {
    const bad = promtoolCheckMetrics('# HELP x_total a gauge named like a counter\n# TYPE x_total gauge\nx_total 1\n');
    expect(bad.code).toBe(3);
    expect(bad.output).toMatch(/non-counter metrics should not have "_total" suffix/);
    expect(promtoolCheckMetrics('# HELP x_total a counter\n# TYPE x_total counter\nx_total 1\n')).toEqual({
      code: 0,
      output: '',
    });
  });
});
