/**
 * Credentials chosen for one verification, for validators with `auth.fromWorkload: true`.
 *
 * A validator's HTTP transport is built once, with the validator's own credentials (its `auth.secretName` or
 * username/password). A workload's pull secrets are per request: which of them to send to the image's registry is
 * decided by the admission engine (src/pull-secrets), which then runs the validator inside `withCredentialChoice`.
 * The transport of a `fromWorkload` validator asks `scopedCredentialSource` for credentials; for the registry of the
 * choice it answers with the chosen credentials (or none: anonymous), for any other registry with the validator's own
 * as before. Node's AsyncLocalStorage carries the choice through the validator's awaits to the transport, so no
 * validator has to pass credentials along; nothing outside the `withCredentialChoice` callback ever sees them.
 *
 * The binding of credential-binding.ts applies unchanged: the choice only ever holds credentials from entries whose
 * key matches the image's registry, and token services receive them only under the same rule.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Credentials } from './credentials.js';
import { normaliseHost, tokenServiceAllowed, type CredentialSource } from './credential-binding.js';

/** What to send to one registry during one verification attempt. */
export interface CredentialChoice {
  /** The image's registry (`host[:port]`, `docker.io` for Docker Hub). */
  registry: string;
  /** The credentials to send; undefined: none (anonymous). */
  credentials?: Credentials;
  /** Where they come from, for messages, e.g. `pull secret "regcred"`. */
  description?: string;
}

const choices = new AsyncLocalStorage<CredentialChoice & { host: string }>();

/** Runs `work` with `choice` in force for transports built with `scopedCredentialSource`. */
export function withCredentialChoice<T>(choice: CredentialChoice, work: () => Promise<T>): Promise<T> {
  return choices.run({ ...choice, host: normaliseHost(choice.registry) }, work);
}

/**
 * The credential source of a `fromWorkload` validator: the choice in force for its registry, else `own`. `tokenHosts`
 * (the validator's `auth.tokenHosts`) apply to chosen credentials as to its own — also when it has none of its own.
 */
export function scopedCredentialSource(own: CredentialSource, tokenHosts: readonly string[]): CredentialSource {
  const current = (registry: string) => {
    const choice = choices.getStore();
    return choice && choice.host === normaliseHost(registry) ? choice : undefined;
  };
  return {
    get description() {
      return choices.getStore()?.description ?? own.description;
    },
    tokenHosts,
    lookup: (registry, repository) => {
      const choice = current(registry);
      return choice ? choice.credentials : own.lookup(registry, repository);
    },
    mayAuthenticateAt: (realm, registry, registryUrl) =>
      current(registry) ? tokenServiceAllowed(realm, registry, registryUrl, tokenHosts) : own.mayAuthenticateAt(realm, registry, registryUrl),
  };
}
