/**
 * Which pull secrets the Pods of a workload present to the kubelet: the `imagePullSecrets` of its pod spec (at the
 * depth its kind has it: `spec`, `spec.template.spec`, `spec.jobTemplate.spec.template.spec`), or — when it names
 * none — those of its ServiceAccount (`serviceAccountName`, else the deprecated `serviceAccount`, else `default`).
 * That is what the ServiceAccount admission plugin does when it creates a Pod: it copies the ServiceAccount's pull
 * secrets into the Pod only when the Pod names none, so a workload that names its own never uses its
 * ServiceAccount's, and Imprimatur does not either.
 *
 * Secrets are names in the request's own namespace (a Pod cannot name another namespace's); the namespace comes
 * from the AdmissionRequest (the API server), never from the object.
 */
import { podSpecOf } from '../admission/workload.js';

/** Most pull secret names read per workload; more are ignored (and the denial says so). */
export const MAX_PULL_SECRETS = 32;

export interface PullSecretRefs {
  namespace: string;
  /** The pod spec's `imagePullSecrets[].name`, in order, without duplicates, at most MAX_PULL_SECRETS. */
  podSecrets: string[];
  /** The ServiceAccount whose pull secrets apply when `podSecrets` is empty. */
  serviceAccount: string;
  /** Names beyond MAX_PULL_SECRETS, not read. */
  ignored: number;
  /** False when the request carries no pod spec (the EphemeralContainers kind of Kubernetes < 1.22). */
  hasPodSpec: boolean;
}

export function pullSecretRefs(kind: string, object: unknown, namespace: string): PullSecretRefs {
  const spec = podSpecOf(kind, object);
  const names: string[] = [];
  const listed = Array.isArray(spec?.imagePullSecrets) ? (spec.imagePullSecrets as unknown[]) : [];
  for (const ref of listed) {
    const name = (ref as { name?: unknown } | null)?.name;
    if (typeof name === 'string' && name !== '' && !names.includes(name)) names.push(name);
  }
  const sa = [spec?.serviceAccountName, spec?.serviceAccount].find((v): v is string => typeof v === 'string' && v !== '');
  return {
    namespace,
    podSecrets: names.slice(0, MAX_PULL_SECRETS),
    serviceAccount: sa ?? 'default',
    ignored: Math.max(0, names.length - MAX_PULL_SECRETS),
    hasPodSpec: spec !== undefined,
  };
}
