import { ConfigError } from '../errors.js';
import { createLogger } from '../log.js';
import { startServer } from '../server/start.js';
import { cacheDir, localSelfSigned, readTlsFiles, type TlsMaterial } from '../server/tls.js';
import { localKey, readKeyFile, type IntegrityKey } from '../integrity/key.js';
import { parseCommandLine, type OptionValues } from './command-line.js';
import { defaultConfigFile } from './paths.js';
import { childApproval, kubernetesObjectReader } from '../admission/child-approval.js';
import { PullSecretStore } from '../pull-secrets/store.js';
import { workloadCredentialsFrom } from '../pull-secrets/workload.js';
import { createResultStore, type ResultStore } from '../cache/index.js';
import { Metrics } from '../metrics/metrics.js';
import { startClusterFeatures, type ClusterFeatureOptions, type ClusterFeatures } from '../server/cluster-features.js';

const SERVE_USAGE =
  'usage: imprimatur serve [--config FILE] [--host H] [--port N] [--tls-cert F --tls-key F] [--secrets-dir D] [--kubeconfig F] [--shutdown-delay SECONDS] [--key-file F] [--max-connections N]\n' +
  '  --host: address to listen on (default 127.0.0.1); "*" listens on every interface (in a pod)\n' +
  '  --events: Kubernetes Events for denials (needs API access: in a pod, --kubeconfig or KUBECONFIG)\n' +
  '  --audit-interval S [--audit-policy-reports] [--audit-concurrency N] [--release-namespace NS] [--audit-lease NAME]\n' +
  '      [--exclude-namespaces a,b] [--no-namespace-detection]: re-audit the cluster every S seconds (docs/audit.md)\n';

/** After a clean shutdown, anything still holding the event loop open gets this long before the process exits anyway. */
const EXIT_BACKSTOP_MS = 2000;

export async function runServe(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(argv, {
      config: { type: 'string', short: 'c' },
      host: { type: 'string' },
      port: { type: 'string', short: 'p' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'secrets-dir': { type: 'string' },
      kubeconfig: { type: 'string' },
      'shutdown-delay': { type: 'string' },
      'key-file': { type: 'string' },
      events: { type: 'boolean' },
      'audit-interval': { type: 'string' },
      'audit-policy-reports': { type: 'boolean' },
      'audit-concurrency': { type: 'string' },
      'release-namespace': { type: 'string' },
      'audit-lease': { type: 'string' },
      'exclude-namespaces': { type: 'string' },
      'no-namespace-detection': { type: 'boolean' },
      'max-connections': { type: 'string' },
  }, SERVE_USAGE);
  if (typeof parsed === 'number') return parsed;
  const { values } = parsed;
  const port = values.port === undefined ? 8443 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`--port must be a port number (got ${String(values.port)})\n`);
    return 2;
  }
  const shutdownDelay = values['shutdown-delay'] === undefined ? 0 : Number(values['shutdown-delay']);
  if (!Number.isFinite(shutdownDelay) || shutdownDelay < 0 || shutdownDelay > 300) {
    process.stderr.write(`--shutdown-delay must be a number of seconds between 0 and 300 (got ${String(values['shutdown-delay'])})\n`);
    return 2;
  }
  const maxConnections = values['max-connections'] === undefined ? undefined : Number(values['max-connections']);
  if (maxConnections !== undefined && (!Number.isInteger(maxConnections) || maxConnections < 1)) {
    process.stderr.write(`--max-connections must be a positive whole number (got ${String(values['max-connections'])})\n`);
    return 2;
  }
  if (Boolean(values['tls-cert']) !== Boolean(values['tls-key'])) {
    process.stderr.write('--tls-cert and --tls-key go together\n');
    return 2;
  }
  const cluster = clusterOptions(values);
  if (typeof cluster === 'string') {
    process.stderr.write(`${cluster}\n${SERVE_USAGE}`);
    return 2;
  }
  const logger = createLogger();
  let tls: TlsMaterial;
  try {
    tls = values['tls-cert'] ? readTlsFiles(String(values['tls-cert']), String(values['tls-key'])) : localSelfSigned();
  } catch (err) {
    process.stderr.write(`cannot read the TLS certificate or key: ${(err as Error).message}\n`);
    return 2;
  }
  // The integrity key (owner proofs, shared-cache entries): the chart's Secret, else a local key kept in the cache dir.
  const keyFile = (values['key-file'] as string | undefined) ?? process.env.IMPRIMATUR_KEY_FILE;
  let integrityKey: IntegrityKey;
  try {
    integrityKey = keyFile ? readKeyFile(keyFile) : localKey(cacheDir());
  } catch (err) {
    process.stderr.write(`refusing to start: ${(err as Error).message}\n`);
    return 1;
  }
  const configFile = String(values.config ?? defaultConfigFile);
  let running;
  let cache: ResultStore | undefined;
  try {
    // Verification results: Redis when REDIS_URL is set (shared by all replicas), else in memory.
    const metrics = new Metrics();
    cache = createResultStore(process.env, logger, { key: integrityKey, onIntegrityFailure: metrics.cacheIntegrityFailure });
    if (cache.kind === 'redis' && !keyFile) {
      logger.warn({ key: integrityKey.source }, 'REDIS_URL is set but no --key-file: this replica authenticates shared-cache entries with a local key, so entries written by replicas holding another key are ignored');
    }
    running = await startServer({
      cache,
      metrics,
      configFile,
      host: values.host as string | undefined,
      port,
      tls,
      logger,
      secretsDir: values['secrets-dir'] as string | undefined,
      integrityKey,
      connections: maxConnections === undefined ? undefined : { maxConnections },
      setup: (runtime) => {
        // Child approval needs the API server: in a cluster, or with --kubeconfig / KUBECONFIG.
        const kubeconfig = (values.kubeconfig as string | undefined) ?? process.env.KUBECONFIG;
        if (kubeconfig || process.env.KUBERNETES_SERVICE_HOST) {
          const reader = kubernetesObjectReader(kubeconfig);
          runtime.ownerImages = childApproval({
            reader,
            proofs: runtime.proofs,
            logger,
            observe: (outcome) => runtime.onOwnerProof?.(outcome),
          });
          // auth.fromWorkload: pull secrets and ServiceAccounts, read with one get each when an image needs them
          runtime.pullSecrets = workloadCredentialsFrom(new PullSecretStore({ reader, observe: metrics.pullSecretRead }));
        } else {
          logger.info('no Kubernetes API access configured: automatic child approval is off, children are validated normally');
          if (runtime.engine.usesWorkloadCredentials) {
            logger.warn('a validator has auth.fromWorkload, but there is no Kubernetes API access: workloads\' pull secrets cannot be read, only the validators\' own credentials are used');
          }
        }
      },
    });
  } catch (err) {
    await cache?.close();
    if (err instanceof ConfigError) {
      process.stderr.write(`refusing to start: the configuration is invalid\n${err.message}\n`);
      return 1;
    }
    process.stderr.write(`refusing to start: ${(err as Error).message}\n`);
    return 1;
  }
  let extras: ClusterFeatures;
  try {
    extras = await startClusterFeatures({ ...cluster, runtime: running.runtime, metrics: running.metrics, logger });
  } catch (err) {
    await running.close();
    await cache.close();
    process.stderr.write(`refusing to start: ${(err as Error).message}\n`);
    return 1;
  }
  const cfg = running.runtime.engine.config;
  logger.info(
    { url: running.url, config: cfg.file, validators: cfg.validators.length, rules: cfg.policy.length, detectionMode: cfg.features.detectionMode },
    `listening (detection mode ${cfg.features.detectionMode ? 'ON: denials are only warned about' : 'off: denials block'})`,
  );
  process.stderr.write(
    `Imprimatur listening on ${running.url} (config ${cfg.file}: ${cfg.validators.length} validators, ${cfg.policy.length} rules, ` +
      `detection mode ${cfg.features.detectionMode ? 'ON: denials are only warned about' : 'off: denials block'}; TLS: ${tls.source})\n` +
      `Try it:\n  curl --cacert ${tls.certFile ?? '<ca.pem>'} -H 'Content-Type: application/json' --data @test/fixtures/admission/pod-pause.json ${running.url}/mutate\n`,
  );
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  // A second signal while draining: stop at once.
  const hurry = (): void => {
    logger.warn('second signal while shutting down; exiting now');
    process.exit(1);
  };
  process.once('SIGINT', hurry);
  process.once('SIGTERM', hurry);
  running.runtime.ready = false;
  if (shutdownDelay > 0) {
    // Not ready, but still answering: the API server keeps sending to this replica until its endpoint is removed.
    logger.info({ signal, shutdownDelaySeconds: shutdownDelay }, 'shutting down: not ready; still answering while endpoints update');
    await new Promise((r) => setTimeout(r, shutdownDelay * 1000));
  }
  logger.info({ signal }, 'shutting down: draining requests in flight');
  await extras.close();
  await running.close();
  await cache.close();
  logger.info('stopped');
  // Every client is closed; should a library still hold the event loop open, do not hang the pod's termination.
  setTimeout(() => {
    logger.warn('something still held the event loop open after shutdown; exiting anyway');
    process.exit(0);
  }, EXIT_BACKSTOP_MS).unref();
  return 0;
}

/** --events and --audit-*: what startClusterFeatures needs, or a usage error. */
function clusterOptions(values: OptionValues): Omit<ClusterFeatureOptions, 'runtime' | 'metrics' | 'logger'> | string {
  const kubeconfig = (values.kubeconfig as string | undefined) ?? process.env.KUBECONFIG;
  const events = Boolean(values.events);
  const auditOnly = ['audit-policy-reports', 'audit-concurrency', 'audit-lease', 'exclude-namespaces', 'no-namespace-detection'].filter((k) => values[k] !== undefined);
  if (values['audit-interval'] === undefined) {
    if (auditOnly.length > 0) return `--${auditOnly[0]} needs --audit-interval`;
  }
  let audit: ClusterFeatureOptions['audit'];
  if (values['audit-interval'] !== undefined) {
    const interval = Number(values['audit-interval']);
    if (!Number.isInteger(interval) || interval < 30) return `--audit-interval must be a whole number of seconds, at least 30 (got ${String(values['audit-interval'])})`;
    const concurrency = values['audit-concurrency'] === undefined ? 4 : Number(values['audit-concurrency']);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) return `--audit-concurrency must be a whole number from 1 to 64 (got ${String(values['audit-concurrency'])})`;
    audit = {
      intervalSeconds: interval,
      concurrency,
      policyReports: Boolean(values['audit-policy-reports']),
      releaseNamespace: String(values['release-namespace'] ?? process.env.POD_NAMESPACE ?? 'imprimatur'),
      excludedNamespaces: String(values['exclude-namespaces'] ?? '').split(',').map((n) => n.trim()).filter(Boolean),
      allowNamespaceDetection: !values['no-namespace-detection'],
      ...(values['audit-lease'] ? { leaseName: String(values['audit-lease']) } : {}),
    };
  }
  if ((events || audit) && !kubeconfig && !process.env.KUBERNETES_SERVICE_HOST) {
    return `${events ? '--events' : '--audit-interval'} needs Kubernetes API access: run in a pod, or pass --kubeconfig (or set KUBECONFIG)`;
  }
  return { kubeconfig, events, audit };
}
