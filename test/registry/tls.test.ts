import { expect } from 'chai';
import { createRegistryClient } from '../../src/registry/client.js';
import { createHttpTransport } from '../../src/registry/http.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { deadline, failure } from '../support/failures.js';


describe('registry client: TLS and the insecure-registry list', () => {
  let tlsRegistry: TestRegistry;
  let plainRegistry: TestRegistry;
  let digest: string;

  before(async () => {
    [tlsRegistry, plainRegistry] = await Promise.all([startRegistry({ tls: true }), startRegistry()]);
    digest = (await tlsRegistry.pushRandomImage('secure/app', '1.0')).digest;
    await plainRegistry.pushRandomImage('plain/app', '1.0');
  });
  after(async () => {
    await Promise.all([tlsRegistry?.stop(), plainRegistry?.stop()]);
  });

  it('reaches an HTTPS registry whose certificate comes from the CA given in `ca`', async () => {
    const client = createRegistryClient({ insecureRegistries: [], ca: tlsRegistry.caPem });
    try {
      expect(await client.resolveDigest({ registry: tlsRegistry.host, repository: 'secure/app' }, '1.0', deadline())).to.equal(digest);
    } finally {
      await client.close();
    }
  });

  it('refuses the same registry without the CA (REGISTRY_TLS), verifying certificates by default', async () => {
    const client = createRegistryClient({ insecureRegistries: [] });
    try {
      const err = await failure(client.resolveDigest({ registry: tlsRegistry.host, repository: 'secure/app' }, '1.0', deadline()));
      expect(err.code).to.equal('REGISTRY_TLS');
      expect(err.message).to.contain(`registry ${tlsRegistry.host}`);
      expect(err.message).to.contain('not trusted');
      // One name for the CA everywhere: the validator key is `cert` (issue 19 item 8).
      expect(err.message).to.contain(`add the CA that issued it (PEM) to the validator's "cert"`);
    } finally {
      await client.close();
    }
  });

  it('refuses a plain-HTTP registry that is not in insecureRegistries (it is tried over HTTPS only)', async () => {
    const client = createRegistryClient({ insecureRegistries: [] });
    try {
      const err = await failure(client.resolveDigest({ registry: plainRegistry.host, repository: 'plain/app' }, '1.0', deadline()));
      expect(err.code).to.equal('REGISTRY_TLS');
      expect(err.message).to.contain('insecureRegistries');
    } finally {
      await client.close();
    }
  });

  it('reaches the plain-HTTP registry once it is listed as host:port', async () => {
    const client = createRegistryClient({ insecureRegistries: [plainRegistry.host] });
    try {
      const d = await client.resolveDigest({ registry: plainRegistry.host, repository: 'plain/app' }, '1.0', deadline());
      expect(d).to.match(/^sha256:[a-f0-9]{64}$/);
    } finally {
      await client.close();
    }
  });

  it('never sends an http:// URL to a host that is not listed, not even one request', async () => {
    const transport = createHttpTransport({ insecureRegistries: ['127.0.0.1:1'] });
    const before = plainRegistry.requestCount();
    try {
      const err = await failure(transport.get(`${plainRegistry.url}/v2/`, { signal: deadline(), maxBytes: 1024 }));
      expect(err.code).to.equal('REGISTRY_TLS');
      expect(err.message).to.contain('refusing plain HTTP');
      expect(plainRegistry.requestCount()).to.equal(before);
    } finally {
      await transport.close();
    }
  });
});
