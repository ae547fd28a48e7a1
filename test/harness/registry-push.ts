import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { Agent, fetch } from 'undici';

/**
 * Pushes content to a real registry over the distribution API (no Docker needed):
 * `POST /v2/<repo>/blobs/uploads/` → `PUT <Location>&digest=…`, `PUT /v2/<repo>/manifests/<ref>`.
 * Handles Basic auth and the bearer-token flow with the test credentials.
 */
export interface PushedDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string };
}

export interface PushedImage {
  /** Digest of the manifest. */
  digest: string;
  /** Manifest bytes as stored. */
  manifest: Buffer;
  mediaType: string;
  size: number;
  config: PushedDescriptor;
  layers: PushedDescriptor[];
  /** Descriptor of the manifest itself (for indexes and referrer subjects). */
  descriptor: PushedDescriptor;
}

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';

export class RegistryPusher {
  private readonly agent: Agent;
  private readonly tokens = new Map<string, string>();

  constructor(private readonly baseUrl: string, private readonly opts: { caPem?: string; user?: { user: string; password: string } } = {}) {
    this.agent = new Agent({ connect: opts.caPem ? { ca: opts.caPem } : {} });
  }

  async pushBlob(repo: string, bytes: Buffer | string): Promise<string> {
    const data = Buffer.from(bytes);
    const digest = sha256(data);
    const start = await this.call(repo, 'POST', `/v2/${repo}/blobs/uploads/`, {});
    expectStatus(start, 202, `start upload to ${repo}`);
    const location = new URL(start.headers.get('location')!, this.baseUrl);
    location.searchParams.set('digest', digest);
    const put = await this.call(repo, 'PUT', location.pathname + location.search, { 'content-type': 'application/octet-stream' }, data);
    expectStatus(put, 201, `upload blob ${digest} to ${repo}`);
    return digest;
  }

  async pushManifest(repo: string, reference: string, body: Buffer | string | object, mediaType: string): Promise<string> {
    return (await this.putManifest(repo, reference, body, mediaType)).digest;
  }

  /** PUT a manifest; also says whether the registry announced it indexed the manifest's `subject` (OCI-Subject). */
  async putManifest(repo: string, reference: string, body: Buffer | string | object, mediaType: string): Promise<{ digest: string; ociSubject?: string }> {
    const data = Buffer.isBuffer(body) || typeof body === 'string' ? Buffer.from(body) : Buffer.from(JSON.stringify(body));
    const res = await this.call(repo, 'PUT', `/v2/${repo}/manifests/${reference}`, { 'content-type': mediaType }, data);
    expectStatus(res, 201, `push manifest ${repo}:${reference}`);
    const digest = sha256(data);
    const header = res.headers.get('docker-content-digest');
    if (header && header !== digest) throw new Error(`registry stored ${repo}:${reference} as ${header}, expected ${digest}`);
    return { digest, ociSubject: res.headers.get('oci-subject') ?? undefined };
  }

  /** A small deterministic image (config + one gzip tar layer) for `seed` (default `repo:tag`). */
  async pushRandomImage(repo: string, tag: string, o: { format?: 'oci' | 'docker'; seed?: string; platform?: { architecture: string; os: string } } = {}): Promise<PushedImage> {
    const seed = o.seed ?? `${repo}:${tag}`;
    const platform = o.platform ?? { architecture: 'amd64', os: 'linux' };
    const docker = o.format === 'docker';
    const tar = tarWithOneFile('hello.txt', Buffer.from(`imprimatur test image ${seed}\n`));
    const layerBytes = gzipSync(tar);
    const configBytes = Buffer.from(JSON.stringify({ ...platform, config: { Labels: { seed } }, rootfs: { type: 'layers', diff_ids: [sha256(tar)] } }));
    const layer: PushedDescriptor = {
      mediaType: docker ? 'application/vnd.docker.image.rootfs.diff.tar.gzip' : 'application/vnd.oci.image.layer.v1.tar+gzip',
      digest: await this.pushBlob(repo, layerBytes),
      size: layerBytes.length,
    };
    const config: PushedDescriptor = {
      mediaType: docker ? 'application/vnd.docker.container.image.v1+json' : 'application/vnd.oci.image.config.v1+json',
      digest: await this.pushBlob(repo, configBytes),
      size: configBytes.length,
    };
    const mediaType = docker ? DOCKER_MANIFEST : OCI_MANIFEST;
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, config, layers: [layer] }));
    const digest = await this.pushManifest(repo, tag, manifest, mediaType);
    return { digest, manifest, mediaType, size: manifest.length, config, layers: [layer], descriptor: { mediaType, digest, size: manifest.length, platform } };
  }

  /** An index (OCI, or a Docker manifest list) over already pushed manifests. */
  async pushIndex(repo: string, tag: string, manifests: PushedDescriptor[], format: 'oci' | 'docker' = 'oci'): Promise<{ digest: string; body: Buffer; mediaType: string }> {
    const mediaType = format === 'docker' ? DOCKER_MANIFEST_LIST : OCI_INDEX;
    const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, manifests }));
    return { digest: await this.pushManifest(repo, tag, body, mediaType), body, mediaType };
  }

  /**
   * An OCI 1.1 artifact referring to `subject`, pushed the way OCI 1.1 clients do: a registry with the referrers API
   * answers the manifest PUT with `OCI-Subject` and indexes it itself; otherwise (distribution 2.8) the client adds
   * the artifact to the referrers tag schema index (`sha256-<hex>`).
   */
  async pushReferrer(repo: string, subject: PushedDescriptor, artifactType: string, payload: Buffer | string, annotations?: Record<string, string>): Promise<PushedDescriptor> {
    const data = Buffer.from(payload);
    const layer = { mediaType: artifactType, digest: await this.pushBlob(repo, data), size: data.length };
    const emptyConfig = Buffer.from('{}');
    const config = { mediaType: 'application/vnd.oci.empty.v1+json', digest: await this.pushBlob(repo, emptyConfig), size: emptyConfig.length };
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType, config, layers: [layer],
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size }, ...(annotations ? { annotations } : {}),
    }));
    const { digest, ociSubject } = await this.putManifest(repo, sha256(manifest), manifest, OCI_MANIFEST);
    const descriptor: PushedDescriptor = { mediaType: OCI_MANIFEST, digest, size: manifest.length, artifactType, ...(annotations ? { annotations } : {}) };
    if (ociSubject === subject.digest) return descriptor;
    const tag = digestTag(subject.digest);
    const existing = await this.call(repo, 'GET', `/v2/${repo}/manifests/${tag}`, { accept: OCI_INDEX });
    const current = existing.status === 200 ? ((await existing.json()) as { manifests: PushedDescriptor[] }).manifests : (await existing.arrayBuffer(), []);
    await this.pushIndex(repo, tag, [...current, descriptor]);
    return descriptor;
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private async call(repo: string, method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<Awaited<ReturnType<typeof fetch>>> {
    const url = new URL(path, this.baseUrl);
    const send = (authorization?: string): ReturnType<typeof fetch> =>
      fetch(url, { method, headers: { ...headers, ...(authorization ? { authorization } : {}) }, body, dispatcher: this.agent });
    const cachedToken = this.tokens.get(repo);
    let res = await send(cachedToken ? `Bearer ${cachedToken}` : this.basic());
    if (res.status !== 401) return res;
    await res.arrayBuffer();
    const challenge = res.headers.get('www-authenticate') ?? '';
    if (!/^bearer /i.test(challenge)) throw new Error(`registry refused the test credentials for ${method} ${path}: ${challenge}`);
    const realm = /realm="([^"]+)"/.exec(challenge)?.[1];
    const service = /service="([^"]+)"/.exec(challenge)?.[1];
    const tokenUrl = new URL(realm!);
    if (service) tokenUrl.searchParams.set('service', service);
    tokenUrl.searchParams.set('scope', `repository:${repo}:pull,push`);
    const tokenRes = await fetch(tokenUrl, { headers: this.basic() ? { authorization: this.basic()! } : {}, dispatcher: this.agent });
    if (tokenRes.status !== 200) throw new Error(`token service refused the test credentials (HTTP ${tokenRes.status})`);
    const token = ((await tokenRes.json()) as { token: string }).token;
    this.tokens.set(repo, token);
    res = await send(`Bearer ${token}`);
    return res;
  }

  private basic(): string | undefined {
    const u = this.opts.user;
    return u ? `Basic ${Buffer.from(`${u.user}:${u.password}`).toString('base64')}` : undefined;
  }
}

export function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

function digestTag(digest: string): string {
  return digest.replace(':', '-');
}

function expectStatus(res: { status: number }, expected: number, what: string): void {
  if (res.status !== expected) throw new Error(`could not ${what}: registry answered HTTP ${res.status}, expected ${expected}`);
}

/** A POSIX ustar archive with one regular file, mtime 0, owner 0:0 (deterministic bytes). */
function tarWithOneFile(name: string, content: Buffer): Buffer {
  const header = Buffer.alloc(512, 0);
  const put = (value: string, offset: number, length: number): void => {
    header.write(value, offset, Math.min(length, Buffer.byteLength(value)), 'ascii');
  };
  const octal = (n: number, length: number): string => `${n.toString(8).padStart(length - 1, '0')}\0`;
  put(name, 0, 100);
  put(octal(0o644, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(content.length, 12), 124, 12);
  put(octal(0, 12), 136, 12);
  put('        ', 148, 8);
  put('0', 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  let sum = 0;
  for (const byte of header) sum += byte;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  const padding = Buffer.alloc((512 - (content.length % 512)) % 512, 0);
  return Buffer.concat([header, content, padding, Buffer.alloc(1024, 0)]);
}
