/**
 * Cross-field rules: checks that span several keys (timing budgets, port clashes). Each section
 * contributes its rules next to its schema; the loader runs them all after the schema passed,
 * and the docs list them. A rule names the key a user should change.
 */
import type { Config } from './schema.js';

export interface ConfigRule {
  /** Stable identifier, e.g. "watchdog.timeout-vs-period". */
  id: string;
  /** YAML path of the key reported when the rule fails. */
  path: string;
  /** One sentence for the docs: what must hold and why. */
  describe: string;
  /** Returns undefined when the rule holds, otherwise the problem in one sentence. */
  check(config: Config): string | undefined;
}

export interface ConfigProblem {
  path: string;
  message: string;
}

export function runRules(config: Config, rules: readonly ConfigRule[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const rule of rules) {
    const msg = rule.check(config);
    if (msg !== undefined) problems.push({ path: rule.path, message: msg });
  }
  return problems;
}
