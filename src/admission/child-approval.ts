/**
 * Automatic child approval: a Pod, ReplicaSet or Job created or updated by its controller (Deployment → ReplicaSet →
 * Pod, CronJob → Job → Pod, DaemonSet/StatefulSet → Pod) carries images its owner was admitted with. Those images
 * skip the registry round trip only when the controller owner — read from the API server in `apps/v1` or `batch/v1`
 * only, with the UID the child names, not being deleted — carries an owner proof (owner-proof.ts) that Imprimatur
 * wrote for it as it is now, under the configuration in force, listing that exact digest-pinned image.
 */
import type { KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node';
import { raceAbort } from '../deadline.js';
import type { Logger } from '../log.js';
import { OWNER_API_VERSION, OWNER_GROUPS, proofAnnotation, type OwnerProofs } from './owner-proof.js';
import type { AdmissionRequest } from './review.js';
import { containerImages } from './workload.js';

const CHILD_KINDS = new Set(['Pod', 'ReplicaSet', 'Job']);

interface OwnerReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  uid?: string;
  controller?: boolean;
}

/** Reads one object from the API server; injectable so the lookup can be exercised against any API server. */
export type ObjectReader = (ref: { apiVersion: string; kind: string; name: string; namespace: string }, signal: AbortSignal) => Promise<KubernetesObject>;

/** What a child-approval lookup concluded (metrics): a valid proof, or why not. */
export type ProofOutcome = 'valid' | 'absent' | 'invalid' | 'owner-unavailable';

/** The `ownerImages` hook of the admission handler: images the owner vouches for, or undefined to validate normally. */
export type OwnerImages = (request: AdmissionRequest, generation: string, signal: AbortSignal) => Promise<Set<string> | undefined>;

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

export interface ChildApprovalOptions {
  reader: ObjectReader;
  proofs: OwnerProofs;
  logger: Logger;
  /** Called once per lookup with its outcome (metrics). */
  observe?: (outcome: ProofOutcome) => void;
}

export function childApproval({ reader, proofs, logger, observe }: ChildApprovalOptions): OwnerImages {
  return async (request, generation, signal) => {
    const kind = request.kind.kind;
    if (!CHILD_KINDS.has(kind) || (request.operation !== 'CREATE' && request.operation !== 'UPDATE') || !request.namespace) return undefined;
    const meta = request.object?.metadata as { ownerReferences?: OwnerReference[] } | undefined;
    const owner = meta?.ownerReferences?.find((o) => o.controller === true);
    const group = owner?.kind ? OWNER_GROUPS[owner.kind] : undefined;
    // The reference must name the owner's one built-in group (a custom resource elsewhere with the same kind is not it).
    if (!owner?.kind || !owner.name || !owner.uid || !group || owner.apiVersion?.split('/')[0] !== group) return undefined;
    const who = `${owner.kind}/${owner.name}`;
    let object: KubernetesObject;
    try {
      object = await reader({ apiVersion: OWNER_API_VERSION[group], kind: owner.kind, name: owner.name, namespace: request.namespace }, signal);
    } catch (err) {
      observe?.('owner-unavailable');
      logger.info({ uid: request.uid, owner: who, error: (err as Error).message }, 'owner could not be read; validating the child normally');
      return undefined;
    }
    const ownerMeta = object.metadata ?? {};
    const refuse = (outcome: ProofOutcome, reason: string): undefined => {
      observe?.(outcome);
      logger.info({ uid: request.uid, owner: who, reason }, 'the owner does not vouch for the child; validating it normally');
      return undefined;
    };
    if (ownerMeta.uid !== owner.uid) return refuse('invalid', 'the owner reference UID is not the owner\'s');
    if (ownerMeta.deletionTimestamp) return refuse('invalid', 'the owner is being deleted');
    const value = ownerMeta.annotations?.[proofAnnotation(owner.kind)];
    if (value === undefined) return refuse('absent', 'the owner carries no proof of verification');
    let images: string[];
    try {
      images = containerImages(owner.kind, object).map((c) => c.image);
    } catch {
      return refuse('invalid', 'the owner has no readable pod template');
    }
    const check = proofs.check(value, { namespace: request.namespace, group, kind: owner.kind, name: owner.name, generation, images });
    if (!check.ok) return refuse('invalid', check.reason);
    observe?.('valid');
    return check.verified;
  };
}
