/**
 * A workload's keyring: its pull secrets, read, with what became of each (for the denial when a registry refuses),
 * and the credentials that apply to one image — the kubelet's candidates, in the kubelet's order (credentials.ts).
 */
import { matchingEntries, type CredentialEntry, type Credentials } from '../registry/credentials.js';
import { MAX_PULL_SECRETS, type PullSecretRefs } from './refs.js';
import type { PullSecretSource, SecretLookup } from './store.js';

/** One pull secret the workload names, and what reading it gave. */
export interface SecretReport {
  name: string;
  lookup: SecretLookup;
}

export interface WorkloadKeyring {
  /** Where the secrets came from, for messages: `the Pod's imagePullSecrets`, `ServiceAccount "builder"`, …. */
  origin: string;
  secrets: SecretReport[];
  /** Why there are no secrets to read, when that is worth saying (no Kubernetes access, ServiceAccount missing, …). */
  note?: string;
  /** True when something could not be read (API error): a refusal is then not final. */
  incomplete: boolean;
}

/** One set of credentials to try for an image, with where it comes from. */
export interface Candidate {
  credentials: Credentials;
  /** For messages: `pull secret "regcred"`. */
  description: string;
}

/** The keyring of a workload without a Kubernetes API to read it from, or of no workload at all (`explain`). */
export function emptyKeyring(note: string): WorkloadKeyring {
  return { origin: 'no workload', secrets: [], note, incomplete: false };
}

/** Reads the secrets `refs` names (or its ServiceAccount's), in parallel. Never rejects. */
export async function loadKeyring(refs: PullSecretRefs, kindName: string, source: PullSecretSource, signal: AbortSignal): Promise<WorkloadKeyring> {
  if (!refs.hasPodSpec) {
    return { ...emptyKeyring(`the request for ${kindName} carries no pod spec (the EphemeralContainers kind of Kubernetes < 1.22), so its pull secrets are unknown`), origin: kindName };
  }
  let names = refs.podSecrets;
  let origin = `the imagePullSecrets of ${kindName}`;
  let note: string | undefined;
  let incomplete = false;
  if (names.length === 0) {
    origin = `ServiceAccount "${refs.serviceAccount}" (${kindName} names no imagePullSecrets)`;
    const sa = await source.serviceAccount(refs.namespace, refs.serviceAccount, signal);
    if (sa.status === 'found') {
      names = sa.imagePullSecrets.slice(0, MAX_PULL_SECRETS);
      if (names.length === 0) note = `neither ${kindName} nor its ServiceAccount "${refs.serviceAccount}" names any imagePullSecrets`;
    } else if (sa.status === 'missing') {
      note = `${kindName} names no imagePullSecrets and its ServiceAccount "${refs.serviceAccount}" does not exist in namespace ${refs.namespace}`;
    } else {
      incomplete = true;
      note = `${kindName} names no imagePullSecrets and its ServiceAccount "${refs.serviceAccount}" could not be read: ${sa.reason}`;
    }
  } else if (refs.ignored > 0) {
    note = `${refs.ignored} more imagePullSecrets beyond the first ${MAX_PULL_SECRETS} were not read`;
  }
  const secrets = await Promise.all(names.map(async (name) => ({ name, lookup: await source.secret(refs.namespace, name, signal) })));
  if (secrets.some((s) => s.lookup.status === 'unavailable')) incomplete = true;
  return { origin, secrets, ...(note ? { note } : {}), incomplete };
}

/**
 * The credentials of the keyring that apply to `registry`/`repository`: every matching entry of every usable secret,
 * most specific key first, secrets in the order named for equal keys (as the kubelet's keyring).
 */
export function keyringCandidates(keyring: WorkloadKeyring, registry: string, repository: string): Candidate[] {
  const tagged: Array<CredentialEntry & { secret: string }> = [];
  for (const s of keyring.secrets) {
    if (s.lookup.status === 'found') for (const e of s.lookup.entries) tagged.push({ ...e, secret: s.name });
  }
  return (matchingEntries(tagged, registry, repository) as Array<CredentialEntry & { secret: string }>).map((e) => ({
    credentials: e.credentials,
    description: `pull secret "${e.secret}"${e.key !== e.host || e.hostGlob ? ` (entry "${e.key}")` : ''}`,
  }));
}

/**
 * One line per secret that gave no credentials for `registry`/`repository`: what it is for instead, or why it could
 * not be used — for a registry's refusal (the secrets that did are named by the attempts).
 */
export function describeSecrets(keyring: WorkloadKeyring, registry: string, repository: string): string[] {
  const applies = (entries: CredentialEntry[]) => matchingEntries(entries, registry, repository).length > 0;
  return keyring.secrets.filter(({ lookup }) => !(lookup.status === 'found' && applies(lookup.entries))).map(({ name, lookup }) => {
    switch (lookup.status) {
      case 'found': {
        const hosts = [...new Set(lookup.entries.map((e) => e.key))];
        return hosts.length === 0
          ? `pull secret "${name}" holds no usable credentials`
          : `pull secret "${name}" has no entry for ${registry} (it has: ${hosts.slice(0, 5).join(', ')}${hosts.length > 5 ? `, and ${hosts.length - 5} more` : ''})`;
      }
      case 'missing':
        return `pull secret "${name}" does not exist`;
      case 'wrong-type':
      case 'invalid':
        return `pull secret "${name}" cannot be used: ${lookup.reason}`;
      case 'unavailable':
        return `pull secret "${name}" could not be read: ${lookup.reason}`;
    }
  });
}
