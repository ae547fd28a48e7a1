/**
 * The pull credentials of the workload in one admission request: its pull secrets read once, on first use (only when
 * an image's rule sends it to a validator with `auth.fromWorkload: true`), and shared by every image of the request.
 */
import { emptyKeyring, loadKeyring, type WorkloadKeyring } from './keyring.js';
import type { PullSecretRefs } from './refs.js';
import type { PullSecretSource } from './store.js';

export interface WorkloadCredentials {
  /** Never rejects: what could not be read is in the keyring's report. */
  keyring(signal: AbortSignal): Promise<WorkloadKeyring>;
}

/** The credentials of one workload (an admission request's object, or an audited workload); `where` names it, e.g. `Pod team-a/web`. */
export type WorkloadCredentialsFactory = (refs: PullSecretRefs, where: string) => WorkloadCredentials;

/** Reads each workload's pull secrets from `source` (the API server). */
export function workloadCredentialsFrom(source: PullSecretSource): WorkloadCredentialsFactory {
  return (refs, where) => {
    let read: Promise<WorkloadKeyring> | undefined;
    return {
      keyring: (signal) => (read ??= loadKeyring(refs, where, source, signal)),
    };
  };
}

/** Without Kubernetes API access: no pull secret can be read, and every refusal says why. */
export function withoutWorkloadCredentials(reason: string): WorkloadCredentialsFactory {
  const keyring = { ...emptyKeyring(reason), incomplete: true };
  return () => ({ keyring: () => Promise.resolve(keyring) });
}
