/**
 * A hostile registry for the memory benchmark (issue 11, item 8): every image it serves resolves to a small valid
 * manifest, but every signature artifact is as large as a client accepts and every blob stalls.
 *
 * - `/v2/<repo>/manifests/<tag>` (HEAD, GET): a small OCI image manifest (valid digest);
 * - `/v2/<repo>/referrers/<digest>`: an OCI index of ~4 MiB listing many signature referrers;
 * - `/v2/<repo>/manifests/sha256-<hex>` (referrers tag schema) and `…/sha256-<hex>.sig`, `.att`, and every referrer
 *   manifest: ~4 MiB manifests whose layers claim to be simple-signing payloads and bundles with large annotations;
 * - `/v2/<repo>/blobs/<digest>`: answers 200 with a Content-Length and then never sends the body.
 *
 * Each image lives on its own origin (127.0.0.<n>:<port>), as an attacker would use many host names, so no
 * per-origin connection limit of the client throttles the attack.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const SIGNATURE_ARTIFACT = 'application/vnd.dev.cosign.artifact.sig.v1+json';
const BIG = 4 * 1024 * 1024 - 64 * 1024; // just under the client's 4 MiB manifest cap

const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function imageManifest(repo: string): Buffer {
  const config = Buffer.from(`{"architecture":"amd64","os":"linux","repo":"${repo}"}`);
  return Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
    layers: [],
  }));
}

/** ~4 MiB manifest of signature layers, each with a large signature annotation (what .sig / referrer manifests hold). */
function bigSignatureManifest(seed: string, subject?: string): Buffer {
  const annotation = 'A'.repeat(60 * 1024);
  const layers = [];
  let size = 0;
  for (let i = 0; size < BIG - 80 * 1024; i++) {
    const layer = {
      mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
      digest: sha256(`${seed}-${i}`), size: 200 * 1024,
      annotations: { 'dev.cosignproject.cosign/signature': annotation },
    };
    size += JSON.stringify(layer).length + 1;
    layers.push(layer);
  }
  return Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: SIGNATURE_ARTIFACT,
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256('{}'), size: 2 },
    layers, ...(subject ? { subject: { mediaType: OCI_MANIFEST, digest: subject, size: 1 } } : {}),
  }));
}

/** ~4 MiB index listing signature referrers (distinct digests, so each is fetched). */
function bigReferrersIndex(seed: string): Buffer {
  const manifests = [];
  let size = 0;
  for (let i = 0; size < BIG - 1024; i++) {
    const d = { mediaType: OCI_MANIFEST, artifactType: SIGNATURE_ARTIFACT, digest: sha256(`${seed}-ref-${i}`), size: BIG, annotations: { n: String(i) } };
    size += JSON.stringify(d).length + 1;
    manifests.push(d);
  }
  return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
}

export interface HostileRegistry {
  /** `127.0.0.<n>:<port>` of image n (0-based). */
  host(n: number): string;
  hosts: string[];
  /** Requests received, and blobs left stalled. */
  stats(): { requests: number; stalledBlobs: number };
  stop(): Promise<void>;
}

export async function startHostileRegistry(origins: number): Promise<HostileRegistry> {
  // Built once: every origin serves the same (large) bodies; only the image manifest differs per repository.
  const sig = bigSignatureManifest('sig');
  const referrers = bigReferrersIndex('idx');
  let requests = 0;
  let stalledBlobs = 0;
  const open = new Set<ServerResponse>();

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    requests++;
    const path = (req.url ?? '/').split('?')[0]!;
    const send = (status: number, type: string, body: Buffer, digest?: string) => {
      res.writeHead(status, { 'content-type': type, 'content-length': String(body.length), ...(digest ? { 'docker-content-digest': digest } : {}) });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (path === '/v2/' || path === '/v2') return send(200, 'application/json', Buffer.from('{}'));
    const m = /^\/v2\/(.+)\/(manifests|blobs|referrers)\/(.+)$/.exec(path);
    if (!m) return send(404, 'application/json', Buffer.from('{"errors":[{"code":"NAME_UNKNOWN"}]}'));
    const [, repo, kind, ref] = m as unknown as [string, string, string, string];
    if (kind === 'blobs') {
      // headers, then nothing: the client waits for a body that never comes
      stalledBlobs++;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(200 * 1024) });
      res.flushHeaders();
      open.add(res);
      res.once('close', () => open.delete(res));
      return;
    }
    if (kind === 'referrers') return send(200, OCI_INDEX, referrers);
    if (/^sha256-[0-9a-f]{64}$/.test(ref)) return send(200, OCI_INDEX, referrers, sha256(referrers));
    if (/\.(sig|att)$/.test(ref) || ref.startsWith('sha256:')) {
      // .sig/.att tags and every referrer manifest fetched by digest: the big signature manifest
      const body = ref.startsWith('sha256:') && ref !== sha256(imageManifest(repo)) ? sig : ref.startsWith('sha256:') ? imageManifest(repo) : sig;
      return send(200, OCI_MANIFEST, body, sha256(body));
    }
    const manifest = imageManifest(repo);
    return send(200, OCI_MANIFEST, manifest, sha256(manifest));
  };

  const servers: Server[] = [];
  let port = 0;
  for (let n = 0; n < origins; n++) {
    const server = createServer(handler);
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, `127.0.0.${n + 2}`, () => resolve());
    });
    port = (server.address() as AddressInfo).port; // every origin on the same port, its own address
    servers.push(server);
  }
  const hosts = servers.map((s) => `${(s.address() as AddressInfo).address}:${port}`);
  return {
    host: (n) => hosts[n]!,
    hosts,
    stats: () => ({ requests, stalledBlobs }),
    async stop() {
      for (const res of open) res.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      })));
    },
  };
}
