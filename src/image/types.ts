/**
 * A container image reference, normalised exactly as the container runtime (containerd, CRI-O:
 * the docker/distribution reference rules) resolves it.
 *
 *   nginx                   -> registry docker.io, repository library/nginx, tag latest
 *   ghcr.io/org/app@sha256: -> registry ghcr.io,   repository org/app,       digest sha256:…
 */
export interface ImageReference {
  /** The string as written in the workload. */
  readonly original: string;
  /** Registry host[:port], lower case; Docker Hub is always `docker.io`. */
  readonly registry: string;
  /** Repository path inside the registry, e.g. `library/nginx`. */
  readonly repository: string;
  /** Tag; `latest` when neither tag nor digest was given; undefined for digest-only references. */
  readonly tag?: string;
  /** `sha256:<64 hex>` when the reference pins a digest. */
  readonly digest?: string;
  /** `registry/repository`. */
  readonly name: string;
  /** Fully normalised: `registry/repository[:tag][@digest]`. */
  readonly normalized: string;
}
