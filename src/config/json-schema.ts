import { z } from 'zod';
import { configSchema } from './schema.js';

export type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  additionalProperties?: boolean | JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  required?: string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  pattern?: string;
  [k: string]: unknown;
};

let cached: JsonSchema | undefined;

/** The exported JSON Schema (input view: defaults shown, defaulted keys optional). */
export function configJsonSchema(): JsonSchema {
  cached ??= z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  return cached;
}

/** The non-null alternatives of a schema node (optional fields appear as anyOf). */
export function alternatives(s: JsonSchema): JsonSchema[] {
  const alts = s.anyOf ?? s.oneOf;
  if (!alts) return [s];
  return alts.flatMap(alternatives).filter((a) => a.type !== 'null');
}

export interface SchemaLeaf {
  path: string[];
  schema: JsonSchema;
}

/** Every key reachable through objects (not through arrays or maps): the env-overridable keys. */
export function objectLeaves(s: JsonSchema = configJsonSchema(), prefix: string[] = []): SchemaLeaf[] {
  const out: SchemaLeaf[] = [];
  for (const alt of alternatives(s)) {
    if (alt.type === 'object' && alt.properties) {
      for (const [k, v] of Object.entries(alt.properties)) {
        const sub = alternatives(v);
        if (sub.some((x) => x.type === 'object' && x.properties)) out.push(...objectLeaves(v, [...prefix, k]));
        else out.push({ path: [...prefix, k], schema: v });
      }
    }
  }
  return out;
}
