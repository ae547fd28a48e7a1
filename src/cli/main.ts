/** `imprimatur` command line: serve | check-config | explain | audit. Returns the process exit code. */
import { runAuditCommand } from './audit.js';
import { runCheckConfig } from './check-config.js';
import { runExplain } from './explain.js';
import { runServe } from './serve.js';

export const USAGE = `Imprimatur — admits only signed, verified container images (Kubernetes admission webhook)

Usage:
  imprimatur serve [--config FILE] [--host H] [--port N] [--tls-cert F --tls-key F] [--secrets-dir D] [--kubeconfig F]
                   [--shutdown-delay SECONDS] [--key-file F] [--max-connections N]
      Run the HTTPS webhook (POST /mutate, GET /health, GET /ready, GET /metrics).
      Defaults: the shipped policies/default.yaml, https://127.0.0.1:8443, a self-signed localhost certificate.
      --kubeconfig (or KUBECONFIG, or in-cluster) enables automatic child approval lookups.
      --key-file (or IMPRIMATUR_KEY_FILE): the integrity key every replica shares (owner proofs, Redis entries);
      without it a local key is created in the cache directory.
      Connections: TLS handshake and first request within 10 s each, idle keep-alive closed after 65 s, at most
      --max-connections (512) open at once.
      On SIGTERM/SIGINT: not ready at once, still answering for --shutdown-delay seconds (default 0), then
      requests in flight are answered, every connection and client (Redis, registries) closed, and it exits.
  imprimatur check-config [--secrets-dir D] FILE
      Check a config file (bare application config or a Helm values.yaml) as the chart will deploy it, on a machine
      without the cluster's secrets: what only the pod has (Secrets, their environment variables) is a warning.
      Exit 0 and a one-line summary (warnings on stderr) when valid; exit 1 and one line per problem otherwise.
  imprimatur explain [--config FILE] [--json] [--namespace-mode enforce|detect] IMAGE...
      For each image: normalised reference, winning rule, runner-up rules, validator, trust roots,
      enforcement (enforce/detect and which setting decided it; --namespace-mode detect = a namespace labelled
      imprimatur.dev/webhook=detect), verification outcome and verified digest.
      Exit 0 = all verified or approved, 1 = any denied, 2 = usage or config error.
  imprimatur audit [--config FILE] [--kubeconfig F] [-n NS | --all-namespaces] [--output table|json|policyreport]
                   [--concurrency N] [--release-namespace NS]
      What would this config deny among what runs now? Reads every Pod and workload in the namespaces the
      webhook covers (label imprimatur.dev/webhook, kube-system and the release namespace excluded), folds
      owners (a Deployment, not its ReplicaSets and Pods), verifies each distinct image once with the real
      validators. Progress on stderr. Exit 0 = nothing would be denied, 1 = something would, 2 = error.
      --output policyreport prints wgpolicyk8s.io/v1alpha2 PolicyReports (kubectl apply -f -).
  imprimatur --help | --version

Environment: IMPRIMATUR_LOG_LEVEL (info), IMPRIMATUR_SECRETS_DIR (/app/secrets), IMPRIMATUR_CACHE_DIR,
  IMPRIMATUR_TEMPLATE_DIRS (extra alert template directories, colon-separated), IMPRIMATUR_KEY_FILE (= --key-file),
  REDIS_URL (shared verification cache; entries authenticated with the integrity key).
`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    case '--version':
    case 'version': {
      const { createRequire } = await import('node:module');
      const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };
      process.stdout.write(`${pkg.version}\n`);
      return 0;
    }
    case 'serve':
      return runServe(rest);
    case 'check-config':
      return runCheckConfig(rest);
    case 'explain':
      return runExplain(rest);
    case 'audit':
      return runAuditCommand(rest);
    default:
      process.stderr.write(`unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}
