import { z } from 'zod';
import { pathField, seconds, secretFile, serviceSwitches } from '../config/fields.js';
import type { ConfigRule } from '../config/rules.js';

export const pgGuardConfigSchema = z
  .strictObject({
    enabled: z.boolean().default(false).meta({
      description:
        'Withhold the vote from a candidate site whose PostgreSQL is provably behind the other node’s last known WAL position.',
    }),
    tickets: z
      .array(z.string().min(1))
      .default([])
      .meta({ description: 'Tickets the guard applies to (booth ticket names).' }),
    nodes: z
      .record(z.string().min(1), z.string().min(1))
      .default({})
      .meta({ description: 'Booth site address -> PostgreSQL node name, for every site of the rack.' }),
    tolerance_bytes: z
      .number()
      .int()
      .min(0)
      .default(0)
      .meta({ description: 'WAL bytes a candidate may be behind and still get the vote.' }),
    max_age_s: seconds('WAL positions older than this prove nothing (the vote is then given).', 1, 3600).default(60),
  })
  .prefault({})
  .meta({ description: 'PostgreSQL-aware vote guard (off by default).' });

export const arbitratorConfigSchema = z
  .strictObject({
    ...serviceSwitches,
    booth_config: pathField(
      'booth.conf shared with the sites (identical on every member); this box must be one of its arbitrator lines.',
    ),
    authfile: secretFile(
      'booth authfile (same key as the sites); overrides the authfile line of booth.conf. Mode 0600.',
    ).optional(),
    address: z.string().min(1).optional().meta({
      description:
        'The arbitrator address of booth.conf this box is; default: found among the local addresses, as boothd does.',
    }),
    pg_guard: pgGuardConfigSchema,
  })
  .meta({ description: 'booth-compatible ticket arbitrator (replaces a boothd arbitrator).' });

export type ArbitratorConfig = z.infer<typeof arbitratorConfigSchema>;

export const arbitratorRules: ConfigRule[] = [
  {
    id: 'arbitrator.pg-guard-nodes',
    path: 'arbitrator.pg_guard.nodes',
    describe: 'An enabled PostgreSQL vote guard names at least two site addresses and at least one ticket.',
    check: (c) => {
      const g = c.arbitrator?.pg_guard;
      if (!c.arbitrator || !g?.enabled) return undefined;
      if (Object.keys(g.nodes).length < 2) return 'pg_guard is enabled but maps fewer than two site addresses to nodes';
      if (g.tickets.length === 0) return 'pg_guard is enabled but names no ticket';
      return undefined;
    },
  },
];
