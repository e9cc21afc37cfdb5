/**
 * Config section `pgsql`: the two PostgreSQL nodes of the rack as the box observes them (a
 * read-only monitoring role, e.g. a member of pg_monitor), the poll loop and the thresholds the
 * observer and `rackwitness pg preflight` judge replication by.
 */
import { z } from 'zod';
import { port, seconds, secretFile, serviceSwitches } from '../config/fields.js';
import type { ConfigRule } from '../config/rules.js';

export const pgsqlNodeSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lower-case letters, digits, "-" and "_", at most 63 characters')
      .meta({ description: 'Node name, as Pacemaker knows it (crm_node -n); used in topics, metrics and events.' }),
    host: z
      .string()
      .min(1)
      .meta({ description: 'Address of the node’s PostgreSQL server (its own address, not the VIP).' }),
    port: port('PostgreSQL port of the node.').default(5432),
    dbname: z.string().min(1).default('postgres').meta({ description: 'Database the observer connects to.' }),
    user: z
      .string()
      .min(1)
      .default('rackwitness')
      .meta({ description: 'Read-only monitoring role (GRANT pg_monitor TO it); never a superuser.' }),
    password_file: secretFile('File holding the monitoring role’s password (omit for trust/cert auth).').optional(),
    application_name: z.string().min(1).optional().meta({
      description:
        'application_name this node uses in primary_conninfo when it streams (how it appears in pg_stat_replication); default: the node name.',
    }),
  })
  .meta({ description: 'One PostgreSQL node of the rack.' });

export const pgsqlConfigSchema = z
  .strictObject({
    ...serviceSwitches,
    nodes: z
      .array(pgsqlNodeSchema)
      .length(2, 'the rack has exactly two PostgreSQL nodes')
      .meta({ description: 'The two PostgreSQL nodes of the rack.' }),
    poll_interval_s: seconds('Period of the observation poll of both nodes.', 0.2, 300).default(2),
    connect_timeout_s: seconds('Bound on opening a connection to one node.', 0.2, 60).default(2),
    statement_timeout_s: seconds(
      'Bound on the observation query on one node (server- and client-side).',
      0.2,
      60,
    ).default(2),
    maxlag_bytes: z.number().int().min(0).default(0).meta({
      description:
        'WAL a standby may lag behind the primary (bytes) before it loses its promotion score and a switchover is refused (PAF maxlag); 0 = no limit.',
    }),
    maxlag_s: seconds(
      'Replay lag (seconds) beyond which a switchover is reported unsafe; 0 = no limit.',
      0,
      86_400,
    ).default(0),
    require_sync: z.boolean().default(false).meta({
      description:
        'Switchover preflight requires the standby to be a synchronous standby (sync_state sync or quorum), not only streaming.',
    }),
    simulated: z.boolean().default(false).meta({
      description:
        'Demo only: observe an in-process simulated rack instead of PostgreSQL (set by demo mode; refused outside it).',
    }),
  })
  .meta({
    description: 'PostgreSQL rack observer: roles, timelines, LSNs, lag, slots and promotion scores of both nodes.',
  });

export type PgsqlConfig = z.infer<typeof pgsqlConfigSchema>;
export type PgsqlNodeConfig = z.infer<typeof pgsqlNodeSchema>;

export const pgsqlRules: ConfigRule[] = [
  {
    id: 'pgsql.nodes.distinct-names',
    path: 'pgsql.nodes',
    describe: 'The two nodes have different names.',
    check: (c) => {
      const n = c.pgsql?.nodes;
      return n && n.length === 2 && n[0]?.name === n[1]?.name ? `both nodes are named "${n[0]?.name}"` : undefined;
    },
  },
  {
    id: 'pgsql.nodes.distinct-endpoints',
    path: 'pgsql.nodes',
    describe: 'The two nodes are different servers (host and port differ).',
    check: (c) => {
      const n = c.pgsql?.nodes;
      if (n?.length !== 2 || !n[0] || !n[1]) return undefined;
      return n[0].host === n[1].host && n[0].port === n[1].port
        ? `both nodes point at ${n[0].host}:${n[0].port}; the observer would see one server twice`
        : undefined;
    },
  },
];
