import { readFileSync } from 'node:fs';
import { packageRoot } from './package-root.js';

/** Set by the bundler (scripts/package.mjs): bundled agents run where no package.json is. */
declare const __RW_VERSION__: string | undefined;

/** Package version: fixed at bundle time, else read once from the package.json above this file. */
export const VERSION: string = (() => {
  if (typeof __RW_VERSION__ === 'string') return __RW_VERSION__;
  try {
    const pkg = JSON.parse(readFileSync(`${packageRoot()}/package.json`, 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return '0.0.0';
  }
})();
