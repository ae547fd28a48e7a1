/**
 * A static, read-only OCI registry serving files from a directory laid out as
 * `<repo>/manifests/<tag>.json` and `<repo>/blobs/<digest>.json` (the cosign test vectors).
 * Manifests are served byte-exact (so their sha256 is their digest), by tag or by digest, with
 * `Docker-Content-Digest`. Anything else answers 404, like a registry without the referrers API.
 * `override(path, body)` serves other bytes for one URL path (a lying registry).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';

export interface FixtureRegistry {
  /** `127.0.0.1:<port>` */
  host: string;
  /** Adds a manifest (by tag) at run time, e.g. a placeholder image. */
  addManifest(repository: string, tag: string, body: Buffer): string;
  /** Serve `body` instead for requests to `path`; `clearOverrides()` undoes every override. */
  override(path: string, body: Buffer): void;
  clearOverrides(): void;
  close(): Promise<void>;
}

interface Entry {
  body: Buffer;
  mediaType: string;
}

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function mediaTypeOf(body: Buffer): string {
  try {
    const mt = (JSON.parse(body.toString('utf8')) as { mediaType?: unknown }).mediaType;
    return typeof mt === 'string' ? mt : 'application/vnd.oci.image.manifest.v1+json';
  } catch {
    return 'application/octet-stream';
  }
}

/** Serves every repository found below `root` (a repository is a directory holding `manifests/`). */
export async function startFixtureRegistry(root: string, repositories: string[]): Promise<FixtureRegistry> {
  const manifests = new Map<string, Entry>(); // `<repo>/<tag or digest>`
  const blobs = new Map<string, Buffer>(); // `<repo>/<digest>`
  const overrides = new Map<string, Buffer>();
  const addManifest = (repo: string, tag: string, body: Buffer): string => {
    const entry = { body, mediaType: mediaTypeOf(body) };
    const digest = sha256(body);
    manifests.set(`${repo}/${tag}`, entry);
    manifests.set(`${repo}/${digest}`, entry);
    return digest;
  };
  for (const repo of repositories) {
    const mdir = join(root, repo, 'manifests');
    for (const file of readdirSync(mdir)) addManifest(repo, file.replace(/\.json$/, ''), readFileSync(join(mdir, file)));
    const bdir = join(root, repo, 'blobs');
    if (existsSync(bdir)) for (const file of readdirSync(bdir)) blobs.set(`${repo}/${file.replace(/\.json$/, '')}`, readFileSync(join(bdir, file)));
  }

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const send = (status: number, body: Buffer, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-length': String(body.length), ...headers });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (path === '/v2/' || path === '/v2') return send(200, Buffer.from('{}'), { 'content-type': 'application/json' });
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(path);
    const notFound = (): void => send(404, Buffer.from('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"not found"}]}'), { 'content-type': 'application/json' });
    if (!m) return notFound();
    const [, repo, kind, ref] = m as unknown as [string, string, string, string];
    if (kind === 'manifests') {
      const entry = manifests.get(`${repo}/${ref}`);
      if (!entry) return notFound();
      const body = overrides.get(path) ?? entry.body;
      return send(200, body, { 'content-type': entry.mediaType, 'docker-content-digest': sha256(entry.body) });
    }
    const blob = blobs.get(`${repo}/${ref}`);
    if (!blob) return notFound();
    return send(200, overrides.get(path) ?? blob, { 'content-type': 'application/octet-stream', 'docker-content-digest': ref });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('fixture registry has no address');
  return {
    host: `127.0.0.1:${address.port}`,
    addManifest,
    override: (path, body) => void overrides.set(path, body),
    clearOverrides: () => overrides.clear(),
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
