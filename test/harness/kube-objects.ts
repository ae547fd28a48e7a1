/** Applying manifests to a (test) API server through @kubernetes/client-node, and webhook registrations. */
import { ApiException, KubernetesObjectApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';

/** Helm's install order (pkg/releaseutil/kind_sorter.go); kinds not listed go last (webhook configurations). */
export const INSTALL_ORDER = [
  'PriorityClass', 'Namespace', 'NetworkPolicy', 'ResourceQuota', 'LimitRange', 'PodSecurityPolicy',
  'PodDisruptionBudget', 'ServiceAccount', 'Secret', 'SecretList', 'ConfigMap', 'StorageClass', 'PersistentVolume',
  'PersistentVolumeClaim', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleList', 'ClusterRoleBinding',
  'ClusterRoleBindingList', 'Role', 'RoleList', 'RoleBinding', 'RoleBindingList', 'Service', 'DaemonSet', 'Pod',
  'ReplicationController', 'ReplicaSet', 'Deployment', 'HorizontalPodAutoscaler', 'StatefulSet', 'Job', 'CronJob',
  'IngressClass', 'Ingress', 'APIService',
];

function rank(kind: string | undefined): number {
  const i = INSTALL_ORDER.indexOf(kind ?? '');
  return i < 0 ? INSTALL_ORDER.length : i;
}

function describe(o: KubernetesObject): string {
  return `${o.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`;
}

function status(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

function explain(err: unknown, o: KubernetesObject, verb: string): Error {
  if (err instanceof ApiException) {
    const body = typeof err.body === 'string' ? err.body : JSON.stringify(err.body);
    return new Error(`${verb} ${describe(o)}: HTTP ${err.code}: ${body}`, { cause: err });
  }
  return new Error(`${verb} ${describe(o)}: ${(err as Error).message}`, { cause: err });
}

/**
 * client-node serialises a typed kind through its model, whose property for NetworkPolicy's `from` is `_from` (a
 * reserved word for its generator): a plain manifest's `from` would be silently left out of the request.
 */
function asClientModel(o: KubernetesObject): KubernetesObject {
  if (o.kind !== 'NetworkPolicy') return o;
  const copy = structuredClone(o) as KubernetesObject & { spec?: { ingress?: Array<Record<string, unknown>> } };
  for (const rule of copy.spec?.ingress ?? []) {
    if ('from' in rule) {
      rule._from = rule.from;
      delete rule.from;
    }
  }
  return copy;
}

/**
 * Creates each object (Helm's install order), replacing it when it exists. Throws on the first rejection,
 * naming the object and quoting the API server's message. Returns the stored objects, in apply order.
 */
export async function applyManifests(kc: KubeConfig, objects: KubernetesObject[], options: { dryRun?: boolean } = {}): Promise<KubernetesObject[]> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  const dryRun = options.dryRun ? 'All' : undefined;
  const sorted = objects.map(asClientModel).map((o, i) => ({ o, i })).sort((a, b) => rank(a.o.kind) - rank(b.o.kind) || a.i - b.i).map((x) => x.o);
  const stored: KubernetesObject[] = [];
  for (const o of sorted) {
    try {
      stored.push(await api.create(o, undefined, dryRun));
    } catch (err) {
      if (status(err) !== 409) throw explain(err, o, 'create');
      try {
        const current = await api.read({ apiVersion: o.apiVersion!, kind: o.kind!, metadata: { name: o.metadata!.name!, namespace: o.metadata?.namespace } });
        const next = structuredClone(o) as KubernetesObject & { spec?: Record<string, unknown> };
        next.metadata = { ...next.metadata, resourceVersion: current.metadata?.resourceVersion };
        const currentSpec = (current as { spec?: Record<string, unknown> }).spec;
        if (o.kind === 'Service' && currentSpec && next.spec) {
          next.spec = { ...next.spec, clusterIP: currentSpec.clusterIP, clusterIPs: currentSpec.clusterIPs };
        }
        stored.push(await api.replace(next, undefined, dryRun));
      } catch (err2) {
        throw explain(err2, o, 'replace');
      }
    }
  }
  return stored;
}

/** Deletes the objects in reverse install order; missing objects are fine. */
export async function deleteManifests(kc: KubeConfig, objects: KubernetesObject[]): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  const sorted = [...objects].sort((a, b) => rank(b.kind) - rank(a.kind));
  for (const o of sorted) {
    try {
      await api.delete(o);
    } catch (err) {
      if (status(err) !== 404) throw explain(err, o, 'delete');
    }
  }
}

/**
 * Creates (or updates) a Namespace with labels. It always carries `kubernetes.io/metadata.name`, which
 * Kubernetes ≥ 1.21 sets by itself and the 1.20 test server does not.
 */
export async function ensureNamespace(kc: KubeConfig, name: string, labels: Record<string, string> = {}): Promise<void> {
  await applyManifests(kc, [{
    apiVersion: 'v1', kind: 'Namespace',
    metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } },
  }]);
}

export interface WebhookOptions {
  name?: string;
  /** e.g. https://127.0.0.1:<port>/mutate */
  url: string;
  /** PEM of the CA that signed the webhook's serving certificate. */
  caPem: string;
  failurePolicy?: 'Fail' | 'Ignore';
  reinvocationPolicy?: 'Never' | 'IfNeeded';
  timeoutSeconds?: number;
  namespaceSelector?: Record<string, unknown>;
  /** Defaults to the chart's rules (every workload kind and pods/ephemeralcontainers, CREATE and UPDATE). */
  rules?: Array<Record<string, unknown>>;
}

export const WORKLOAD_RULES = [
  { operations: ['CREATE', 'UPDATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods', 'pods/ephemeralcontainers', 'replicationcontrollers'], scope: 'Namespaced' },
  { operations: ['CREATE', 'UPDATE'], apiGroups: ['apps'], apiVersions: ['v1'], resources: ['deployments', 'replicasets', 'daemonsets', 'statefulsets'], scope: 'Namespaced' },
  { operations: ['CREATE', 'UPDATE'], apiGroups: ['batch'], apiVersions: ['v1', 'v1beta1'], resources: ['jobs', 'cronjobs'], scope: 'Namespaced' },
];

/** A MutatingWebhookConfiguration that sends workloads to a webhook reachable by URL (a test server). */
export function webhookConfiguration(o: WebhookOptions): KubernetesObject {
  const name = o.name ?? 'imprimatur-test';
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name },
    webhooks: [{
      name: `${name}.imprimatur.dev`,
      admissionReviewVersions: ['v1'],
      sideEffects: 'None',
      failurePolicy: o.failurePolicy ?? 'Fail',
      reinvocationPolicy: o.reinvocationPolicy ?? 'Never',
      timeoutSeconds: o.timeoutSeconds ?? 30,
      clientConfig: { url: o.url, caBundle: Buffer.from(o.caPem).toString('base64') },
      rules: o.rules ?? WORKLOAD_RULES,
      ...(o.namespaceSelector ? { namespaceSelector: o.namespaceSelector } : {}),
    }],
  } as KubernetesObject;
}

/**
 * The chart's webhook configuration (as rendered), pointed at a server instead of the in-cluster Service: same
 * entries, rules, policies and namespaceSelectors. Each entry keeps its own path (`/mutate`, `/mutate/detect`, …)
 * on the origin of `url` (e.g. `https://127.0.0.1:<port>`; a path in `url` is ignored).
 */
export function retargetWebhook(rendered: KubernetesObject, url: string, caPem: string): KubernetesObject {
  const copy = structuredClone(rendered) as KubernetesObject & { webhooks: Array<Record<string, any>> };
  const origin = new URL(url).origin;
  for (const w of copy.webhooks) {
    const path = String(w.clientConfig?.service?.path ?? '/mutate');
    w.clientConfig = { url: `${origin}${path}`, caBundle: Buffer.from(caPem).toString('base64') };
  }
  return copy;
}
