/**
 * Loading a config: YAML file -> env overrides -> schema -> relative paths -> secret files ->
 * cross-field rules. Every problem is reported with its YAML path (and the env variable when an
 * override caused it); nothing is started from a config that has any problem.
 */
import { statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { isSeq, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from './errors.js';
import { alternatives, configJsonSchema, type JsonSchema, objectLeaves } from './json-schema.js';
import { type ConfigProblem, runRules } from './rules.js';
import { type Config, configRules, configSchema, disableableSections } from './schema.js';

export const ENV_PREFIX = 'RACKWITNESS_';
/** Env variables that are not config keys. */
const RESERVED_ENV = new Set(['RACKWITNESS_CONFIG', 'RACKWITNESS_SOCKET']);

export { ConfigError };

export interface LoadedConfig {
  config: Config;
  source: string;
  /** YAML paths whose value came from an env variable. */
  fromEnv: Record<string, string>;
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Skip filesystem checks of secret files (used by `config schema`, never by `run`). */
  skipFileChecks?: boolean;
}

/** Reads and validates a config file; throws ConfigError listing every problem. */
export function loadConfigText(text: string, source: string, opts: LoadOptions = {}): LoadedConfig {
  const problems: ConfigProblem[] = [];
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: true });
  for (const e of doc.errors) {
    const pos = e.linePos?.[0];
    problems.push({
      path: pos ? `line ${pos.line}, column ${pos.col}` : '(yaml)',
      message: e.message.split('\n')[0] ?? e.message,
    });
  }
  if (problems.length) throw new ConfigError(source, problems);
  const raw: unknown = doc.toJS() ?? {};
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || isSeq(doc.contents)) {
    throw new ConfigError(source, [{ path: '(root)', message: 'the config must be a YAML mapping of sections' }]);
  }
  const fromEnv = applyEnvOverrides(raw as Record<string, unknown>, opts.env ?? process.env, problems);
  if (problems.length) throw new ConfigError(source, problems);

  const rawSections = raw as Record<string, unknown>;
  for (const [name, schema] of Object.entries(disableableSections)) {
    const sec = rawSections[name];
    if (!sec || typeof sec !== 'object' || Array.isArray(sec) || (sec as { enabled?: unknown }).enabled !== false)
      continue;
    const loose = schema.partial().safeParse(sec);
    if (!loose.success) {
      problems.push(
        ...zodProblems(loose.error, fromEnv).map((p) => ({
          ...p,
          path: p.path === '(root)' ? name : `${name}.${p.path}`,
        })),
      );
    } else delete rawSections[name];
  }
  if (problems.length) throw new ConfigError(source, problems);

  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(source, zodProblems(parsed.error, fromEnv));
  }
  const config = parsed.data;
  const baseDir = source === '(inline)' ? process.cwd() : dirname(resolve(source));
  walkMarked(configJsonSchema(), config as unknown, [], (_path, value, schema, set) => {
    if (schema['x-path'] === true && typeof value === 'string' && !isAbsolute(value)) set(resolve(baseDir, value));
  });
  if (!opts.skipFileChecks) {
    walkMarked(configJsonSchema(), config as unknown, [], (path, value, schema) => {
      if (schema['x-secret-file'] === true && typeof value === 'string') {
        const msg = checkSecretFile(value);
        if (msg) problems.push({ path: withEnv(path.join('.'), fromEnv), message: msg });
      }
    });
  }
  problems.push(...runRules(config, configRules).map((p) => ({ ...p, path: withEnv(p.path, fromEnv) })));
  // Union alternatives may visit the same key twice: report each problem once.
  const unique = [...new Map(problems.map((p) => [`${p.path}\0${p.message}`, p])).values()];
  if (unique.length) throw new ConfigError(source, unique);
  return { config, source, fromEnv };
}

/** Checks that a secret file exists, is a regular file and is not group/other-accessible. */
export function checkSecretFile(file: string): string | undefined {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(file);
  } catch (e) {
    return `secret file ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`;
  }
  if (!st.isFile()) return `secret file ${file} is not a regular file`;
  if (st.size === 0) return `secret file ${file} is empty`;
  if ((st.mode & 0o077) !== 0) {
    return `secret file ${file} has mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}; it must not be group/other-accessible (chmod 600)`;
  }
  return undefined;
}

function withEnv(path: string, fromEnv: Record<string, string>): string {
  const v = fromEnv[path];
  return v ? `${path} (from ${v})` : path;
}

function zodProblems(error: z.ZodError, fromEnv: Record<string, string>): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const issue of error.issues) {
    const base = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) out.push({ path: base ? `${base}.${k}` : k, message: 'unknown key' });
      continue;
    }
    out.push({ path: withEnv(base || '(root)', fromEnv), message: issue.message });
  }
  return out;
}

/** Env variable name of a YAML path. */
export function envName(path: readonly string[]): string {
  return ENV_PREFIX + path.map((p) => p.toUpperCase()).join('_');
}

function applyEnvOverrides(
  raw: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  problems: ConfigProblem[],
): Record<string, string> {
  const byName = new Map(objectLeaves().map((l) => [envName(l.path), l]));
  const fromEnv: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || RESERVED_ENV.has(name) || value === undefined) continue;
    const leaf = byName.get(name);
    if (!leaf) {
      problems.push({ path: name, message: 'environment variable names no config key' });
      continue;
    }
    const dotted = leaf.path.join('.');
    const parsed = parseEnvValue(value, leaf.schema);
    if (!parsed.ok) {
      problems.push({ path: `${dotted} (from ${name})`, message: parsed.message });
      continue;
    }
    let node = raw;
    for (const seg of leaf.path.slice(0, -1)) {
      const next = node[seg];
      if (next === undefined || next === null) node[seg] = {};
      else if (typeof next !== 'object' || Array.isArray(next)) {
        problems.push({
          path: `${dotted} (from ${name})`,
          message: `cannot override inside ${seg}, which is not a mapping`,
        });
        break;
      }
      node = node[seg] as Record<string, unknown>;
    }
    node[leaf.path[leaf.path.length - 1] as string] = parsed.value;
    fromEnv[dotted] = name;
  }
  return fromEnv;
}

function parseEnvValue(
  value: string,
  schema: JsonSchema,
): { ok: true; value: unknown } | { ok: false; message: string } {
  const types = alternatives(schema).flatMap((a) => (Array.isArray(a.type) ? a.type : a.type ? [a.type] : []));
  if (types.includes('integer') || types.includes('number')) {
    const n = Number(value);
    if (value.trim() === '' || Number.isNaN(n)) return { ok: false, message: `"${value}" is not a number` };
    return { ok: true, value: n };
  }
  if (types.includes('boolean')) {
    const v = value.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(v)) return { ok: true, value: true };
    if (['false', '0', 'no', 'off'].includes(v)) return { ok: true, value: false };
    return { ok: false, message: `"${value}" is not a boolean (true/false)` };
  }
  if (types.includes('array') || types.includes('object')) {
    try {
      return { ok: true, value: JSON.parse(value) };
    } catch {
      return { ok: false, message: 'expects a JSON value' };
    }
  }
  return { ok: true, value };
}

type Visit = (path: string[], value: unknown, schema: JsonSchema, set: (v: unknown) => void) => void;

/** Walks a parsed config alongside its JSON Schema, visiting every value that carries x- markers. */
export function walkMarked(
  schema: JsonSchema,
  value: unknown,
  path: string[],
  visit: Visit,
  set?: (v: unknown) => void,
): void {
  for (const alt of alternatives(schema)) {
    if (alt['x-path'] !== undefined || alt['x-secret-file'] !== undefined) {
      visit(path, value, alt, set ?? (() => {}));
    }
    if (value && typeof value === 'object') {
      if (Array.isArray(value) && alt.items) {
        for (const [i, v] of value.entries()) {
          walkMarked(alt.items as JsonSchema, v, [...path, String(i)], visit, (nv) => {
            value[i] = nv;
          });
        }
      } else if (!Array.isArray(value)) {
        const obj = value as Record<string, unknown>;
        if (alt.properties) {
          for (const [k, sub] of Object.entries(alt.properties)) {
            if (k in obj)
              walkMarked(sub, obj[k], [...path, k], visit, (nv) => {
                obj[k] = nv;
              });
          }
        }
        if (alt.additionalProperties && typeof alt.additionalProperties === 'object') {
          for (const k of Object.keys(obj)) {
            if (alt.properties && k in alt.properties) continue;
            walkMarked(alt.additionalProperties, obj[k], [...path, k], visit, (nv) => {
              obj[k] = nv;
            });
          }
        }
      }
    }
  }
}

export async function loadConfigFile(file: string, opts: LoadOptions = {}): Promise<LoadedConfig> {
  const { readFile } = await import('node:fs/promises');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, [
      { path: '(file)', message: `cannot read config file (${(e as NodeJS.ErrnoException).code ?? String(e)})` },
    ]);
  }
  return loadConfigText(text, file, opts);
}
