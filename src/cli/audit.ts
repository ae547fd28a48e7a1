/**
 * `imprimatur audit`: what would this configuration deny among what runs in the cluster now?
 * Exit 0: nothing would be denied; 1: something would; 2: usage, config or cluster error.
 */
import { Engine } from '../admission/engine.js';
import { runAudit, type AuditProgress } from '../audit/audit.js';
import { selectionFromConfig } from '../audit/chart-selection.js';
import { kubernetesClusterSource, loadKubeConfig } from '../audit/cluster.js';
import { AUDIT_OUTPUTS, formatAudit, type AuditOutput } from '../audit/format.js';
import { MemoryStore } from '../cache/memory.js';
import { kubernetesObjectReader } from '../admission/child-approval.js';
import { PullSecretStore } from '../pull-secrets/store.js';
import { workloadCredentialsFrom } from '../pull-secrets/workload.js';
import { loadConfigFile } from '../config/load.js';
import { ConfigError, ImprimaturError } from '../errors.js';
import { createLogger } from '../log.js';
import { parseCommandLine } from './command-line.js';
import { defaultConfigFile } from './paths.js';

export const AUDIT_USAGE = `usage: imprimatur audit [--config FILE] [--kubeconfig FILE] [-n NAMESPACE | --all-namespaces]
                        [--output table|json|policyreport] [--concurrency N] [--release-namespace NS] [--secrets-dir D]
`;

export async function runAuditCommand(argv: string[], io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream & { isTTY?: boolean } } = process): Promise<number> {
  const parsed = parseCommandLine(argv, {
      config: { type: 'string', short: 'c' },
      kubeconfig: { type: 'string' },
      namespace: { type: 'string', short: 'n' },
      'all-namespaces': { type: 'boolean', short: 'A' },
      output: { type: 'string', short: 'o' },
      concurrency: { type: 'string' },
      'release-namespace': { type: 'string' },
      'secrets-dir': { type: 'string' },
  }, AUDIT_USAGE, { io });
  if (typeof parsed === 'number') return parsed;
  const { values } = parsed;
  const output = String(values.output ?? 'table') as AuditOutput;
  const concurrency = values.concurrency === undefined ? 8 : Number(values.concurrency);
  const usage = (message: string) => {
    io.stderr.write(`${message}\n${AUDIT_USAGE}`);
    return 2;
  };
  if (!AUDIT_OUTPUTS.includes(output)) return usage(`--output must be one of ${AUDIT_OUTPUTS.join(', ')} (got ${JSON.stringify(values.output)})`);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) return usage(`--concurrency must be a whole number from 1 to 64 (got ${String(values.concurrency)})`);
  if (values.namespace !== undefined && values['all-namespaces']) return usage('-n/--namespace and --all-namespaces exclude each other');
  if (values.namespace === '') return usage('-n/--namespace needs a namespace name');

  const secretsDir = values['secrets-dir'] as string | undefined;
  const logger = createLogger(process.env.IMPRIMATUR_LOG_LEVEL ?? 'warn');
  let engine: Engine;
  let selection;
  try {
    const config = loadConfigFile(String(values.config ?? defaultConfigFile), { secretsDir });
    selection = selectionFromConfig(config, String(values['release-namespace'] ?? 'imprimatur'));
    engine = new Engine(config, { logger, secretsDir, cache: new MemoryStore(), generation: 'audit' });
  } catch (err) {
    io.stderr.write(`${err instanceof ConfigError ? err.message : (err as Error).message}\n`);
    return 2;
  }

  const progress = progressReporter(io.stderr);
  try {
    const kc = await loadKubeConfig(values.kubeconfig as string | undefined);
    const cluster = await kubernetesClusterSource(kc);
    progress.start(`auditing ${values.namespace ? `namespace ${String(values.namespace)}` : 'every covered namespace'} of ${cluster.server}`);
    const result = await runAudit({
      engine,
      cluster,
      selection,
      namespace: values.namespace as string | undefined,
      concurrency,
      logger,
      progress: progress.update,
      // auth.fromWorkload: each workload's pull secrets, read with the kubeconfig's user (get on secrets and serviceaccounts)
      ...(engine.usesWorkloadCredentials
        ? { workloadCredentials: workloadCredentialsFrom(new PullSecretStore({ reader: kubernetesObjectReader(values.kubeconfig as string | undefined) })) }
        : {}),
    });
    progress.done();
    for (const n of result.namespaces) {
      if (values.namespace && !n.covered) io.stderr.write(`namespace ${n.name} is not covered by the webhook (${n.reason}): nothing in it would be denied\n`);
      if (n.note && output !== 'table') io.stderr.write(`warning: ${n.note}\n`);
    }
    io.stdout.write(formatAudit(result, output));
    if (output !== 'table') {
      const s = result.summary;
      io.stderr.write(`${s.workloads} workload(s), ${s.images} image(s): ${s.admit} admit, ${s.warn} warn, ${s.deny} deny\n`);
    }
    return result.summary.deny > 0 ? 1 : 0;
  } catch (err) {
    progress.done();
    io.stderr.write(`imprimatur audit failed: ${err instanceof ImprimaturError ? err.message : (err as Error).message}\n`);
    return 2;
  } finally {
    await engine.close();
  }
}

/** Progress on stderr: one updating line on a terminal, a line per phase (images every 2 s) otherwise. */
function progressReporter(stderr: NodeJS.WritableStream & { isTTY?: boolean }) {
  const tty = Boolean(stderr.isTTY);
  let lastImages = 0;
  let open = false;
  const write = (text: string) => {
    if (tty) {
      stderr.write(`\r\x1b[2K${text}`);
      open = true;
    } else {
      stderr.write(`${text}\n`);
    }
  };
  return {
    start: (text: string) => write(`${text}…`),
    update: (p: AuditProgress) => {
      if (p.phase === 'namespaces') write(`${p.total} namespace(s), ${p.covered} covered by the webhook`);
      else if (p.phase === 'objects') write(`listed ${p.listed} ${p.kind}(s) in covered namespaces`);
      else {
        const now = Date.now();
        if (tty || p.done === 0 || p.done === p.total || now - lastImages >= 2000) {
          lastImages = now;
          write(`verifying ${p.total} distinct image(s): ${p.done}/${p.total}`);
        }
      }
    },
    done: () => {
      if (tty && open) stderr.write('\r\x1b[2K');
      open = false;
    },
  };
}
