import { expect } from 'chai';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpTransport } from '../../src/registry/http.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { deadline } from '../support/failures.js';


async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('HttpTransport (shared with the Notary client)', () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry({ htpasswd: { user: 'u', password: 'p' } });
  });
  after(() => registry?.stop());

  it('hands 404 answers to the caller instead of throwing', async () => {
    const transport = createHttpTransport({ insecureRegistries: [registry.host], username: 'u', password: 'p', registries: [registry.host] });
    try {
      const res = await transport.get(`${registry.url}/v2/some/repo/manifests/missing`, {
        signal: deadline(),
        maxBytes: 65536,
        scope: 'repository:some/repo:pull',
        accept: ['application/vnd.oci.image.manifest.v1+json'],
      });
      expect(res.status).to.equal(404);
      expect(JSON.parse(res.body.toString()).errors[0].code).to.equal('MANIFEST_UNKNOWN');
    } finally {
      await transport.close();
    }
  });

  it('follows a redirect to another host without forwarding the credentials', async () => {
    let seen: IncomingHttpHeaders | undefined;
    const storage = createServer((req, res) => {
      seen = req.headers;
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end('blob-bytes');
    });
    const storageHost = await listen(storage);
    const front = createServer((req, res) => {
      if (!req.headers.authorization) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end();
        return;
      }
      res.writeHead(307, { location: `http://${storageHost}/bucket/blob?signature=x` }).end();
    });
    const frontHost = await listen(front);
    const transport = createHttpTransport({ insecureRegistries: [frontHost, storageHost], username: 'u', password: 'secret', registries: [frontHost] });
    try {
      const res = await transport.get(`http://${frontHost}/v2/a/b/blobs/sha256:${'1'.repeat(64)}`, { signal: deadline(), maxBytes: 100 });
      expect(res.status).to.equal(200);
      expect(res.body.toString()).to.equal('blob-bytes');
      expect(seen, 'the storage server was reached').to.not.equal(undefined);
      expect(seen!.authorization).to.equal(undefined);
    } finally {
      await transport.close();
      storage.close();
      front.close();
    }
  });

  it('refuses a redirect to plain HTTP on a host not in insecureRegistries', async () => {
    const front = createServer((_req, res) => {
      res.writeHead(302, { location: 'http://127.0.0.1:9/elsewhere' }).end();
    });
    const frontHost = await listen(front);
    const transport = createHttpTransport({ insecureRegistries: [frontHost] });
    try {
      const err = await transport.get(`http://${frontHost}/v2/`, { signal: deadline(), maxBytes: 100 }).catch((e: unknown) => e);
      expect((err as { code: string }).code).to.equal('REGISTRY_TLS');
      expect((err as Error).message).to.contain('refusing plain HTTP to 127.0.0.1:9');
    } finally {
      await transport.close();
      front.close();
    }
  });
});
