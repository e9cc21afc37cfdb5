#!/usr/bin/env node
/**
 * fence_rackwitness: the fence agent Pacemaker runs on the cluster nodes. It speaks the
 * fence-agents contract (stdin key=value lines when run by pacemaker-fenced with no argv, or
 * GNU-style options for humans) and asks the rackwitness box over its signed HTTP API; the box
 * switches the power and answers only after reading the new state back.
 *
 * Exit codes as fence-agents: 0 success (status: on), 1 failure, 2 status off.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { MIN_KEY_CHARS, readKeyFile, signedHeaders } from '../../fencing/api/protocol.js';
import { VERSION } from '../../version.js';

const AGENT = 'fence_rackwitness';
const ACTIONS = [
  'on',
  'off',
  'reboot',
  'status',
  'list',
  'list-status',
  'monitor',
  'metadata',
  'manpage',
  'validate-all',
];
const DEFAULT_PORT = 9642;
const DEFAULT_KEY_FILE = '/etc/rackwitness/fence.key';

interface ParamDef {
  name: string;
  getopt: string;
  type: 'string' | 'integer' | 'second' | 'boolean';
  def?: string;
  required?: boolean;
  /** The fence-agents internal name this one replaces (listed as a deprecated parameter too). */
  obsoletes?: string;
  deprecated?: boolean;
  desc: string;
  /** Long CLI option names and short letters mapped to this parameter. */
  long: string[];
  short?: string;
}

/** The parameters, by their current fence-agents name (the option name with "-" as "_"). */
const CURRENT: ParamDef[] = [
  {
    name: 'action',
    getopt: '-o, --action=[action]',
    type: 'string',
    def: 'reboot',
    required: true,
    desc: 'Fencing action',
    long: ['action', 'option'],
    short: 'o',
  },
  {
    name: 'ip',
    getopt: '-a, --ip=[ip]',
    type: 'string',
    required: true,
    obsoletes: 'ipaddr',
    desc: 'IP address or hostname of the rackwitness box',
    long: ['ip'],
    short: 'a',
  },
  {
    name: 'ipport',
    getopt: '-u, --ipport=[port]',
    type: 'integer',
    def: String(DEFAULT_PORT),
    desc: 'TCP port of the box’s fence agent API',
    long: ['ipport'],
    short: 'u',
  },
  {
    name: 'plug',
    getopt: '-n, --plug=[id]',
    type: 'string',
    required: true,
    obsoletes: 'port',
    desc: 'Cluster node name of the target (as configured on the box)',
    long: ['plug'],
    short: 'n',
  },
  {
    name: 'key_file',
    getopt: '-k, --key-file=[file]',
    type: 'string',
    def: DEFAULT_KEY_FILE,
    desc: 'File holding the shared API key (mode 600)',
    long: ['key-file', 'key_file'],
    short: 'k',
  },
  {
    name: 'key_id',
    getopt: '--key-id=[id]',
    type: 'string',
    def: 'cluster',
    desc: 'Key id configured on the box for this key',
    long: ['key-id', 'key_id'],
  },
  {
    name: 'username',
    getopt: '-l, --username=[name]',
    type: 'string',
    obsoletes: 'login',
    desc: 'Key id (the standard fence-agents name for key_id)',
    long: ['username'],
    short: 'l',
  },
  {
    name: 'password',
    getopt: '-p, --password=[password]',
    type: 'string',
    obsoletes: 'passwd',
    desc: 'The shared API key itself (prefer key_file or password_script: the CIB is not a secret store)',
    long: ['password'],
    short: 'p',
  },
  {
    name: 'password_script',
    getopt: '-S, --password-script=[script]',
    type: 'string',
    obsoletes: 'passwd_script',
    desc: 'Script that prints the shared API key (used instead of key_file)',
    long: ['password-script', 'password_script'],
    short: 'S',
  },
  {
    name: 'ssl',
    getopt: '-z, --ssl',
    type: 'boolean',
    desc: 'Not supported: the box signs and checks every request (HMAC-SHA256) but does not encrypt it',
    long: ['ssl'],
    short: 'z',
  },
  {
    name: 'request_timeout',
    getopt: '--request-timeout=[seconds]',
    type: 'second',
    def: '120',
    desc: 'Wait for the box’s verified answer (ignored under pacemaker-fenced, whose timeout governs)',
    long: ['request-timeout', 'request_timeout'],
  },
  {
    name: 'connect_timeout',
    getopt: '--connect-timeout=[seconds]',
    type: 'second',
    def: '5',
    desc: 'Wait for the TCP connection to the box',
    long: ['connect-timeout', 'connect_timeout'],
  },
  // fence_ipmilan's timing options, so a stonith resource moved over from it keeps working: the
  // box does the power switching and polling, so each is honoured or mapped as its text says
  {
    name: 'login_timeout',
    getopt: '--login-timeout=[seconds]',
    type: 'second',
    def: '5',
    desc: 'Mapped to connect_timeout (the agent’s only login is the TCP connection to the box) when connect_timeout is not set',
    long: ['login-timeout', 'login_timeout'],
  },
  {
    name: 'power_timeout',
    getopt: '--power-timeout=[seconds]',
    type: 'second',
    def: '20',
    desc: 'Accepted, not used by the agent: the box polls the power state itself, bounded by its fencing.power_timeout_s',
    long: ['power-timeout', 'power_timeout'],
  },
  {
    name: 'power_wait',
    getopt: '--power-wait=[seconds]',
    type: 'second',
    def: '0',
    desc: 'Wait X seconds after the box confirmed the new power state, before reporting success',
    long: ['power-wait', 'power_wait'],
  },
  {
    name: 'retry_on',
    getopt: '--retry-on=[attempts]',
    type: 'integer',
    def: '1',
    desc: 'Count of attempts to retry power on (action on); the power-on after a reboot is the box’s',
    long: ['retry-on', 'retry_on'],
  },
  {
    name: 'disable_timeout',
    getopt: '--disable-timeout=[true/false]',
    type: 'string',
    desc: 'Do not apply request_timeout (default: true when run from Pacemaker 2.0+)',
    long: ['disable-timeout', 'disable_timeout'],
  },
  {
    name: 'delay',
    getopt: '--delay=[seconds]',
    type: 'second',
    def: '0',
    desc: 'Wait X seconds before fencing is started',
    long: ['delay'],
  },
  { name: 'verbose', getopt: '-v, --verbose', type: 'boolean', desc: 'Verbose mode', long: ['verbose'], short: 'v' },
  {
    name: 'quiet',
    getopt: '-q, --quiet',
    type: 'boolean',
    desc: 'Disable logging to stderr',
    long: ['quiet'],
    short: 'q',
  },
  {
    name: 'version',
    getopt: '-V, --version',
    type: 'boolean',
    desc: 'Display version information and exit',
    long: ['version'],
    short: 'V',
  },
  { name: 'help', getopt: '-h, --help', type: 'boolean', desc: 'Display help and exit', long: ['help'], short: 'h' },
  {
    name: 'nodename',
    getopt: '--nodename=[name]',
    type: 'string',
    desc: 'Node name sent by pacemaker-fenced (used when no plug is given)',
    long: ['nodename'],
  },
];

/**
 * fence-agents' deprecated names (its internal keys: ipaddr, port, login, passwd, passwd_script):
 * accepted on stdin, listed in the metadata with deprecated="1" next to the current name (which
 * says obsoletes="..."), as fence-agents' metadata does. Not command-line options, as there.
 */
const DEPRECATED: ParamDef[] = CURRENT.filter((p) => p.obsoletes).map((p) => ({
  ...p,
  name: p.obsoletes as string,
  obsoletes: undefined,
  deprecated: true,
  long: [],
  short: undefined,
}));

const PARAMS: ParamDef[] = CURRENT.flatMap((p) => [p, ...DEPRECATED.filter((d) => d.name === p.obsoletes)]);

/** Deprecated or legacy name → current name, for stdin. */
const STDIN_ALIASES: Record<string, string> = {
  option: 'action',
  ...Object.fromEntries(CURRENT.filter((p) => p.obsoletes).map((p) => [p.obsoletes as string, p.name])),
};

type Opts = Record<string, string>;

class Fail extends Error {}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function metadata(): string {
  const lines = [
    '<?xml version="1.0" ?>',
    `<resource-agent name="${AGENT}" shortdesc="${SHORTDESC}" >`,
    '<longdesc>fence_rackwitness asks a rackwitness witness box to power a cluster node off, on or through a reboot. The box switches the node through its configured levels (IPMI BMC, PDU outlets, relays) and answers only after it has read the new power state back. A reboot is answered as soon as every plug reads off (the node is fenced); the box then waits its boot delay and powers the node back on by itself, so pcmk_reboot_timeout only has to cover the off (the box shows worst_case_reboot_s). Requests are signed with HMAC-SHA256 using a shared key file; the target is the cluster node name as configured on the box.</longdesc>',
    '<vendor-url>https://github.com/rackwitness/rackwitness</vendor-url>',
    '<parameters>',
  ];
  for (const p of PARAMS) {
    if (p.name === 'nodename') continue;
    const attrs = [`name="${p.name}"`, 'unique="0"', `required="${p.required ? 1 : 0}"`];
    if (p.deprecated) attrs.push('deprecated="1"');
    if (p.obsoletes) attrs.push(`obsoletes="${p.obsoletes}"`);
    lines.push(`\t<parameter ${attrs.join(' ')}>`);
    lines.push(`\t\t<getopt mixed="${xmlEscape(p.getopt)}" />`);
    lines.push(`\t\t<content type="${p.type}"${p.def !== undefined ? ` default="${xmlEscape(p.def)}"` : ''} />`);
    lines.push(`\t\t<shortdesc lang="en">${xmlEscape(p.desc)}</shortdesc>`);
    lines.push('\t</parameter>');
  }
  lines.push('</parameters>', '<actions>');
  for (const a of ACTIONS) lines.push(a === 'on' ? '\t<action name="on" automatic="0"/>' : `\t<action name="${a}" />`);
  lines.push('</actions>', '</resource-agent>');
  return `${lines.join('\n')}\n`;
}

const SHORTDESC = 'Fence agent for the rackwitness witness box';

/** `-o manpage`: the man page (roff), built from the same parameter and action lists as the metadata. */
export function manpage(): string {
  const roff = (t: string) => t.replace(/\\/g, '\\e').replace(/^\./gm, '\\&.').replace(/-/g, '\\-');
  // one entry per option: the deprecated names share their option and are listed under STDIN only
  const params = CURRENT.filter((p) => p.name !== 'nodename');
  const lines = [
    `.TH ${AGENT.toUpperCase()} 8 "" "rackwitness" "Fence agents"`,
    '.SH NAME',
    `${roff(AGENT)} \\- ${roff(SHORTDESC)}`,
    '.SH DESCRIPTION',
    '.P',
    roff(
      'fence_rackwitness asks a rackwitness witness box to power a cluster node off, on or through a reboot. The box answers only after it has read the new power state back; a reboot as soon as the node reads off (the box powers it back on after its boot delay).',
    ),
    '.SH PARAMETERS',
  ];
  for (const p of params) {
    lines.push(
      '.TP',
      `.B ${roff(p.getopt)}`,
      `${roff(p.desc)}${p.def !== undefined ? ` (Default Value: ${roff(p.def)})` : ''}`,
    );
  }
  lines.push('.SH ACTIONS');
  for (const a of ACTIONS) lines.push('.TP', `\\fB${roff(a)}\\fP`);
  lines.push('.SH STDIN PARAMETERS');
  for (const p of PARAMS.filter((x) => x.name !== 'nodename'))
    lines.push(
      '.TP',
      `.B ${roff(p.name)}`,
      roff(p.deprecated ? `${p.desc} (deprecated name of ${STDIN_ALIASES[p.name]})` : p.desc),
    );
  return `${lines.join('\n')}\n`;
}

/** Parses stdin as fence-agents do: key=value, '#' comments, last wins, one pair of quotes stripped, unknown keys warned. */
export function parseStdin(text: string, warn: (m: string) => void): Opts {
  const known = new Set(PARAMS.map((p) => p.name));
  const out: Opts = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) {
      warn(`Parse error: Ignoring unknown option '${line}'`);
      continue;
    }
    let key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    key = key.replace(/-/g, '_');
    key = STDIN_ALIASES[key] ?? key;
    if (!known.has(key)) {
      warn(`Parse error: Ignoring unknown option '${line}'`);
      continue;
    }
    out[key] = value;
  }
  return out;
}

/** Parses GNU-style options strictly (unknown options are errors, as fence-agents' getopt). */
export function parseArgv(argv: string[]): Opts {
  const out: Opts = {};
  const byLong = new Map<string, ParamDef>();
  const byShort = new Map<string, ParamDef>();
  for (const p of PARAMS) {
    for (const l of p.long) byLong.set(l, p);
    if (p.short) byShort.set(p.short, p);
  }
  const target = (p: ParamDef) => STDIN_ALIASES[p.name] ?? p.name;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    let p: ParamDef | undefined;
    let value: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      p = byLong.get(name);
      if (!p) throw new Fail(`unrecognized option '${a}'`);
      if (eq >= 0) value = a.slice(eq + 1);
    } else if (a.startsWith('-') && a.length >= 2) {
      p = byShort.get(a[1] as string);
      if (!p) throw new Fail(`invalid option -- '${a[1]}'`);
      if (a.length > 2) value = a.slice(2);
    } else {
      throw new Fail(`unexpected argument '${a}'`);
    }
    if (p.type === 'boolean') {
      out[target(p)] = '1';
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new Fail(`option '${a}' requires an argument`);
    }
    out[target(p)] = value;
  }
  return out;
}

const truthy = (v: string | undefined) => v !== undefined && /^(1|yes|on|true)$/i.test(v);

function seconds(o: Opts, key: string, def: number): number {
  const v = o[key];
  if (v === undefined || v === '') return def;
  const n = Number(v.replace(/s$/, ''));
  if (!Number.isFinite(n) || n < 0) throw new Fail(`${key} must be a number of seconds, not '${v}'`);
  return n;
}

interface Validated {
  action: string;
  ip: string;
  port: number;
  plug?: string;
  keyFile: string;
  keyId: string;
  /** Where the key comes from: key_file (default), password_script, or password. */
  keySource: 'key_file' | 'password_script' | 'password';
}

export function validate(o: Opts): Validated {
  const action = (o.action ?? 'reboot').replace(/^meta-data$/, 'metadata');
  if (!ACTIONS.includes(action)) throw new Fail(`Unrecognised action '${action}'`);
  const ip = o.ip;
  if (!ip) throw new Fail('You have to enter fence address (ip)');
  const port = Number(o.ipport ?? DEFAULT_PORT);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Fail(`ipport must be a TCP port, not '${o.ipport}'`);
  const plug = o.plug || o.nodename || undefined;
  if (['on', 'off', 'reboot', 'status'].includes(action) && !plug)
    throw new Fail('You have to enter plug (the target node name)');
  for (const k of ['request_timeout', 'connect_timeout', 'delay', 'login_timeout', 'power_timeout', 'power_wait'])
    seconds(o, k, 0);
  if (o.retry_on !== undefined && !/^\d+$/.test(o.retry_on))
    throw new Fail(`retry_on must be a number of attempts, not '${o.retry_on}'`);
  if (truthy(o.ssl)) {
    throw new Fail(
      'ssl is not supported: the rackwitness API signs every request (HMAC-SHA256) but does not encrypt it',
    );
  }
  const keyId = o.key_id || o.username || 'cluster';
  if (!/^[A-Za-z0-9_.-]{1,32}$/.test(keyId)) throw new Fail(`key_id '${keyId}' is not a valid key id`);
  const keySource = o.password_script ? 'password_script' : o.password ? 'password' : 'key_file';
  const v: Validated = { action, ip, port, keyFile: o.key_file || DEFAULT_KEY_FILE, keyId, keySource };
  if (plug) v.plug = plug;
  return v;
}

/** The shared key, from password_script (first line it prints), password, or key_file. Never logged. */
function readKey(v: Validated, o: Opts): Buffer {
  let text: string;
  let from: string;
  try {
    if (v.keySource === 'key_file') return readKeyFile(v.keyFile);
    if (v.keySource === 'password_script') {
      from = 'password_script';
      // fence-agents run the script through the shell; its first output line is the secret
      text = (
        execFileSync('/bin/sh', ['-c', o.password_script as string], { encoding: 'utf8', timeout: 10_000 }).split(
          '\n',
        )[0] ?? ''
      ).trim();
    } else {
      from = 'password';
      text = (o.password as string).trim();
    }
  } catch (e) {
    if (v.keySource === 'password_script')
      throw new Fail('password_script failed (it must print the key on its first line)');
    throw new Fail((e as Error).message);
  }
  if (text.length < MIN_KEY_CHARS) throw new Fail(`the key from ${from} holds fewer than ${MIN_KEY_CHARS} characters`);
  return Buffer.from(text, 'utf8');
}

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

function call(
  v: Validated,
  key: Buffer,
  method: 'GET' | 'POST',
  path: string,
  payload: unknown,
  o: Opts,
  underFencer: boolean,
): Promise<Reply> {
  const body = payload === undefined ? '' : JSON.stringify(payload);
  const headers: Record<string, string> = {
    ...signedHeaders(key, v.keyId, method, path, body),
    'content-type': 'application/json',
  };
  if (body) headers['content-length'] = String(Buffer.byteLength(body));
  // login_timeout (fence_ipmilan's) stands in for connect_timeout when that is not given
  const connectMs = (o.connect_timeout ? seconds(o, 'connect_timeout', 5) : seconds(o, 'login_timeout', 5) || 5) * 1000;
  // under pacemaker-fenced, the fencer's pcmk_*_timeout governs (as fence-agents' disable_timeout)
  const disabled = o.disable_timeout !== undefined ? truthy(o.disable_timeout) : underFencer;
  const totalMs = disabled ? 0 : seconds(o, 'request_timeout', 120) * 1000;
  return new Promise((resolve, reject) => {
    const req = request({ host: v.ip, port: v.port, method, path, headers });
    let timer: NodeJS.Timeout | undefined;
    if (totalMs > 0)
      timer = setTimeout(() => req.destroy(new Fail(`timed out waiting ${totalMs / 1000} s for the box`)), totalMs);
    const ct = setTimeout(() => req.destroy(new Fail(`timed out connecting to ${v.ip}:${v.port}`)), connectMs);
    req.on('socket', (s) => {
      if (!s.connecting) clearTimeout(ct);
      else s.once('connect', () => clearTimeout(ct));
    });
    req.on('error', (e) => {
      clearTimeout(ct);
      clearTimeout(timer);
      reject(
        e instanceof Fail
          ? e
          : new Fail(`cannot reach the box at ${v.ip}:${v.port}: ${(e as NodeJS.ErrnoException).code ?? e.message}`),
      );
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        try {
          resolve({
            status: res.statusCode ?? 0,
            body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>,
          });
        } catch {
          reject(new Fail(`the box sent a malformed answer (HTTP ${res.statusCode})`));
        }
      });
    });
    req.end(body);
  });
}

function refusal(r: Reply): Fail {
  return new Fail(
    `the box refused the request (HTTP ${r.status} ${String(r.body.error ?? '')}): ${String(r.body.message ?? '')}`,
  );
}

async function run(o: Opts, out: (s: string) => void, log: (s: string) => void): Promise<number> {
  if (truthy(o.help)) {
    out(
      `Usage: ${AGENT} [options]\n${PARAMS.filter((p) => !p.deprecated && p.name !== 'nodename')
        .map((p) => `  ${p.getopt.padEnd(34)} ${p.desc}`)
        .join('\n')}\n`,
    );
    return 0;
  }
  if (truthy(o.version)) {
    out(`${VERSION}\n`);
    return 0;
  }
  const act = (o.action ?? 'reboot').replace(/^meta-data$/, 'metadata');
  if (act === 'metadata') {
    out(metadata());
    return 0;
  }
  if (act === 'manpage') {
    out(manpage());
    return 0;
  }
  const v = validate(o);
  const key = readKey(v, o);
  if (v.action === 'validate-all') return 0;
  const underFencer = process.env.PCMK_service === 'pacemaker-fenced';
  const delay = seconds(o, 'delay', 0);
  if (delay > 0 && (v.action === 'off' || v.action === 'reboot')) {
    log(`Delay ${delay} second(s) before logging in to the fence device`);
    await new Promise((r) => setTimeout(r, delay * 1000));
  }
  if (v.action === 'list' || v.action === 'list-status') return listTargets(v, key, o, underFencer, out);
  if (v.action === 'monitor') return monitor(v, key, o, underFencer);
  // retry_on as fence-agents: an "on" is tried 1 + retry_on times while the box answers failed
  const attempts = v.action === 'on' ? 1 + Number(o.retry_on ?? 1) : 1;
  let r = await call(v, key, 'POST', '/v1/fence', { target: v.plug, action: v.action }, o, underFencer);
  for (let i = 1; i < attempts && r.status === 200 && r.body.result === 'failed'; i++) {
    log(`power on of ${v.plug} failed on the box (${String(r.body.reason ?? '')}); retrying (${i}/${attempts - 1})`);
    r = await call(v, key, 'POST', '/v1/fence', { target: v.plug, action: v.action }, o, underFencer);
  }
  if (r.status !== 200) throw refusal(r);
  const b = r.body;
  const powerWait = seconds(o, 'power_wait', 0);
  if (powerWait > 0 && b.result === 'success' && v.action !== 'status')
    await new Promise((res) => setTimeout(res, powerWait * 1000));
  if (truthy(o.verbose)) log(`box: ${JSON.stringify(b)}`);
  if (b.result !== 'success')
    throw new Fail(`${v.action} of ${v.plug} failed on the box: ${String(b.reason ?? b.result)}`);
  return answer(v, b, o, out, log);
}

/** list / list-status: the box's targets (with their power for list-status). */
async function listTargets(
  v: Validated,
  key: Buffer,
  o: Opts,
  underFencer: boolean,
  out: (s: string) => void,
): Promise<number> {
  const r = await call(v, key, 'GET', '/v1/targets', undefined, o, underFencer);
  if (r.status !== 200) throw refusal(r);
  const targets = (r.body.targets as string[]) ?? [];
  for (const t of targets) {
    if (v.action === 'list') out(`${t},${t}\n`);
    else {
      const s = await call(v, key, 'POST', '/v1/fence', { target: t, action: 'status' }, o, underFencer);
      const st =
        s.status === 200 && s.body.result === 'success' ? String(s.body.power ?? 'unknown').toUpperCase() : 'UNKNOWN';
      out(`${t},${t},${st}\n`);
    }
  }
  return 0;
}

/** monitor: fails when the box has no usable fencing level for some target. */
async function monitor(v: Validated, key: Buffer, o: Opts, underFencer: boolean): Promise<number> {
  const r = await call(v, key, 'GET', '/v1/health', undefined, o, underFencer);
  if (r.status !== 200) throw refusal(r);
  const targets = (r.body.targets ?? {}) as Record<string, boolean>;
  const unusable = Object.entries(targets)
    .filter(([, ok]) => !ok)
    .map(([t]) => t);
  if (unusable.length) throw new Fail(`the box has no usable fencing level for ${unusable.join(', ')}`);
  return 0;
}

/** The fence-agents answer (text and exit code) for a successful status, off, on or reboot. */
function answer(v: Validated, b: Reply['body'], o: Opts, out: (s: string) => void, log: (s: string) => void): number {
  switch (v.action) {
    case 'status':
      if (b.power === 'off') {
        out('Status: OFF\n');
        return 2;
      }
      if (b.power === 'on') {
        out('Status: ON\n');
        return 0;
      }
      throw new Fail('the box did not report a power state');
    case 'off':
      if (b.power !== 'off') throw new Fail('the box did not report the target off');
      out(b.note === 'already off' ? 'Success: Already OFF\n' : 'Success: Powered OFF\n');
      return 0;
    case 'on':
      if (b.power !== 'on') throw new Fail('the box did not report the target on');
      out(b.note === 'already on' ? 'Success: Already ON\n' : 'Success: Powered ON\n');
      return 0;
    default:
      if (b.note && b.power !== 'on') log(`Note: ${String(b.note)}`);
      if (truthy(o.verbose) && b.power_on_pending_until)
        log(`Power-on by the box due at ${String(b.power_on_pending_until)}`);
      out('Success: Rebooted\n');
      return 0;
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let quiet = false;
  const log = (m: string) => {
    if (!quiet) process.stderr.write(`${m}\n`);
  };
  try {
    let o: Opts;
    if (argv.length === 0) {
      const text = readFileSync(0, 'utf8');
      o = parseStdin(text, (m) => process.stderr.write(`WARNING: ${m}\n`));
    } else {
      o = parseArgv(argv);
    }
    quiet = truthy(o.quiet);
    process.exitCode = await run(o, (s) => process.stdout.write(s), log);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    log(`ERROR: Failed: ${msg}`);
    process.exitCode = 1;
  }
}

// run when executed (not when imported by tests)
if (process.argv[1] && /fence_rackwitness(\.cjs)?$|fence[/\\]main\.js$/.test(process.argv[1])) {
  void main();
}
