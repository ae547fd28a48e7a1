/**
 * What runs in the cluster, as the webhook would see it: every object of the kinds the webhook validates, reduced
 * to what an audit needs (identity, controller owner, images), and folded to top-level workloads — a Deployment,
 * not its ReplicaSets and Pods; a CronJob, not its Jobs and Pods.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { containerImages, WorkloadShapeError } from '../admission/workload.js';
import { pullSecretRefs, type PullSecretRefs } from '../pull-secrets/refs.js';

/** The kinds the webhook validates, with the API version to list them by (CronJob: batch/v1beta1 before 1.21). */
export interface AuditedKind {
  apiVersion: string;
  kind: string;
  /** Tried when `apiVersion` is not served (404 or unknown to discovery). */
  fallbackApiVersion?: string;
}

export const AUDITED_KINDS: AuditedKind[] = [
  { apiVersion: 'v1', kind: 'Pod' },
  { apiVersion: 'v1', kind: 'ReplicationController' },
  { apiVersion: 'apps/v1', kind: 'Deployment' },
  { apiVersion: 'apps/v1', kind: 'ReplicaSet' },
  { apiVersion: 'apps/v1', kind: 'DaemonSet' },
  { apiVersion: 'apps/v1', kind: 'StatefulSet' },
  { apiVersion: 'batch/v1', kind: 'Job' },
  { apiVersion: 'batch/v1', kind: 'CronJob', fallbackApiVersion: 'batch/v1beta1' },
];

interface ControllerRef {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
}

/** One listed object, reduced. */
export interface InventoryObject {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid: string;
  controller?: ControllerRef;
  /** Distinct images in container order (containers, initContainers, ephemeralContainers). */
  images: string[];
  /** The pull secrets its pod spec names, and its ServiceAccount (for validators with auth.fromWorkload). */
  pullSecrets?: PullSecretRefs;
}

/** A top-level workload and everything folded into it. */
export interface Workload {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid: string;
  /** Image → the objects carrying it (`Kind/name`), the workload itself first when it carries it. */
  images: Map<string, string[]>;
  /** Objects folded into this workload, `Kind/name`, in listing order. */
  folded: string[];
  /** The top-level object's pull secrets and ServiceAccount: what its Pods present to the kubelet. */
  pullSecrets?: PullSecretRefs;
}

/** Reduces a listed object; undefined (with the reason) for an object whose pod spec cannot be read. */
export function toInventoryObject(o: KubernetesObject, kind: string): InventoryObject | { skipped: string } {
  const meta = o.metadata ?? {};
  let images: string[];
  try {
    images = [...new Set(containerImages(kind, o).map((c) => c.image))];
  } catch (err) {
    if (!(err instanceof WorkloadShapeError)) throw err;
    return { skipped: `${kind} ${meta.namespace}/${meta.name}: ${err.message}` };
  }
  const ref = meta.ownerReferences?.find((r) => r.controller === true);
  return {
    apiVersion: o.apiVersion ?? '',
    kind,
    namespace: meta.namespace ?? '',
    name: meta.name ?? '',
    uid: meta.uid ?? '',
    ...(ref ? { controller: { apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name, uid: ref.uid } } : {}),
    images,
    pullSecrets: pullSecretRefs(kind, o, meta.namespace ?? ''),
  };
}

/**
 * Folds objects into their top-level controllers: follows each object's controller owner reference while the owner
 * is a listed object of the same namespace (by UID, so a name reused by a new object is not confused with the old
 * one). An owner Imprimatur does not validate (a custom controller) ends the chain: its child is the workload.
 */
export function foldOwners(objects: InventoryObject[]): Workload[] {
  const byUid = new Map(objects.filter((o) => o.uid).map((o) => [o.uid, o]));
  const workloads = new Map<string, Workload>();
  const top = (o: InventoryObject): InventoryObject => {
    let current = o;
    const seen = new Set<string>([o.uid]);
    for (;;) {
      const owner = current.controller ? byUid.get(current.controller.uid) : undefined;
      if (!owner || owner.namespace !== current.namespace || seen.has(owner.uid)) return current;
      seen.add(owner.uid);
      current = owner;
    }
  };
  // Owners first, so each workload's own images come before its children's.
  const ordered = [...objects].sort((a, b) => depth(a, byUid) - depth(b, byUid));
  for (const o of ordered) {
    const root = top(o);
    const key = root.uid || `${root.namespace}/${root.kind}/${root.name}`;
    let w = workloads.get(key);
    if (!w) {
      w = { apiVersion: root.apiVersion, kind: root.kind, namespace: root.namespace, name: root.name, uid: root.uid, images: new Map(), folded: [], ...(root.pullSecrets ? { pullSecrets: root.pullSecrets } : {}) };
      workloads.set(key, w);
    }
    const label = `${o.kind}/${o.name}`;
    if (o !== root) w.folded.push(label);
    for (const image of o.images) {
      const carriers = w.images.get(image);
      if (carriers) carriers.push(label);
      else w.images.set(image, [label]);
    }
  }
  return [...workloads.values()].sort((a, b) => a.namespace.localeCompare(b.namespace) || a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
}

/** How many listed controllers sit above `o` (bounded; a cycle stops the count). */
function depth(o: InventoryObject, byUid: Map<string, InventoryObject>): number {
  let n = 0;
  let current = o;
  while (n < 8 && current.controller) {
    const owner = byUid.get(current.controller.uid);
    if (!owner || owner.namespace !== current.namespace) break;
    current = owner;
    n++;
  }
  return n;
}
