/**
 * Config section `qdevice`: the box as the rack's corosync quorum device. Debian's corosync-qnetd
 * (its own systemd unit) serves the vote; this section says what the box observes of it (the
 * cluster and its two nodes, the qnetd control socket and certificate database) and what
 * `rackwitness qdevice init` prints for the nodes (address, port, algorithm, heuristics).
 */
import { z } from 'zod';
import { pathField, port, seconds, serviceSwitches } from '../config/fields.js';
import type { ConfigRule } from '../config/rules.js';

const nodeName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'letters, digits, "_", "." and "-", at most 63 characters');

export const qdeviceNodeSchema = z
  .strictObject({
    name: nodeName.meta({ description: 'Node name, as corosync/Pacemaker name it.' }),
    id: z
      .number()
      .int()
      .min(1)
      .max(0xffffffff)
      .meta({ description: 'The node’s corosync node id (corosync.conf nodelist.node.nodeid).' }),
  })
  .meta({ description: 'One node of the rack as qnetd sees it.' });

export const qdeviceHeuristicsSchema = z
  .strictObject({
    enabled: z.boolean().default(true).meta({
      description:
        'Print a heuristics section running rackwitness-qdevice-heuristics on each node (PostgreSQL-aware tie-break).',
    }),
    command: z.string().min(1).default('/usr/sbin/rackwitness-qdevice-heuristics').meta({
      description: 'Path of the heuristics command on the nodes (installed by rackwitness install-agents).',
    }),
    args: z.string().default('').meta({
      description: 'Extra arguments for the command on the nodes, e.g. "--pgport 5433 --pghost /run/postgresql".',
    }),
    timeout_s: seconds(
      'corosync-qdevice heuristics timeout (sync_timeout and timeout); the command bounds itself 1 s below it. It normally answers in a fraction of a second; the margin is for a loaded node (a missed timeout is a failed verdict, and a primary that fails ties with the standby).',
      1.5,
      60,
    ).default(10),
  })
  .prefault({})
  .meta({ description: 'The heuristics section `rackwitness qdevice init` prints for corosync.conf.' });

export const qdeviceConfigSchema = z
  .strictObject({
    ...serviceSwitches,
    cluster_name: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, "_", "." and "-", at most 64 characters')
      .meta({
        description:
          'The cluster’s totem.cluster_name: qnetd groups clients by it, and the node certificate carries it.',
      }),
    nodes: z
      .array(qdeviceNodeSchema)
      .length(2, 'the rack has exactly two nodes')
      .meta({ description: 'The two nodes that must be connected to qnetd.' }),
    host: z.string().min(1).optional().meta({
      description:
        'Address the nodes reach the box’s qnetd at (corosync.conf quorum.device.net.host); required by `qdevice init` unless given with --host.',
    }),
    port: port('TCP port qnetd listens on (corosync-qnetd -p; Debian default 5403).').default(5403),
    algorithm: z.enum(['ffsplit', 'lms']).default('ffsplit').meta({
      description:
        'qnetd decision algorithm the nodes ask for: ffsplit (a 50:50 split gives the vote to one half; needed for the heuristics tie-break) or lms.',
    }),
    tie_breaker: z
      .string()
      .regex(/^(lowest|highest|\d+)$/, 'lowest, highest or a node id')
      .default('lowest')
      .meta({
        description: 'ffsplit tie-breaker when scores are equal: lowest, highest, or a node id.',
      }),
    tool: z.string().min(1).default('corosync-qnetd-tool').meta({ description: 'The corosync-qnetd-tool binary.' }),
    socket: pathField('qnetd’s local control socket (corosync-qnetd -S local_socket_file).').default(
      '/var/run/corosync-qnetd/corosync-qnetd.sock',
    ),
    nssdb_dir: pathField(
      'qnetd’s NSS certificate database (corosync-qnetd -S nss_db_dir); `corosync-qnetd-certutil` always uses /etc/corosync/qnetd/nssdb.',
    ).default('/etc/corosync/qnetd/nssdb'),
    poll_interval_s: seconds('Period of the qnetd observation (corosync-qnetd-tool -l -v).', 0.2, 300).default(5),
    command_timeout_s: seconds('Bound on one corosync-qnetd-tool or certutil call.', 0.2, 60).default(3),
    heuristics: qdeviceHeuristicsSchema,
  })
  .meta({
    description:
      'The box as the corosync quorum device: observes Debian’s corosync-qnetd (clusters, nodes, votes, heuristics) and sets up its certificates (see docs/partitions.md).',
  });

export type QdeviceConfig = z.infer<typeof qdeviceConfigSchema>;

export const qdeviceRules: ConfigRule[] = [
  {
    id: 'qdevice.nodes.distinct',
    path: 'qdevice.nodes',
    describe: 'The two nodes have different names and different node ids.',
    check: (c) => {
      const n = c.qdevice?.nodes;
      if (n?.length !== 2) return undefined;
      if (n[0]?.name === n[1]?.name) return `both nodes are named "${n[0]?.name}"`;
      if (n[0]?.id === n[1]?.id) return `both nodes have node id ${n[0]?.id}`;
      return undefined;
    },
  },
  {
    id: 'qdevice.port-clash',
    path: 'qdevice.port',
    describe: 'qnetd’s port differs from the fence agent API and the status HTTP ports (all listen on the box).',
    check: (c) => {
      const q = c.qdevice;
      if (!q?.enabled) return undefined;
      if (c.fencing?.enabled && c.fencing.api.enabled && c.fencing.api.port === q.port)
        return `port ${q.port} is also the fence agent API's port (fencing.api.port)`;
      if (c.status.enabled && c.status.http.enabled && c.status.http.port === q.port)
        return `port ${q.port} is also the status HTTP port (status.http.port)`;
      return undefined;
    },
  },
  {
    id: 'qdevice.tie-breaker-node',
    path: 'qdevice.tie_breaker',
    describe: 'A numeric tie-breaker names one of the two node ids.',
    check: (c) => {
      const q = c.qdevice;
      if (!q || !/^\d+$/.test(q.tie_breaker)) return undefined;
      return q.nodes.some((n) => String(n.id) === q.tie_breaker)
        ? undefined
        : `tie_breaker ${q.tie_breaker} is not the node id of ${q.nodes.map((n) => `${n.name} (${n.id})`).join(' or ')}`;
    },
  },
];
