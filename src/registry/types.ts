/** Interface of the OCI distribution client (src/registry). Used by every signature validator. */

export const MEDIA_TYPES = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
} as const;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  artifactType?: string;
}

/** A manifest whose bytes were checked against its digest. */
export interface FetchedManifest {
  /** `sha256:<hex>` of `body` (checked against the requested digest when fetched by digest). */
  digest: string;
  mediaType: string;
  body: Buffer;
  /** Parsed JSON of `body`. */
  json: Record<string, unknown>;
}

/** Repository coordinates: registry host[:port] (`docker.io` for Hub) and repository path. */
export interface RepositoryRef {
  registry: string;
  repository: string;
}

/** How a validator reaches its registry. */
export interface RegistryClientOptions {
  /** Extra CA certificates (PEM) trusted besides the system CAs. */
  ca?: string;
  /** Name of a mounted `kubernetes.io/dockerconfigjson` secret. */
  secretName?: string;
  /** Explicit credentials (alternative to secretName), sent only to `registries`. */
  username?: string;
  password?: string;
  /** Registries (`host[:port]`) the explicit credentials are for (required with them). */
  registries?: readonly string[];
  /**
   * `auth.fromWorkload`: credentials for the image's registry come from the choice the admission engine makes per
   * verification (the workload's pull secrets, then these); see credential-scope.ts.
   */
  fromWorkload?: boolean;
  /** Token-service hosts, besides each registry's own, that may receive the credentials (see credential-binding.ts). */
  tokenHosts?: readonly string[];
  /** The registry a mounted Connaisseur `secret.yaml` without `registry` is for (a Notary validator's own host). */
  defaultRegistry?: string;
  /** Registries allowed over plain HTTP (`host:port`). */
  insecureRegistries: string[];
  /** Directory with mounted secrets: `<secretsDir>/<secretName>/.dockerconfigjson`. Default `/app/secrets`. */
  secretsDir?: string;
  /** Per-HTTP-request timeout in ms (default 5000); the caller's AbortSignal bounds the total. */
  requestTimeoutMs?: number;
}

/**
 * OCI distribution client for one validator (its CA, credentials and insecure-registry list).
 * Every method honours `signal` (the admission deadline) and throws ImprimaturError with codes:
 * REGISTRY_NOT_FOUND, REGISTRY_UNAUTHORIZED, REGISTRY_FORBIDDEN, REGISTRY_RATE_LIMITED, REGISTRY_TLS,
 * REGISTRY_TIMEOUT, REGISTRY_UNREACHABLE, REGISTRY_BAD_RESPONSE, DIGEST_MISMATCH, RESPONSE_TOO_LARGE,
 * and REGISTRY_CREDENTIALS_INVALID when the configured dockerconfigjson secret is missing or broken.
 */
export interface RegistryClient {
  /** Digest of the manifest or index that `reference` (tag or digest) points to. A digest reference is checked to exist. */
  resolveDigest(repo: RepositoryRef, reference: string, signal: AbortSignal): Promise<string>;
  /** Manifest by tag or digest (body checked against the digest when fetched by digest; capped at 4 MiB). */
  getManifest(repo: RepositoryRef, reference: string, signal: AbortSignal): Promise<FetchedManifest>;
  /**
   * Like getManifest, but `undefined` when the registry answers 404 (e.g. a `.sig` tag that does not exist).
   * `maxBytes` lowers the 4 MiB cap (e.g. to the size a referrers index declares).
   */
  findManifest(repo: RepositoryRef, reference: string, signal: AbortSignal, opts?: { maxBytes?: number }): Promise<FetchedManifest | undefined>;
  /** Blob bytes, checked against descriptor.digest and capped at descriptor.size. */
  getBlob(repo: RepositoryRef, descriptor: Descriptor, signal: AbortSignal): Promise<Buffer>;
  /** Referrers of `digest`: OCI 1.1 referrers API, else the referrers tag schema (`sha256-<hex>` index). */
  getReferrers(repo: RepositoryRef, digest: string, signal: AbortSignal, artifactType?: string): Promise<Descriptor[]>;
  close(): Promise<void>;
}

/** A raw HTTP response from HttpTransport. */
export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/**
 * Authenticated HTTPS transport shared by the registry client and the Notary client:
 * keep-alive pooling, TLS with extra CA, plain HTTP only for insecure registries, per-request
 * timeout, bounded retries with backoff on 429/5xx/connection reset, Basic auth and the Docker v2
 * bearer-token flow (WWW-Authenticate → token with `scope`, cached until expiry), response size cap.
 */
export interface HttpTransport {
  /**
   * Resolves with 2xx/3xx/404 and other 4xx answers; throws ImprimaturError for 401
   * (REGISTRY_UNAUTHORIZED), 403 (REGISTRY_FORBIDDEN), 429 after retries (REGISTRY_RATE_LIMITED),
   * 5xx after retries (REGISTRY_UNREACHABLE), network/TLS/timeout failures and RESPONSE_TOO_LARGE.
   * `registry` names the registry in messages and for the credential lookup (default: the URL's host);
   * `repository` is the repository for the credential lookup (default: from `scope`, else the URL path).
   */
  get(
    url: string,
    opts: { signal: AbortSignal; accept?: string[]; maxBytes: number; scope?: string; method?: 'GET' | 'HEAD'; registry?: string; repository?: string },
  ): Promise<HttpResponse>;
  close(): Promise<void>;
}
