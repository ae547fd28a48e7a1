/** Builders of real admission.k8s.io/v1 AdmissionReview JSON, as the API server sends them. */
import { randomUUID } from 'node:crypto';

export type Containers = { containers?: string[]; initContainers?: string[]; ephemeralContainers?: string[] };

export function podSpec(c: Containers): Record<string, unknown> {
  const list = (images: string[] | undefined, prefix: string) => images?.map((image, i) => ({ name: `${prefix}${i}`, image }));
  return {
    containers: list(c.containers ?? [], 'c'),
    ...(c.initContainers ? { initContainers: list(c.initContainers, 'init') } : {}),
    ...(c.ephemeralContainers ? { ephemeralContainers: list(c.ephemeralContainers, 'debug') } : {}),
  };
}

const GROUP: Record<string, [string, string, string]> = {
  Pod: ['', 'v1', 'pods'],
  Deployment: ['apps', 'v1', 'deployments'],
  ReplicaSet: ['apps', 'v1', 'replicasets'],
  DaemonSet: ['apps', 'v1', 'daemonsets'],
  StatefulSet: ['apps', 'v1', 'statefulsets'],
  ReplicationController: ['', 'v1', 'replicationcontrollers'],
  Job: ['batch', 'v1', 'jobs'],
  CronJob: ['batch', 'v1beta1', 'cronjobs'],
  ConfigMap: ['', 'v1', 'configmaps'],
};

/** A workload object of `kind` whose pod template holds the given containers. */
export function workload(kind: string, c: Containers, name = 'demo', extraMeta: Record<string, unknown> = {}): Record<string, unknown> {
  const [group, version] = GROUP[kind] ?? ['', 'v1'];
  const apiVersion = group ? `${group}/${version}` : version;
  const metadata = { name, namespace: 'team-a', ...extraMeta };
  const template = { metadata: { labels: { app: name } }, spec: podSpec(c) };
  switch (kind) {
    case 'Pod':
      return { apiVersion, kind, metadata, spec: podSpec(c) };
    case 'CronJob':
      return { apiVersion, kind, metadata, spec: { schedule: '* * * * *', jobTemplate: { spec: { template } } } };
    case 'Job':
      return { apiVersion, kind, metadata, spec: { template } };
    default:
      return { apiVersion, kind, metadata, spec: { selector: { matchLabels: { app: name } }, template } };
  }
}

export function review(
  kind: string,
  object: Record<string, unknown> | null,
  opts: { operation?: string; oldObject?: Record<string, unknown> | null; subResource?: string; uid?: string; kindOverride?: string } = {},
): Record<string, unknown> {
  const [group, version, resource] = GROUP[kind] ?? ['', 'v1', `${kind.toLowerCase()}s`];
  const meta = (object?.metadata ?? {}) as Record<string, unknown>;
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: opts.uid ?? randomUUID(),
      kind: { group, version, kind: opts.kindOverride ?? kind },
      resource: { group, version, resource },
      ...(opts.subResource ? { subResource: opts.subResource } : {}),
      requestKind: { group, version, kind: opts.kindOverride ?? kind },
      name: meta.name,
      namespace: meta.namespace ?? 'team-a',
      operation: opts.operation ?? 'CREATE',
      userInfo: { username: 'alice@example.com', groups: ['system:authenticated'] },
      object,
      oldObject: opts.oldObject ?? null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    },
  };
}

/** Applies a base64 JSONPatch (the ops Imprimatur emits: replace, add and remove of object members) to a copy of `object`. */
export function applyPatch(object: Record<string, unknown>, patchB64: string | undefined): Record<string, unknown> {
  const copy = structuredClone(object);
  if (!patchB64) return copy;
  const ops = JSON.parse(Buffer.from(patchB64, 'base64').toString('utf8')) as Array<{ op: string; path: string; value: unknown }>;
  for (const op of ops) {
    const keys = op.path.split('/').slice(1).map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
    let node: any = copy;
    for (const k of keys.slice(0, -1)) node = node[k];
    const last = keys[keys.length - 1]!;
    if (op.op === 'replace' || op.op === 'remove') {
      if (!(last in node)) throw new Error(`patch path ${op.path} does not exist`);
      if (op.op === 'remove') delete node[last];
      else node[last] = op.value;
    } else if (op.op === 'add') {
      if (Array.isArray(node)) throw new Error(`unexpected array add at ${op.path}`);
      node[last] = op.value;
    } else {
      throw new Error(`unexpected patch op ${op.op}`);
    }
  }
  return copy;
}
