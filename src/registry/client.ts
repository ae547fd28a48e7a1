import { ImprimaturError } from '../errors.js';
import { leaseOf } from './byte-budget.js';
import { checkJsonComplexity, countJsonValues, parsedSizeEstimate } from './json.js';
import { createHttpTransport, type HttpTransportOptions } from './http.js';
import { headerValue } from './http-exchange.js';
import { computeDigest, digestAlgorithm, isDigest, referrersTag } from './digest.js';
import { isInsecureHost } from './insecure-registries.js';
import { digestMismatch, registryBadResponse, registryNotFound } from './registry-errors.js';
import { describeReference, registryApiHost } from './repository-ref.js';
import { MEDIA_TYPES, type Descriptor, type FetchedManifest, type HttpResponse, type HttpTransport, type RegistryClient, type RepositoryRef } from './types.js';

/** Largest manifest or index accepted (4 MiB, as containerd). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** Sent with every manifest request: registries answer 404 for OCI content not listed in Accept. */
export const MANIFEST_ACCEPT = [MEDIA_TYPES.ociManifest, MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerManifest, MEDIA_TYPES.dockerManifestList];

const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** An OCI distribution client (see RegistryClient) over the shared HttpTransport. */
export function createRegistryClient(opts: HttpTransportOptions & { transport?: HttpTransport }): RegistryClient {
  return new DistributionClient(opts.transport ?? createHttpTransport(opts), opts.insecureRegistries);
}

class DistributionClient implements RegistryClient {
  constructor(private readonly http: HttpTransport, private readonly insecureRegistries: readonly string[]) {}

  async resolveDigest(repo: RepositoryRef, reference: string, signal: AbortSignal): Promise<string> {
    const res = await this.request(repo, 'manifests', reference, signal, { method: 'HEAD', accept: MANIFEST_ACCEPT, maxBytes: MAX_MANIFEST_BYTES });
    if (res.status === 404) throw registryNotFound(`image ${describeReference(repo, reference)}`, repo.registry);
    if (res.status === 200) {
      const header = headerValue(res.headers['docker-content-digest']);
      if (isDigest(reference)) {
        if (header && isDigest(header) && header !== reference) {
          throw digestMismatch(repo.registry, `image ${describeReference(repo, reference)}`, reference, header);
        }
        return reference;
      }
      if (header && isDigest(header) && digestAlgorithm(header) === 'sha256') return header;
    }
    // No usable answer to HEAD (some registries omit the header or refuse HEAD): fetch and hash the body.
    return (await this.getManifest(repo, reference, signal)).digest;
  }

  async getManifest(repo: RepositoryRef, reference: string, signal: AbortSignal): Promise<FetchedManifest> {
    const manifest = await this.findManifest(repo, reference, signal);
    if (!manifest) throw registryNotFound(`image ${describeReference(repo, reference)}`, repo.registry);
    return manifest;
  }

  async findManifest(repo: RepositoryRef, reference: string, signal: AbortSignal, opts: { maxBytes?: number } = {}): Promise<FetchedManifest | undefined> {
    const what = `image ${describeReference(repo, reference)}`;
    const maxBytes = Math.max(0, Math.min(opts.maxBytes ?? MAX_MANIFEST_BYTES, MAX_MANIFEST_BYTES));
    const res = await this.request(repo, 'manifests', reference, signal, { accept: MANIFEST_ACCEPT, maxBytes });
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw registryBadResponse(repo.registry, `HTTP ${res.status} for ${what}`);
    let digest: string;
    if (isDigest(reference)) {
      const actual = computeDigest(res.body, digestAlgorithm(reference));
      if (actual !== reference) throw digestMismatch(repo.registry, what, reference, actual);
      digest = reference;
    } else {
      digest = computeDigest(res.body);
      const header = headerValue(res.headers['docker-content-digest']);
      if (header && isDigest(header)) {
        const actual = digestAlgorithm(header) === 'sha256' ? digest : computeDigest(res.body, 'sha512');
        if (actual !== header) throw digestMismatch(repo.registry, what, header, actual);
      }
    }
    const json = await parseRegistryJson(res.body, signal, `the manifest of ${what}`, repo.registry);
    if (!json) throw registryBadResponse(repo.registry, `the manifest of ${what} is not a JSON object`);
    const mediaType = typeof json['mediaType'] === 'string' ? json['mediaType'] : contentType(res) ?? '';
    return { digest, mediaType, body: res.body, json };
  }

  async getBlob(repo: RepositoryRef, descriptor: Descriptor, signal: AbortSignal): Promise<Buffer> {
    const what = `blob ${descriptor.digest} of ${repo.registry}/${repo.repository}`;
    if (!isDigest(descriptor.digest) || !Number.isSafeInteger(descriptor.size) || descriptor.size < 0) {
      throw registryBadResponse(repo.registry, `${what} has an invalid descriptor (digest or size)`);
    }
    const res = await this.request(repo, 'blobs', descriptor.digest, signal, { maxBytes: descriptor.size });
    if (res.status === 404) throw registryNotFound(what, repo.registry);
    if (res.status !== 200) throw registryBadResponse(repo.registry, `HTTP ${res.status} for ${what}`);
    const actual = computeDigest(res.body, digestAlgorithm(descriptor.digest));
    if (actual !== descriptor.digest) throw digestMismatch(repo.registry, what, descriptor.digest, actual);
    return res.body;
  }

  async getReferrers(repo: RepositoryRef, digest: string, signal: AbortSignal, artifactType?: string): Promise<Descriptor[]> {
    if (!isDigest(digest)) throw new ImprimaturError('INVALID_REFERENCE', `"${digest}" is not a digest; referrers are looked up by digest`);
    const query = artifactType ? `?artifactType=${encodeURIComponent(artifactType)}` : '';
    const res = await this.request(repo, 'referrers', digest + query, signal, { accept: [MEDIA_TYPES.ociIndex], maxBytes: MAX_MANIFEST_BYTES });
    let index = res.status === 200 || res.status === 404
      ? asIndex(await parseRegistryJson(res.body, signal, `the referrers of ${repo.registry}/${repo.repository}@${digest}`, repo.registry))
      : undefined;
    if (!index) {
      // No referrers API (distribution 2.8, Docker Hub…): the referrers tag schema, an index at tag `sha256-<hex>`.
      const tagged = await this.findManifest(repo, referrersTag(digest), signal);
      index = tagged ? asIndex(tagged.json) : [];
      if (!index) throw registryBadResponse(repo.registry, `tag ${referrersTag(digest)} of ${repo.registry}/${repo.repository} is not an image index`);
    }
    return index.filter((d) => !artifactType || d.artifactType === artifactType);
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  private request(
    repo: RepositoryRef,
    kind: 'manifests' | 'blobs' | 'referrers',
    reference: string,
    signal: AbortSignal,
    o: { method?: 'GET' | 'HEAD'; accept?: string[]; maxBytes: number },
  ): Promise<HttpResponse> {
    const bare = reference.split('?')[0]!;
    if (!isDigest(bare) && !(kind === 'manifests' && TAG.test(bare))) {
      throw new ImprimaturError('INVALID_REFERENCE', `"${bare}" is neither a tag nor a digest`);
    }
    const host = registryApiHost(repo.registry);
    const insecure = isInsecureHost(this.insecureRegistries, repo.registry) || isInsecureHost(this.insecureRegistries, host);
    const url = `${insecure ? 'http' : 'https'}://${host}/v2/${repo.repository}/${kind}/${reference}`;
    return this.http.get(url, { ...o, signal, scope: `repository:${repo.repository}:pull`, registry: repo.registry, repository: repo.repository });
  }
}

/**
 * A registry's JSON answer as an object (undefined when it is not one). Refused when its structure is excessive; the
 * memory its parse takes is reserved in the verification's byte budget first (src/registry/byte-budget.ts).
 */
async function parseRegistryJson(body: Buffer, signal: AbortSignal, what: string, registry: string): Promise<Record<string, unknown> | undefined> {
  const values = countJsonValues(body);
  checkJsonComplexity(body, what, registry, values);
  await leaseOf(signal)?.take(parsedSizeEstimate(body, values), signal, what);
  return parseJsonObject(body);
}

function parseJsonObject(body: Buffer): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(body.toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The descriptors of an image index, or undefined when `json` is not one. Malformed entries are skipped. */
function asIndex(json: Record<string, unknown> | undefined): Descriptor[] | undefined {
  if (!json || !Array.isArray(json['manifests'])) return undefined;
  if (json['mediaType'] !== undefined && json['mediaType'] !== MEDIA_TYPES.ociIndex && json['mediaType'] !== MEDIA_TYPES.dockerManifestList) return undefined;
  return (json['manifests'] as unknown[]).filter(isDescriptor);
}

function isDescriptor(v: unknown): v is Descriptor {
  if (typeof v !== 'object' || v === null) return false;
  const d = v as Record<string, unknown>;
  return typeof d['mediaType'] === 'string' && typeof d['digest'] === 'string' && isDigest(d['digest']) && typeof d['size'] === 'number';
}

function contentType(res: HttpResponse): string | undefined {
  return headerValue(res.headers['content-type'])?.split(';')[0]?.trim() || undefined;
}
