/**
 * Field helpers shared by every config section. The metadata they attach ("x-secret-file",
 * "x-path") travels into the exported JSON Schema, and the loader walks that schema to resolve
 * relative paths and check secret files, so a section only has to declare its fields.
 */
import { z } from 'zod';

/** A filesystem path; relative values are resolved against the config file's directory. */
export function pathField(description: string) {
  return z.string().min(1).meta({ description, 'x-path': true });
}

/**
 * A file holding a secret (password, key, community). The file must exist and must not be
 * group/other-accessible; its content is read by the service and never logged or published.
 */
export function secretFile(description: string) {
  return z.string().min(1).meta({ description, 'x-path': true, 'x-secret-file': true });
}

/** A TCP/UDP port number. */
export function port(description: string) {
  return z.number().int().min(1).max(65535).meta({ description });
}

/** A duration in seconds (fractions allowed) within [min, max]. */
export function seconds(description: string, min: number, max: number) {
  return z.number().min(min).max(max).meta({ description, 'x-unit': 'seconds' });
}

/** `enabled` + `optional` switches every service section carries. */
export const serviceSwitches = {
  enabled: z.boolean().default(true).meta({ description: 'Start this service.' }),
  optional: z.boolean().default(false).meta({
    description: 'When true, a failure to start this service is reported as degraded instead of stopping the daemon.',
  }),
};
