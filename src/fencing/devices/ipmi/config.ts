/**
 * Config of one IPMI BMC power device. The fencing core composes it into its device list
 * (discriminated on `driver`). Secrets only by reference to files.
 */
import { z } from 'zod';
import { port, secretFile } from '../../../config/fields.js';

export const ipmiDeviceSchema = z
  .strictObject({
    driver: z.literal('ipmi').meta({ description: 'Device family: a BMC spoken to natively over IPMI v2.0 (RMCP+).' }),
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'lower-case letters, digits, ".", "-" and "_", at most 63 characters')
      .optional()
      .meta({
        description: 'Device name used in logs, the fence journal and status; default: the key of the device entry.',
      }),
    host: z.string().min(1).meta({ description: 'BMC address (IP or host name) on the management network.' }),
    port: port('BMC UDP port (RMCP).').default(623),
    username: z
      .string()
      .min(1)
      .refine((u) => Buffer.byteLength(u) <= 16, 'at most 16 bytes')
      .meta({ description: 'BMC user; an operator-level account is enough and recommended.' }),
    password_file: secretFile('File holding the BMC password (at most 20 bytes; 16 with ipmi15).'),
    kg_file: secretFile('File holding the BMC key K_G, for BMCs that have one set.').optional(),
    cipher: z
      .union([z.literal(3), z.literal(17), z.literal(0)])
      .default(3)
      .meta({
        description:
          'RMCP+ cipher suite: 3 (HMAC-SHA1, AES-128) or 17 (HMAC-SHA256, AES-128). 0 (no authentication) only with allow_cipher_zero.',
      }),
    privilege: z
      .enum(['operator', 'administrator'])
      .default('operator')
      .meta({ description: 'Session privilege requested for Chassis Control (operator suffices).' }),
    allow_cipher_zero: z
      .boolean()
      .default(false)
      .meta({ description: 'Permit cipher suite 0, which authenticates nothing. Lab use only.' }),
    ipmi15: z.boolean().default(false).meta({
      description:
        'Fall back to IPMI 1.5 with MD5 when the BMC does not offer RMCP+ (old BMCs; MD5 exposes the password to offline cracking).',
    }),
    request_timeout_ms: z.number().int().min(20).max(10_000).default(250).meta({
      description: 'Timeout of the first try of each request; doubles on every retransmission (capped at 8x).',
    }),
    retries: z
      .number()
      .int()
      .min(0)
      .max(8)
      .default(4)
      .meta({ description: 'Retransmissions per request (power cycle/reset are never retransmitted).' }),
  })
  .superRefine((d, ctx) => {
    if (d.cipher === 0 && !d.allow_cipher_zero) {
      ctx.addIssue({
        code: 'custom',
        path: ['cipher'],
        message:
          'cipher suite 0 authenticates nothing (any password works); use 3 or 17, or set allow_cipher_zero: true for a lab',
      });
    }
  })
  .meta({ description: 'A BMC switched over IPMI v2.0 (RMCP+); plug "chassis".' });

export type IpmiDeviceConfig = z.infer<typeof ipmiDeviceSchema>;
export type IpmiDeviceInput = z.input<typeof ipmiDeviceSchema>;
