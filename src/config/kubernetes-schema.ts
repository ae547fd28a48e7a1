/**
 * JSON Schema of the `kubernetes:` section of a values file: how the chart runs Imprimatur. Every key the chart
 * reads (helm/templates) is here, plus the keys of Connaisseur's chart that Imprimatur's chart accepts without
 * using them (see connaisseur-keys.ts for the warning each one gets). Kubernetes objects passed through to a
 * manifest unchanged (resources, securityContext, affinity, …) are described as objects only: the API server
 * validates them when the chart is installed.
 * A key added to helm/values.yaml must be added here too (test/config/values-file.test.ts fails until it is).
 */

type Schema = Record<string, unknown>;

const object = (description: string): Schema => ({ type: 'object', description });
const stringMap = (description: string): Schema => ({ type: 'object', additionalProperties: { type: 'string' }, description });
const intOrPercent: Schema = { anyOf: [{ type: 'integer', minimum: 0 }, { type: 'string', pattern: '^[0-9]+%$' }], description: 'a number of pods (0 or more) or a percentage such as "50%"' };

const deployment: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    replicasCount: { type: 'integer', minimum: 0, description: 'Replicas of the webhook (default 3).' },
    image: {
      type: 'object',
      additionalProperties: false,
      properties: {
        repository: { type: 'string', minLength: 1 },
        tag: { type: ['string', 'number'], description: "Default: the chart's appVersion." },
        digest: { type: 'string', description: 'sha256:…; wins over tag when set.' },
      },
    },
    pullPolicy: { enum: ['Always', 'IfNotPresent', 'Never'] },
    imagePullSecrets: { type: 'array', items: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } },
    heapLimitMiB: {
      type: 'integer',
      anyOf: [{ const: 0 }, { minimum: 32 }],
      description: 'V8 old-space limit (NODE_OPTIONS=--max-old-space-size), at least 32; keep it below the memory limit. 0: no bound (then NODE_OPTIONS may be set in envs).',
    },
    shutdownDelaySeconds: { type: 'integer', minimum: 0, description: 'On SIGTERM: seconds the webhook keeps answering while not ready, before it drains and exits.' },
    resources: object('Container resources (requests, limits).'),
    securityContext: object('Container securityContext.'),
    podSecurityContext: object('Pod securityContext.'),
    affinity: object('Pod affinity; empty: a preferred anti-affinity over the release\'s pods.'),
    tolerations: { type: 'array', items: { type: 'object' } },
    nodeSelector: stringMap('Node labels the pods must run on.'),
    tls: {
      type: 'object',
      additionalProperties: false,
      properties: {
        cert: { type: 'string', description: 'PEM serving certificate (with key).' },
        key: { type: 'string', description: 'PEM private key of cert.' },
        ca: { type: 'string', description: 'PEM CA for the webhook caBundle (default: cert).' },
      },
    },
    envs: {
      type: 'object',
      additionalProperties: { type: ['string', 'number', 'boolean', 'object'] },
      description: 'Environment variables of the webhook container: name → literal value, or {valueFrom: {secretKeyRef: {name, key}}}.',
    },
    podLabels: stringMap('Extra labels on the pods.'),
    annotations: stringMap('Annotations on the Deployment.'),
  },
};

const redis: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    url: { type: 'string', description: 'redis:// or rediss:// URL of a shared verification cache (the chart does not deploy Redis).' },
    urlSecret: {
      type: 'object',
      additionalProperties: false,
      properties: { name: { type: 'string', minLength: 1 }, key: { type: 'string', minLength: 1 } },
      description: 'A Secret holding the Redis URL: {name, key (default "url")}.',
    },
    // Connaisseur's chart deploys its own Redis; these keys are accepted and ignored (with a warning).
    image: object("Connaisseur's Redis image: no effect (Imprimatur's chart does not deploy Redis)."),
    pullPolicy: { type: 'string', description: 'Connaisseur only: no effect.' },
    resources: object('Connaisseur only: no effect.'),
    securityContext: object('Connaisseur only: no effect.'),
    podSecurityContext: object('Connaisseur only: no effect.'),
    tls: object('Connaisseur only: no effect (use a rediss:// URL and REDIS_CA_FILE).'),
  },
};

export const kubernetesSchema: Schema = {
  type: 'object',
  additionalProperties: false,
  description: 'How the chart runs Imprimatur (deployment, service, webhook, …). Not read by the program.',
  properties: {
    deployment,
    service: {
      type: 'object',
      additionalProperties: false,
      properties: { type: { enum: ['ClusterIP', 'NodePort', 'LoadBalancer'] }, port: { type: 'integer', minimum: 1, maximum: 65535 } },
    },
    serviceaccount: {
      type: 'object',
      additionalProperties: false,
      properties: { annotations: stringMap('Annotations on the ServiceAccount (e.g. a cloud IAM role).') },
    },
    webhook: {
      type: 'object',
      additionalProperties: false,
      properties: {
        failurePolicy: { enum: ['Fail', 'Ignore'] },
        reinvocationPolicy: { enum: ['Never', 'IfNeeded'] },
        timeoutSeconds: { type: 'integer', minimum: 1, maximum: 30 },
        excludedNamespaces: { type: 'array', items: { type: 'string', minLength: 1 } },
        allowNamespaceDetection: { type: 'boolean', description: 'Register the detect entry for namespaces labelled imprimatur.dev/webhook=detect (default true).' },
      },
    },
    networkPolicy: {
      type: 'object',
      additionalProperties: false,
      description: 'Who may connect to the webhook port (docs/helm.md, "NetworkPolicy").',
      properties: {
        enabled: { type: 'boolean', description: 'A NetworkPolicy for the webhook pods (default true).' },
        apiServer: { type: 'array', items: { type: 'object' }, description: 'NetworkPolicy peers the API server connects from (e.g. {ipBlock: {cidr: 10.0.0.0/24}}); empty: every address outside podCidrs.' },
        podCidrs: { type: 'array', items: { type: 'string', minLength: 1 }, description: "The cluster's pod CIDRs, kept out when apiServer is empty." },
        metrics: { type: 'array', items: { type: 'object' }, description: 'NetworkPolicy peers that scrape GET /metrics.' },
      },
    },
    podDisruptionBudget: {
      type: 'object',
      additionalProperties: false,
      properties: { minAvailable: intOrPercent, maxUnavailable: intOrPercent },
    },
    redis,
    integrityKey: {
      type: 'object',
      additionalProperties: false,
      properties: { existingSecret: { type: 'string', description: 'Secret holding integrity.key (HMAC key of owner proofs and shared-cache entries); empty: the chart creates one.' } },
    },
    events: {
      type: 'object',
      additionalProperties: false,
      properties: { enabled: { type: 'boolean', description: 'Kubernetes Events for denials in the request\'s namespace (default true).' } },
    },
    audit: {
      type: 'object',
      additionalProperties: false,
      description: 'In-cluster audit (docs/audit.md).',
      properties: {
        enabled: { type: 'boolean', description: 'Re-audit the covered namespaces from one replica (default false).' },
        intervalSeconds: { type: 'integer', minimum: 30, description: 'Seconds between audits (default 600).' },
        concurrency: { type: 'integer', minimum: 1, maximum: 64, description: 'Images verified at once during an audit (default 4).' },
        policyReports: {
          type: 'object',
          additionalProperties: false,
          properties: {
            enabled: { type: 'boolean', description: 'Keep one PolicyReport per namespace current (default true).' },
            installCRD: { type: 'boolean', description: 'Install the wgpolicyk8s.io PolicyReport CRD when the cluster has none (default true).' },
          },
        },
      },
    },
    grafanaDashboard: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean', description: 'A ConfigMap with the Grafana dashboard for the dashboard sidecar (default false).' },
        namespace: { type: 'string', description: 'Namespace of the ConfigMap (default: the release namespace).' },
        labels: stringMap('Labels the sidecar selects on (default grafana_dashboard: "1").'),
        annotations: stringMap('Annotations on the ConfigMap.'),
      },
    },
    workloadCredentials: {
      type: 'object',
      additionalProperties: false,
      description: 'RBAC for validators with auth.fromWorkload (docs/registry.md#credentials-from-the-workload).',
      properties: {
        namespaces: {
          type: 'array',
          items: { type: 'string', minLength: 1 },
          description: 'Namespaces whose Secrets and ServiceAccounts the webhook may get (a RoleBinding in each); empty: every namespace (a ClusterRoleBinding).',
        },
      },
    },
    alertTemplates: {
      type: 'object',
      additionalProperties: { type: 'string' },
      propertyNames: { pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*\\.json(\\.hbs)?$', description: 'a template file name is <name>.json.hbs or <name>.json (letters, digits, ".", "_", "-")' },
      description: 'Alert templates (file name <name>.json.hbs or <name>.json → content), mounted at /app/config/alert-templates.',
    },
    additionalLabels: stringMap('Extra labels on every object of the release.'),
  },
};
