/**
 * What `corosync-qnetd-tool -s -v` and `-l -v` print (corosync-qdevice 3.0.x), parsed into plain
 * data. The parsers are pure and strict about the shape they rely on; a line they do not know is
 * ignored (newer qnetd versions add lines), a missing key stays undefined.
 */
import { execFile } from 'node:child_process';

export interface QnetdServer {
  /** "127.0.0.1:5403" or "*:5403". */
  address?: string;
  /** "Supported (client certificate required)", "Unsupported", "Required ...". */
  tls?: string;
  clients?: number;
  clusters?: number;
}

export interface QnetdClient {
  nodeId: number;
  address?: string;
  hbIntervalMs?: number;
  configVersion?: string;
  configuredNodes: number[];
  ringId?: string;
  membership: number[];
  /** Pass, Fail, Undefined. */
  heuristics?: string;
  heuristicsMembership?: string;
  heuristicsRegular?: string;
  /** "Yes (client certificate verified)", "Yes", "No". */
  tls?: string;
  /** ACK, NACK, Ask later, Wait for reply, No change. */
  vote?: string;
  /** The last ACK/NACK sent, when it differs in kind from `vote`. */
  lastAckNack?: string;
}

export interface QnetdCluster {
  name: string;
  algorithm?: string;
  tieBreaker?: string;
  clients: QnetdClient[];
}

const kv = (line: string): [string, string] | undefined => {
  const m = /^\s*([^:\t][^:]*?):\s*(.*?)\s*$/.exec(line);
  return m ? [m[1] as string, m[2] as string] : undefined;
};

const idList = (v: string): number[] =>
  v
    .split(',')
    .map((x) => Number.parseInt(x.trim(), 10))
    .filter((n) => Number.isFinite(n));

export function parseStatus(text: string): QnetdServer {
  const out: QnetdServer = {};
  for (const line of text.split('\n')) {
    const p = kv(line);
    if (!p) continue;
    const [k, v] = p;
    if (k === 'QNetd address') out.address = v;
    else if (k === 'TLS') out.tls = v;
    else if (k === 'Connected clients') out.clients = Number(v);
    else if (k === 'Connected clusters') out.clusters = Number(v);
  }
  return out;
}

export function parseList(text: string): QnetdCluster[] {
  const clusters: QnetdCluster[] = [];
  let cluster: QnetdCluster | undefined;
  let client: QnetdClient | undefined;
  for (const line of text.split('\n')) {
    const c = /^Cluster "(.*)":\s*$/.exec(line);
    if (c) {
      cluster = { name: c[1] as string, clients: [] };
      clusters.push(cluster);
      client = undefined;
      continue;
    }
    if (!cluster) continue;
    const n = /^\s+Node ID (\d+):\s*$/.exec(line);
    if (n) {
      client = { nodeId: Number(n[1]), configuredNodes: [], membership: [] };
      cluster.clients.push(client);
      continue;
    }
    const p = kv(line);
    if (!p) continue;
    const [k, v] = p;
    if (!client) {
      if (k === 'Algorithm') cluster.algorithm = v;
      else if (k === 'Tie-breaker') cluster.tieBreaker = v;
      continue;
    }
    switch (k) {
      case 'Client address':
        client.address = v;
        break;
      case 'HB interval':
        client.hbIntervalMs = Number.parseInt(v, 10);
        break;
      case 'Configuration version':
        client.configVersion = v;
        break;
      case 'Configured node list':
        client.configuredNodes = idList(v);
        break;
      case 'Ring ID':
        client.ringId = v;
        break;
      case 'Membership node list':
        client.membership = idList(v);
        break;
      case 'Heuristics': {
        const h = /^(\S+(?: \S+)?)(?: \(membership: ([^,]+), regular: ([^)]+)\))?$/.exec(v);
        client.heuristics = h?.[1] ?? v;
        if (h?.[2]) client.heuristicsMembership = h[2];
        if (h?.[3]) client.heuristicsRegular = h[3];
        break;
      }
      case 'TLS active':
        client.tls = v;
        break;
      case 'Vote': {
        const m = /^(.*?)(?: \((.*)\))?$/.exec(v);
        client.vote = m?.[1] ?? v;
        if (m?.[2]) client.lastAckNack = m[2];
        break;
      }
    }
  }
  return clusters;
}

export interface ToolResult {
  ok: boolean;
  stdout: string;
  /** One clause when not ok. */
  error?: string;
}

/** Runs corosync-qnetd-tool with the given flags against qnetd's socket, bounded. */
export function runQnetdTool(tool: string, socket: string, flags: string[], timeoutMs: number): Promise<ToolResult> {
  return new Promise((resolve) => {
    execFile(
      tool,
      [...flags, '-p', socket],
      { timeout: timeoutMs, killSignal: 'SIGKILL', env: { ...process.env, LC_ALL: 'C' } },
      (err, stdout, stderr) => {
        if (!err) {
          resolve({ ok: true, stdout: String(stdout) });
          return;
        }
        const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: NodeJS.Signals | null };
        const why =
          e.code === 'ENOENT'
            ? `${tool} is not installed (apt install corosync-qnetd)`
            : e.killed
              ? `${tool} did not answer within ${timeoutMs} ms`
              : (String(stderr).trim().split('\n').pop() ?? '').replace(/^corosync-qnetd-tool: /, '') ||
                (e.signal === 'SIGPIPE'
                  ? 'qnetd closed its socket in the middle of the answer'
                  : e.signal
                    ? `${tool} ended by ${e.signal}`
                    : `${tool} exited ${String(e.code)}`);
        resolve({ ok: false, stdout: String(stdout), error: why });
      },
    );
  });
}
