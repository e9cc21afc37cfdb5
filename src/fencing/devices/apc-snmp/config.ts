/** Config schema of the SNMP PDU driver: light, so loading the config never loads net-snmp. */
import { z } from 'zod';
import { port, seconds, secretFile } from '../../../config/fields.js';
import { deviceNameField, outletsField } from '../outlets.js';
import { FAMILY_IDS } from './tables.js';

export const snmpV3Schema = z
  .strictObject({
    user: z.string().min(1).meta({ description: 'SNMPv3 user (USM security name).' }),
    security_level: z
      .enum(['noAuthNoPriv', 'authNoPriv', 'authPriv'])
      .default('authPriv')
      .meta({ description: 'SNMPv3 security level; authPriv (authenticated and encrypted) is recommended.' }),
    auth_protocol: z
      .enum(['md5', 'sha', 'sha224', 'sha256', 'sha384', 'sha512'])
      .default('sha')
      .meta({ description: 'Authentication protocol.' }),
    auth_password_file: secretFile('File holding the SNMPv3 authentication pass phrase.').optional(),
    priv_protocol: z
      .enum(['des', 'aes', 'aes256b', 'aes256r'])
      .default('aes')
      .meta({ description: 'Privacy (encryption) protocol.' }),
    priv_password_file: secretFile('File holding the SNMPv3 privacy pass phrase.').optional(),
  })
  .superRefine((v, ctx) => {
    if (v.security_level !== 'noAuthNoPriv' && !v.auth_password_file)
      ctx.addIssue({
        code: 'custom',
        path: ['auth_password_file'],
        message: `security_level ${v.security_level} needs auth_password_file`,
      });
    if (v.security_level === 'authPriv' && !v.priv_password_file)
      ctx.addIssue({
        code: 'custom',
        path: ['priv_password_file'],
        message: 'security_level authPriv needs priv_password_file',
      });
  })
  .meta({ description: 'SNMPv3 user settings (when version is "3").' });

export const apcSnmpDeviceSchema = z
  .strictObject({
    driver: z.literal('apc-snmp').meta({ description: 'SNMP-switched PDU (APC PowerNet-MIB and compatible tables).' }),
    name: deviceNameField,
    host: z.string().min(1).meta({ description: 'PDU address (IP or host name).' }),
    port: port('SNMP UDP port of the PDU.').default(161),
    version: z.enum(['1', '2c', '3']).default('1').meta({ description: 'SNMP version: "1", "2c" or "3".' }),
    community_file: secretFile('File holding the write community (SNMP v1/v2c).').optional(),
    v3: snmpV3Schema.optional(),
    family: z
      .enum(['auto', ...FAMILY_IDS])
      .default('auto')
      .meta({
        description:
          'Outlet table: "auto" chooses it from the sysObjectID; or force one of apc-rpdu, apc-rpdu2, apc-spdu, tripplite, eaton-epdu.',
      }),
    outlets: outletsField(),
    timeout_s: seconds('How long one SNMP request waits for an answer before a retry.', 0.05, 30).default(1),
    retries: z
      .number()
      .int()
      .min(0)
      .max(10)
      .default(1)
      .meta({ description: 'Retries per SNMP request after a timeout.' }),
  })
  .superRefine((v, ctx) => {
    if (v.version === '3' && !v.v3)
      ctx.addIssue({
        code: 'custom',
        path: ['v3'],
        message: 'version "3" needs the v3 block (user, pass phrase files)',
      });
    if (v.version !== '3' && !v.community_file)
      ctx.addIssue({
        code: 'custom',
        path: ['community_file'],
        message: `version "${v.version}" needs community_file`,
      });
  })
  .meta({ description: 'A PDU switched over SNMP.' });

export type ApcSnmpDeviceConfig = z.infer<typeof apcSnmpDeviceSchema>;
/** Config as written (defaults optional), for callers that build it in code (CLI, tests). */
export type ApcSnmpDeviceInput = z.input<typeof apcSnmpDeviceSchema>;
