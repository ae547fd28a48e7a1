/**
 * Automatic child approval: a Pod, ReplicaSet or Job created by a controller (Deployment → ReplicaSet → Pod,
 * CronJob → Job → Pod, DaemonSet/StatefulSet → Pod) carries the images its owner was admitted with, already
 * pinned to verified digests. Those images are admitted without a second registry round trip — but only when
 * the owner really exists with the UID the child names, and only for images equal to the owner's pinned ones.
 */
import type { KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node';
import { raceAbort } from '../deadline.js';
import type { Logger } from '../log.js';
import type { AdmissionRequest } from './review.js';
import { containerImages } from './workload.js';

const CHILD_KINDS = new Set(['Pod', 'ReplicaSet', 'Job']);
const OWNER_KINDS = new Set(['Deployment', 'ReplicaSet', 'DaemonSet', 'StatefulSet', 'Job', 'CronJob']);

interface OwnerReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  uid?: string;
  controller?: boolean;
}

/** Reads one object from the API server; injectable so the lookup can be exercised against any API server. */
export type ObjectReader = (ref: { apiVersion: string; kind: string; name: string; namespace: string }, signal: AbortSignal) => Promise<KubernetesObject>;

/**
 * A reader backed by @kubernetes/client-node: in-cluster config, or KUBECONFIG / the given file.
 * The library (about 60 MiB of memory) is loaded on first use, so a webhook without child approval never pays for it.
 */
export function kubernetesObjectReader(kubeconfigFile?: string): ObjectReader {
  let api: Promise<KubernetesObjectApi> | undefined;
  const client = async (): Promise<KubernetesObjectApi> => {
    const k8s = await import('@kubernetes/client-node');
    const kc = new k8s.KubeConfig();
    if (kubeconfigFile) kc.loadFromFile(kubeconfigFile);
    else kc.loadFromDefault();
    return k8s.KubernetesObjectApi.makeApiClient(kc);
  };
  return async (ref, signal) => {
    // A failed start (bad kubeconfig) is retried on the next request instead of being remembered.
    api ??= client().catch((err: unknown) => {
      api = undefined;
      throw err;
    });
    const read = (await api).read({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: ref.namespace } });
    return raceAbort(read, signal, () => new Error('the admission deadline passed'));
  };
}

/** Returns the `ownerImages` hook for the admission handler. */
export function childApproval(reader: ObjectReader, logger: Logger) {
  return async (request: AdmissionRequest, signal: AbortSignal): Promise<Set<string> | undefined> => {
    const kind = request.kind.kind;
    if (!CHILD_KINDS.has(kind) || request.operation !== 'CREATE' || !request.namespace) return undefined;
    const meta = request.object?.metadata as { ownerReferences?: OwnerReference[] } | undefined;
    const owner = meta?.ownerReferences?.find((o) => o.controller === true && o.kind && OWNER_KINDS.has(o.kind));
    if (!owner?.kind || !owner.name || !owner.uid || !owner.apiVersion) return undefined;
    try {
      const object = await reader({ apiVersion: owner.apiVersion, kind: owner.kind, name: owner.name, namespace: request.namespace }, signal);
      if (object.metadata?.uid !== owner.uid) {
        logger.warn({ uid: request.uid, owner: `${owner.kind}/${owner.name}`, claimed: owner.uid, actual: object.metadata?.uid }, 'owner reference UID does not match the owner; validating the child normally');
        return undefined;
      }
      const pinned = containerImages(owner.kind, object).map((c) => c.image).filter((image) => /@sha256:[0-9a-f]{64}$/.test(image));
      return new Set(pinned);
    } catch (err) {
      logger.info({ uid: request.uid, owner: `${owner.kind}/${owner.name}`, error: (err as Error).message }, 'owner could not be fetched; validating the child normally');
      return undefined;
    }
  };
}
