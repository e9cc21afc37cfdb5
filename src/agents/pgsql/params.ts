/**
 * Agent parameters (OCF_RESKEY_*), with PAF's names, defaults and meanings so a PAF CIB ports over by
 * changing the provider, plus a few of our own (logfile, rewind, manage_slots, switchover_wait_s).
 * Also the meta-data XML (ra-api-1.dtd form, as ocf-tester validates it).
 */
import { VERSION } from '../../version.js';

export interface AgentParams {
  systemUser: string;
  bindir: string;
  pgdata: string;
  datadir: string;
  pghost: string;
  pgport: number;
  startOpts: string;
  maxlag: number;
  recoveryTemplate: string;
  /** Ours: server log file for pg_ctl -l ('' = /dev/null; use logging_collector or syslog then). */
  logfile: string;
  /** Ours: run pg_rewind on a diverged returning ex-primary (true) or refuse to join (false). */
  rewind: boolean;
  /** Ours: on promote, create a physical replication slot named after each other node. */
  manageSlots: boolean;
  /** Ours: how long the designated standby waits for the old primary's last WAL in a switchover. */
  switchoverWaitS: number;
}

export interface ParamError {
  key: string;
  message: string;
}

interface ParamSpec {
  name: string;
  type: 'string' | 'integer' | 'boolean';
  default: string;
  unique: boolean;
  short: string;
  long: string;
}

export const PARAM_SPECS: readonly ParamSpec[] = [
  {
    name: 'system_user',
    type: 'string',
    default: 'postgres',
    unique: false,
    short: 'OS user running PostgreSQL',
    long: 'The operating system user that owns the data directory and runs the PostgreSQL processes.',
  },
  {
    name: 'bindir',
    type: 'string',
    default: '/usr/bin',
    unique: false,
    short: 'Directory of the PostgreSQL binaries',
    long: 'Path to the directory holding pg_ctl, pg_controldata, pg_isready, psql, pg_waldump, pg_rewind and postgres.',
  },
  {
    name: 'pgdata',
    type: 'string',
    default: '/var/lib/pgsql/data',
    unique: true,
    short: 'Path to the data directory (configuration)',
    long: 'The directory given to pg_ctl -D: where postgresql.conf lives.',
  },
  {
    name: 'datadir',
    type: 'string',
    default: '',
    unique: true,
    short: 'Path to the directory set in data_directory',
    long: 'Where PG_VERSION, the control file and standby.signal live when data_directory differs from pgdata. Defaults to pgdata.',
  },
  {
    name: 'pghost',
    type: 'string',
    // Debian's PAF 2.3.0 default (the socket directory of Debian's PostgreSQL packages)
    default: '/var/run/postgresql',
    unique: false,
    short: 'Host or socket directory to connect to',
    long: 'Host IP address or Unix socket directory the agent connects to for its checks (PostgreSQL built from source: /tmp).',
  },
  {
    name: 'pgport',
    type: 'integer',
    default: '5432',
    unique: false,
    short: 'PostgreSQL port',
    long: 'The port the local instance listens on.',
  },
  {
    name: 'start_opts',
    type: 'string',
    default: '',
    unique: false,
    short: 'Extra postgres options',
    long: 'Extra options given to the postgres process by pg_ctl -o (e.g. "-c config_file=/etc/postgresql/15/main/postgresql.conf"); also used for the postgres -C checks.',
  },
  {
    name: 'maxlag',
    type: 'integer',
    default: '0',
    unique: false,
    short: 'Maximum write lag before a negative score',
    long: 'Bytes between the primary current WAL position and a standby written position beyond which the standby gets a negative promotion score. 0 disables the check.',
  },
  {
    name: 'recovery_template',
    type: 'string',
    default: '',
    unique: false,
    short: 'Recovery template (PostgreSQL 11 and older only)',
    long: 'Only meaningful before PostgreSQL 12; the agent supports PostgreSQL 12 and later and refuses a template file in the data directory, like PAF.',
  },
  {
    name: 'logfile',
    type: 'string',
    default: '',
    unique: false,
    short: 'Server log file for pg_ctl -l',
    long: 'File the server writes its log to when started by the agent (pg_ctl -l). Empty: /dev/null (use logging_collector or syslog).',
  },
  {
    name: 'rewind',
    type: 'boolean',
    default: 'true',
    unique: false,
    short: 'Run pg_rewind on a diverged ex-primary',
    long: 'When a returning ex-primary has diverged from the new primary, run pg_rewind before starting it as a standby (true) or refuse to start it (false).',
  },
  {
    name: 'manage_slots',
    type: 'boolean',
    default: 'false',
    unique: false,
    short: 'Create replication slots for the other nodes',
    long: 'On promote, create a physical replication slot named after each other node of the clone if it does not exist.',
  },
  {
    name: 'switchover_wait_s',
    type: 'integer',
    default: '3',
    unique: false,
    short: 'Switchover WAL wait (seconds)',
    long: 'How long the designated standby waits, in a controlled switchover, for the old primary shutdown checkpoint to arrive before it refuses the promotion.',
  },
];

export function readParams(env: Readonly<Record<string, string | undefined>>): {
  params: AgentParams;
  errors: ParamError[];
} {
  const errors: ParamError[] = [];
  const get = (name: string): string => {
    const spec = PARAM_SPECS.find((p) => p.name === name);
    const v = env[`OCF_RESKEY_${name}`];
    return v === undefined || v === '' ? (spec?.default ?? '') : v;
  };
  const int = (name: string): number => {
    const raw = get(name);
    if (!/^\d+$/.test(raw)) {
      errors.push({ key: name, message: `parameter ${name}="${raw}" is not a non-negative integer` });
      return Number(PARAM_SPECS.find((p) => p.name === name)?.default ?? 0);
    }
    return Number(raw);
  };
  const bool = (name: string): boolean => {
    const raw = get(name).toLowerCase();
    if (['true', 'yes', 'on', '1'].includes(raw)) return true;
    if (['false', 'no', 'off', '0'].includes(raw)) return false;
    errors.push({ key: name, message: `parameter ${name}="${raw}" is not a boolean (true/false)` });
    return PARAM_SPECS.find((p) => p.name === name)?.default === 'true';
  };
  const pgdata = get('pgdata');
  const pgport = int('pgport');
  if (pgport < 1 || pgport > 65535)
    errors.push({ key: 'pgport', message: `parameter pgport=${pgport} is not a TCP port` });
  return {
    params: {
      systemUser: get('system_user'),
      bindir: get('bindir'),
      pgdata,
      datadir: get('datadir') || pgdata,
      pghost: get('pghost'),
      pgport,
      startOpts: get('start_opts'),
      maxlag: int('maxlag'),
      recoveryTemplate: get('recovery_template'),
      logfile: get('logfile'),
      rewind: bool('rewind'),
      manageSlots: bool('manage_slots'),
      switchoverWaitS: int('switchover_wait_s'),
    },
    errors,
  };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function metaData(): string {
  const params = PARAM_SPECS.map(
    (p) => `    <parameter name="${p.name}" unique="${p.unique ? 1 : 0}" required="0">
      <longdesc lang="en">${esc(p.long)}</longdesc>
      <shortdesc lang="en">${esc(p.short)}</shortdesc>
      <content type="${p.type}" default="${esc(p.default)}" />
    </parameter>`,
  ).join('\n');
  return `<?xml version="1.0"?>
<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">
<resource-agent name="pgsqlms" version="${VERSION}">
  <version>1.0</version>
  <longdesc lang="en">PostgreSQL (12 and later) streaming replication as a promotable clone, by rackwitness. Compatible with PAF (pgsqlms) parameters and semantics: every instance starts as a standby, promotion scores follow replication positions, the pre-promote notify elects the most advanced standby (timeline, then the greater of received and replayed LSN) and a controlled switchover is refused unless the standby holds the old primary's shutdown checkpoint. Every wait is bounded by the action timeout; a returning ex-primary is rewound or refused before it starts.</longdesc>
  <shortdesc lang="en">PostgreSQL multi-state (promotable) resource agent</shortdesc>
  <parameters>
${params}
  </parameters>
  <actions>
    <action name="start" timeout="60s" />
    <action name="stop" timeout="60s" />
    <action name="reload" timeout="20s" />
    <action name="promote" timeout="30s" />
    <action name="demote" timeout="120s" />
    <action name="monitor" depth="0" timeout="10s" interval="15s" role="Master" />
    <action name="monitor" depth="0" timeout="10s" interval="16s" role="Slave" />
    <action name="notify" timeout="60s" />
    <action name="meta-data" timeout="5s" />
    <action name="validate-all" timeout="5s" />
    <action name="methods" timeout="5s" />
  </actions>
</resource-agent>
`;
}

export const METHODS = [
  'start',
  'stop',
  'reload',
  'promote',
  'demote',
  'monitor',
  'notify',
  'methods',
  'meta-data',
  'validate-all',
];
