import { parseArgs } from 'node:util';
import { ConfigError } from '../errors.js';
import { createLogger } from '../log.js';
import { startServer } from '../server/start.js';
import { localSelfSigned, readTlsFiles, type TlsMaterial } from '../server/tls.js';
import { defaultConfigFile } from './paths.js';
import { childApproval, kubernetesObjectReader } from '../admission/child-approval.js';
import { createResultStore } from '../cache/index.js';

const SERVE_USAGE =
  'usage: imprimatur serve [--config FILE] [--host H] [--port N] [--tls-cert F --tls-key F] [--secrets-dir D] [--kubeconfig F]\n' +
  '  --host: address to listen on (default 127.0.0.1); "*" listens on every interface (in a pod)\n';

export async function runServe(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' },
        host: { type: 'string' },
        port: { type: 'string', short: 'p' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'secrets-dir': { type: 'string' },
        kubeconfig: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${SERVE_USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(SERVE_USAGE);
    return 0;
  }
  const port = values.port === undefined ? 8443 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`--port must be a port number (got ${String(values.port)})\n`);
    return 2;
  }
  if (Boolean(values['tls-cert']) !== Boolean(values['tls-key'])) {
    process.stderr.write('--tls-cert and --tls-key go together\n');
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
  const configFile = String(values.config ?? defaultConfigFile);
  let running;
  try {
    // Verification results: Redis when REDIS_URL is set (shared by all replicas), else in memory.
    const cache = createResultStore(process.env, logger);
    running = await startServer({
      cache,
      configFile,
      host: values.host as string | undefined,
      port,
      tls,
      logger,
      secretsDir: values['secrets-dir'] as string | undefined,
      setup: (runtime) => {
        // Child approval needs the API server: in a cluster, or with --kubeconfig / KUBECONFIG.
        const kubeconfig = (values.kubeconfig as string | undefined) ?? process.env.KUBECONFIG;
        if (kubeconfig || process.env.KUBERNETES_SERVICE_HOST) {
          runtime.ownerImages = childApproval(kubernetesObjectReader(kubeconfig), logger);
        } else {
          logger.info('no Kubernetes API access configured: automatic child approval is off, children are validated normally');
        }
      },
    });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`refusing to start: the configuration is invalid\n${err.message}\n`);
      return 1;
    }
    process.stderr.write(`refusing to start: ${(err as Error).message}\n`);
    return 1;
  }
  const cfg = running.runtime.engine.config;
  process.stderr.write(
    `Imprimatur listening on ${running.url} (config ${cfg.file}: ${cfg.validators.length} validators, ${cfg.policy.length} rules; TLS: ${tls.source})\n` +
      `Try it:\n  curl --cacert ${tls.certFile ?? '<ca.pem>'} -H 'Content-Type: application/json' --data @test/fixtures/admission/pod-pause.json ${running.url}/mutate\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  logger.info('shutting down');
  await running.close();
  return 0;
}
