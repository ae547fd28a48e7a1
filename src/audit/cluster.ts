/**
 * Reading the cluster for an audit: namespaces with their labels, and every object of the audited kinds, page by
 * page (500 per request), so memory stays bounded by a page plus the reduced inventory.
 * @kubernetes/client-node is loaded on first use (the webhook loads it only when the in-cluster audit is on).
 */
import type { KubeConfig, KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node';
import { ImprimaturError } from '../errors.js';
import type { AuditedKind } from './inventory.js';

export interface NamespaceInfo {
  name: string;
  labels: Record<string, string>;
}

/** Where an audit reads from: the real API server (kubernetesClusterSource) or anything shaped like it. */
export interface ClusterSource {
  /** Every namespace, or only `only` (error when it does not exist). */
  namespaces(only?: string): Promise<NamespaceInfo[]>;
  /** Objects of `kind`, in `namespace` or all namespaces; pages are fetched as the caller iterates. */
  objects(kind: AuditedKind, namespace?: string): AsyncIterable<KubernetesObject>;
  /** Where the API server is (for messages). */
  readonly server: string;
}

const PAGE = 500;

/** Loads a kubeconfig: the given file, else KUBECONFIG / ~/.kube/config / the in-cluster service account. */
export async function loadKubeConfig(file?: string): Promise<KubeConfig> {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  try {
    if (file) kc.loadFromFile(file);
    else kc.loadFromDefault();
  } catch (err) {
    throw new ImprimaturError('KUBECONFIG_INVALID', `cannot load the kubeconfig${file ? ` ${file}` : ''}: ${(err as Error).message}`);
  }
  if (!kc.getCurrentCluster()) {
    throw new ImprimaturError('KUBECONFIG_INVALID', `the kubeconfig${file ? ` ${file}` : ''} has no current cluster; pass --kubeconfig or set KUBECONFIG`);
  }
  return kc;
}

export async function kubernetesClusterSource(kc: KubeConfig): Promise<ClusterSource> {
  const k8s = await import('@kubernetes/client-node');
  const api: KubernetesObjectApi = k8s.KubernetesObjectApi.makeApiClient(kc);
  const server = kc.getCurrentCluster()?.server ?? '(unknown API server)';
  const unserved = new Set<string>();

  async function* pages(apiVersion: string, kind: string, namespace?: string): AsyncGenerator<KubernetesObject> {
    let token: string | undefined;
    do {
      const list = await api.list(apiVersion, kind, namespace, undefined, undefined, undefined, undefined, undefined, PAGE, token);
      for (const item of list.items ?? []) yield { ...item, apiVersion, kind };
      const meta = list.metadata as { continue?: string; _continue?: string } | undefined;
      token = meta?._continue || meta?.continue || undefined;
    } while (token);
  }

  return {
    server,
    async namespaces(only) {
      try {
        if (only) {
          const ns = await api.read({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: only } });
          return [{ name: only, labels: { ...(ns.metadata?.labels ?? {}) } }];
        }
        const all: NamespaceInfo[] = [];
        for await (const ns of pages('v1', 'Namespace')) all.push({ name: ns.metadata?.name ?? '', labels: { ...(ns.metadata?.labels ?? {}) } });
        return all;
      } catch (err) {
        throw apiError(err, only ? `read namespace ${only}` : 'list namespaces', server);
      }
    },
    async *objects(kind, namespace) {
      const versions = [kind.apiVersion, ...(kind.fallbackApiVersion ? [kind.fallbackApiVersion] : [])].filter((v) => !unserved.has(`${v}/${kind.kind}`));
      for (const [i, apiVersion] of versions.entries()) {
        try {
          yield* pages(apiVersion, kind.kind, namespace);
          return;
        } catch (err) {
          if (isUnserved(err) && i < versions.length - 1) {
            unserved.add(`${apiVersion}/${kind.kind}`);
            continue;
          }
          if (isUnserved(err)) return; // the kind does not exist on this cluster: nothing of it can run
          throw apiError(err, `list ${kind.kind} (${apiVersion})${namespace ? ` in namespace ${namespace}` : ''}`, server);
        }
      }
    },
  };
}

function isUnserved(err: unknown): boolean {
  const code = (err as { code?: number }).code;
  return code === 404 || /Unrecognized API version and kind/i.test((err as Error).message ?? '');
}

/** A sentence for a failed API call: what we tried, the HTTP status and the API server's own message. */
export function apiError(err: unknown, what: string, server: string): ImprimaturError {
  const e = err as { code?: number | string; body?: unknown; message?: string; cause?: { code?: string } };
  if (typeof e.code === 'number') {
    const body = typeof e.body === 'string' ? safeJson(e.body) : e.body;
    const message = (body as { message?: string } | undefined)?.message ?? e.message;
    const hint = e.code === 403 ? ' (the kubeconfig\'s user needs get/list on namespaces and the workload kinds: see docs/audit.md)' : '';
    return new ImprimaturError('KUBERNETES_API', `cannot ${what}: HTTP ${e.code}: ${message}${hint}`);
  }
  const reason = (typeof e.code === 'string' ? e.code : undefined) ?? e.cause?.code ?? e.message ?? String(err);
  return new ImprimaturError('KUBERNETES_UNREACHABLE', `cannot ${what}: the API server ${server} is not reachable (${reason})`);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text.slice(0, 300) };
  }
}
