import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfigText } from '../../../src/config/load.js';

const problems = (text: string) => {
  try {
    loadConfigText(text, '(inline)', { env: {}, skipFileChecks: true });
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.problems.map((p) => `${p.path}: ${p.message}`);
  }
};

describe('a disabled service section', () => {
  it('is not asked for the keys it would need if enabled', () => {
    expect(problems('pgsql: {enabled: false}\narbitrator: {enabled: false}\nfencing: {enabled: false}\n')).toEqual([]);
    const { config } = loadConfigText('pgsql: {enabled: false, poll_interval_s: 5}\n', '(inline)', { env: {} });
    expect(config.pgsql?.enabled ?? false).toBe(false);
  });

  it('still refuses unknown keys and bad values in it, naming them', () => {
    expect(problems('pgsql: {enabled: false, nodez: [], poll_interval_s: -3}\n')).toEqual([
      'pgsql.poll_interval_s: Too small: expected number to be >=0.2',
      'pgsql.nodez: unknown key',
    ]);
  });

  it('disabled through the environment works too', () => {
    expect(() =>
      loadConfigText('arbitrator: {address: 10.0.0.3}\n', '(inline)', {
        env: { RACKWITNESS_ARBITRATOR_ENABLED: 'false' },
      }),
    ).not.toThrow();
  });

  it('an enabled section still needs its keys', () => {
    expect(problems('pgsql: {}\n')).toEqual(['pgsql.nodes: Invalid input: expected array, received undefined']);
  });
});
