#!/usr/bin/env node
/**
 * rackwitness-pgsqlms: the OCF resource agent entry point (installed as
 * /usr/lib/ocf/resource.d/rackwitness/pgsqlms). Action from argv[2] or __OCF_ACTION; parameters
 * from OCF_RESKEY_*; exit code = OCF return code; messages on stderr (Pacemaker logs them).
 */
import { hostname } from 'node:os';
import { OCF } from '../../pgsql/core/index.js';
import type { AgentContext } from './actions.js';
import { demote, lightValidate, monitor, newContext, notify, promote, start, stop, validateAll } from './actions.js';
import { run, stderrLogger } from './io.js';
import { METHODS, metaData, readParams } from './params.js';

async function nodeName(env: NodeJS.ProcessEnv): Promise<string> {
  if (env.OCF_RESKEY_CRM_meta_on_node) return env.OCF_RESKEY_CRM_meta_on_node;
  const r = await run('crm_node', ['-n'], { timeoutMs: 5000 });
  const n = r.stdout.trim();
  return r.code === 0 && n ? n : hostname();
}

export async function runAgent(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const action = argv[0] ?? env.__OCF_ACTION ?? '';
  if (action === 'meta-data') {
    process.stdout.write(metaData());
    return OCF.SUCCESS;
  }
  if (action === 'methods') {
    process.stdout.write(`${METHODS.join('\n')}\n`);
    return OCF.SUCCESS;
  }
  const log = stderrLogger(`pgsqlms(${env.OCF_RESOURCE_INSTANCE ?? 'pgsqlms'})[${process.pid}]`);
  const { params, errors } = readParams(env);
  const node = await nodeName(env);
  const ctx: AgentContext = newContext(env, action, params, errors, node, log);
  const probe = action === 'monitor' && Number(env.OCF_RESKEY_CRM_meta_interval ?? '0') === 0;
  if (action !== 'validate-all' && action !== 'reload') {
    const v = lightValidate(ctx);
    if (v.rc !== OCF.SUCCESS) {
      // no data directory here: nothing of ours can run, so a stop succeeds and a probe says "not running";
      // missing binaries still fail a stop (we cannot see the instance, so we cannot claim it stopped)
      if (action === 'stop' && v.rc === OCF.ERR_ARGS) {
        log.warn(`${v.reason}: nothing to stop`);
        return OCF.SUCCESS;
      }
      process.stderr.write(`ocf-exit-reason:${v.reason}\n`);
      log.error(v.reason);
      return probe && v.rc === OCF.ERR_ARGS ? OCF.NOT_RUNNING : v.rc;
    }
  }
  switch (action) {
    case 'validate-all':
      return validateAll(ctx);
    case 'start':
      return start(ctx);
    case 'stop':
      return stop(ctx);
    case 'monitor':
      return monitor(ctx);
    case 'promote':
      return promote(ctx);
    case 'demote':
      return demote(ctx);
    case 'notify':
      return notify(ctx);
    case 'reload':
      return OCF.SUCCESS;
    default:
      process.stderr.write(`ocf-exit-reason:unsupported action "${action}"\n`);
      return OCF.ERR_UNIMPLEMENTED;
  }
}

runAgent(process.argv.slice(2), process.env).then(
  (rc) => {
    process.exitCode = rc;
  },
  (e: unknown) => {
    process.stderr.write(`ocf-exit-reason:internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = OCF.ERR_GENERIC;
  },
);
