import type { ImageReference } from '../image/types.js';
import type { RepositoryRef } from './types.js';

/** Repository coordinates of an image reference. */
export function toRepositoryRef(image: Pick<ImageReference, 'registry' | 'repository'>): RepositoryRef {
  return { registry: image.registry, repository: image.repository };
}

/** Host that serves the distribution API for a registry name: Docker Hub's `docker.io` is `registry-1.docker.io`. */
export function registryApiHost(registry: string): string {
  const r = registry.toLowerCase();
  return r === 'docker.io' || r === 'index.docker.io' ? 'registry-1.docker.io' : r;
}

/** `registry/repository:tag` or `registry/repository@digest`, for messages. */
export function describeReference(repo: RepositoryRef, reference: string): string {
  return `${repo.registry}/${repo.repository}${reference.includes(':') ? '@' : ':'}${reference}`;
}
