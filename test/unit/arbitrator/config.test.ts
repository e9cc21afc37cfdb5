import { describe, expect, it } from 'vitest';
import { arbitratorRules } from '../../../src/arbitrator/config.js';
import { configSchema } from '../../../src/config/schema.js';

describe('arbitrator config section', () => {
  it('defaults: enabled, guard off', () => {
    const c = configSchema.parse({ arbitrator: { booth_config: '/etc/booth/booth.conf' } });
    expect(c.arbitrator).toMatchObject({ enabled: true, optional: false, pg_guard: { enabled: false, tickets: [] } });
  });
  it('unknown keys are errors', () => {
    expect(configSchema.safeParse({ arbitrator: { booth_config: '/x', port: 9929 } }).success).toBe(false);
    expect(configSchema.safeParse({ arbitrator: {} }).success).toBe(false);
  });
  it('an enabled guard needs two nodes and a ticket', () => {
    const rule = arbitratorRules[0];
    const parse = (g: object) => configSchema.parse({ arbitrator: { booth_config: '/x', pg_guard: g } });
    expect(rule?.check(parse({ enabled: true, nodes: { '10.0.0.1': 'a' }, tickets: ['db'] }))).toMatch(
      /fewer than two/,
    );
    expect(rule?.check(parse({ enabled: true, nodes: { '10.0.0.1': 'a', '10.0.0.2': 'b' } }))).toMatch(/no ticket/);
    expect(
      rule?.check(parse({ enabled: true, nodes: { '10.0.0.1': 'a', '10.0.0.2': 'b' }, tickets: ['db'] })),
    ).toBeUndefined();
    expect(rule?.check(parse({}))).toBeUndefined();
  });
});
