/**
 * Where registry credentials may go. Credentials are always *for* registries (`host[:port]`): the host keys of a
 * dockerconfigjson secret, or the `auth.registries` list that must accompany `auth.username`/`password`. They are
 * sent to nothing else:
 *
 * - Basic auth only to the registry they are for (its own API host: `docker.io` is served by `registry-1.docker.io`);
 * - a Bearer token service (the `realm` a registry's 401 names) receives them only when it is on that same
 *   registry host (host and port), is one of `auth.tokenHosts`, or is Docker Hub's own (`auth.docker.io`, for
 *   `docker.io` and `notary.docker.io`). Any other realm is asked for an anonymous token;
 * - token services are asked for `repository:<repository>:pull` of the image being verified — the scope Imprimatur
 *   computes — never for the scope a registry's challenge names.
 *
 * A registry the attacker chose (an image reference in a workload), or a realm it names, therefore never sees the
 * credentials of another registry. Used by the HTTP transport for validator credentials and for any other source of
 * credentials (e.g. a Pod's imagePullSecrets): build a CredentialSource with `credentialSourceFromEntries`.
 */
import { ImprimaturError } from '../errors.js';
import { DockerConfigFile, dockerConfigPath, findCredentials, normaliseRegistryKey, type CredentialEntry, type Credentials } from './credentials.js';
import { urlHosts } from './insecure-registries.js';

/** Token services known to belong to a registry, besides the registry's own host. */
export const WELL_KNOWN_TOKEN_HOSTS: Readonly<Record<string, readonly string[]>> = {
  'docker.io': ['auth.docker.io'],
  'notary.docker.io': ['auth.docker.io'],
};

/** `host[:port]` as compared everywhere here: lower case, Docker Hub aliases folded to `docker.io`. */
export function normaliseHost(host: string): string {
  return normaliseRegistryKey(host).host;
}

/** Where a transport gets credentials from, and where it may send them. */
export interface CredentialSource {
  /** For messages, e.g. `secret "regcred"`; undefined when no credentials are configured. */
  readonly description: string | undefined;
  /**
   * Credentials for a registry and repository, or undefined when none are for that registry.
   * Throws REGISTRY_CREDENTIALS_INVALID when a secret is unusable.
   */
  lookup(registry: string, repository: string): Credentials | undefined;
  /**
   * Whether credentials for `registry` may be sent to the token service at `realm`, named by the registry
   * answering at `registryUrl`.
   */
  mayAuthenticateAt(realm: URL, registry: string, registryUrl: URL): boolean;
  /** The hosts (besides each registry's own) whose token services may receive the credentials, for messages. */
  readonly tokenHosts: readonly string[];
}

/** The token-service rule above, shared by every credential source. */
export function tokenServiceAllowed(realm: URL, registry: string, registryUrl: URL, tokenHosts: readonly string[]): boolean {
  const realmHosts = urlHosts(realm);
  if (urlHosts(registryUrl).some((h) => realmHosts.includes(h))) return true;
  const allowed = [...tokenHosts.map(normaliseHost), ...(WELL_KNOWN_TOKEN_HOSTS[normaliseHost(registry)] ?? [])];
  return realmHosts.some((h) => allowed.includes(h) || allowed.includes(normaliseHost(h)));
}

/** Explicit username/password, bound to `registries`. */
export function boundCredentials(credentials: Credentials, registries: readonly string[], tokenHosts: readonly string[] = []): CredentialSource {
  if (registries.length === 0) {
    throw new ImprimaturError('REGISTRY_CREDENTIALS_INVALID', 'credentials without the registries they are for; list them in auth.registries');
  }
  const hosts = new Set(registries.map(normaliseHost));
  return {
    description: `the configured username "${credentials.username}"`,
    tokenHosts,
    lookup: (registry) => (hosts.has(normaliseHost(registry)) ? credentials : undefined),
    mayAuthenticateAt: (realm, registry, registryUrl) => tokenServiceAllowed(realm, registry, registryUrl, tokenHosts),
  };
}

/** Credentials from dockerconfigjson entries: each bound to the host (and path prefix) of its key. */
export function credentialSourceFromEntries(entries: () => readonly CredentialEntry[], description: string, tokenHosts: readonly string[] = []): CredentialSource {
  return {
    description,
    tokenHosts,
    lookup: (registry, repository) => findCredentials(entries(), registry, repository),
    mayAuthenticateAt: (realm, registry, registryUrl) => tokenServiceAllowed(realm, registry, registryUrl, tokenHosts),
  };
}

/** No credentials at all: every request is anonymous. */
export const NO_CREDENTIALS: CredentialSource = {
  description: undefined,
  tokenHosts: [],
  lookup: () => undefined,
  mayAuthenticateAt: () => false,
};

/** How a validator's `auth` block configures credentials. */
export interface AuthSettings {
  username?: string;
  password?: string;
  /** Registries (`host[:port]`) explicit username/password are for; required with them. */
  registries?: readonly string[];
  /** Hosts of token services (besides each registry's own) that may receive the credentials. */
  tokenHosts?: readonly string[];
  /** Name of a mounted `kubernetes.io/dockerconfigjson` secret (or Connaisseur's `secret.yaml`). */
  secretName?: string;
  secretsDir?: string;
  /** The registry a Connaisseur `secret.yaml` without `registry` is for (a Notary validator's own host). */
  defaultRegistry?: string;
}

/** The credential source of a validator's `auth` block: explicit credentials, a mounted secret, or none. */
export function createCredentialSource(opts: AuthSettings): CredentialSource {
  if (opts.username !== undefined && opts.password !== undefined) {
    return boundCredentials({ username: opts.username, password: opts.password }, opts.registries ?? [], opts.tokenHosts);
  }
  if (opts.secretName) {
    const file = new DockerConfigFile(dockerConfigPath(opts.secretName, opts.secretsDir), opts.secretName, opts.defaultRegistry);
    return credentialSourceFromEntries(() => file.entries(), `secret "${opts.secretName}"`, opts.tokenHosts);
  }
  return NO_CREDENTIALS;
}
