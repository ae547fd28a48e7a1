import { expect } from 'chai';
import { createRegistryClient } from '../../src/registry/client.js';
import type { RegistryClient, RepositoryRef } from '../../src/registry/types.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { deadline, failure } from '../support/failures.js';


describe('registry client: a misbehaving registry', () => {
  let registry: TestRegistry;
  let client: RegistryClient;
  let repo: RepositoryRef;
  let digest: string;

  before(async () => {
    registry = await startRegistry();
    client = createRegistryClient({ insecureRegistries: [registry.host], requestTimeoutMs: 1000, retry: { baseDelayMs: 50, maxDelayMs: 1500 } });
    repo = { registry: registry.host, repository: 'faulty/app' };
    digest = (await registry.pushRandomImage('faulty/app', '1.0')).digest;
  });
  afterEach(() => registry.front.setFault(undefined));
  after(async () => {
    await client?.close();
    await registry?.stop();
  });

  it('retries after 429 (honouring Retry-After) and then succeeds', async () => {
    registry.front.setFault({ kind: 'rateLimit', times: 2, retryAfterSeconds: 1 });
    const started = Date.now();
    expect(await client.resolveDigest(repo, '1.0', deadline())).to.equal(digest);
    expect(registry.front.faultHits()).to.equal(2);
    expect(Date.now() - started).to.be.at.least(1900); // waited the two Retry-After seconds
  });

  it('gives up with REGISTRY_RATE_LIMITED when Retry-After is longer than it may wait', async () => {
    registry.front.setFault({ kind: 'rateLimit', times: 10, retryAfterSeconds: 120 });
    const started = Date.now();
    const err = await failure(client.resolveDigest(repo, '1.0', deadline()));
    expect(err.code).to.equal('REGISTRY_RATE_LIMITED');
    expect(err.message).to.contain('retry after 120 s');
    expect(registry.front.faultHits()).to.equal(1);
    expect(Date.now() - started).to.be.below(1000);
  });

  it('retries 429 without Retry-After a bounded number of times (exponential backoff)', async () => {
    registry.front.setFault({ kind: 'rateLimit', times: 10 });
    const err = await failure(client.resolveDigest(repo, '1.0', deadline()));
    expect(err.code).to.equal('REGISTRY_RATE_LIMITED');
    expect(err.message).to.equal(`registry ${registry.host} is rate limiting requests (HTTP 429 after 3 attempts)`);
    expect(registry.front.faultHits()).to.equal(3);
  });

  it('never waits past the caller\'s deadline while backing off', async () => {
    registry.front.setFault({ kind: 'rateLimit', times: 10, retryAfterSeconds: 1 });
    const started = Date.now();
    const err = await failure(client.resolveDigest(repo, '1.0', deadline(300)));
    expect(err.code).to.equal('REGISTRY_TIMEOUT');
    expect(Date.now() - started).to.be.below(900);
  });

  it('retries a 503 and succeeds; persistent 5xx → REGISTRY_UNREACHABLE after the attempts', async () => {
    registry.front.setFault({ kind: 'serverError', times: 1 });
    expect(await client.resolveDigest(repo, '1.0', deadline())).to.equal(digest);
    registry.front.setFault({ kind: 'serverError', times: 10, status: 502 });
    const err = await failure(client.resolveDigest(repo, '1.0', deadline()));
    expect(err.code).to.equal('REGISTRY_UNREACHABLE');
    expect(err.message).to.equal(`registry ${registry.host} is unavailable (HTTP 502 after 3 attempts)`);
  });

  it('retries a connection reset', async () => {
    registry.front.setFault({ kind: 'reset', times: 1 });
    expect(await client.resolveDigest(repo, '1.0', deadline())).to.equal(digest);
    expect(registry.front.faultHits()).to.equal(1);
  });

  it('a hanging registry → REGISTRY_TIMEOUT after the per-request timeout', async () => {
    registry.front.setFault({ kind: 'hang' });
    const started = Date.now();
    const err = await failure(client.resolveDigest(repo, '1.0', deadline()));
    expect(err.code).to.equal('REGISTRY_TIMEOUT');
    expect(err.message).to.equal(`registry ${registry.host} did not answer within 1 s (timeout)`);
    expect(Date.now() - started).to.be.within(900, 3000);
  });

  it('a hanging registry → REGISTRY_TIMEOUT at the caller\'s deadline when that comes first', async () => {
    registry.front.setFault({ kind: 'hang' });
    const started = Date.now();
    const err = await failure(client.getManifest(repo, '1.0', deadline(250)));
    expect(err.code).to.equal('REGISTRY_TIMEOUT');
    expect(err.message).to.contain('before the admission deadline');
    expect(Date.now() - started).to.be.below(800);
  });

  it('the caller\'s deadline also bounds a client with the default 5 s request timeout', async () => {
    const c = createRegistryClient({ insecureRegistries: [registry.host] });
    registry.front.setFault({ kind: 'hang' });
    try {
      const started = Date.now();
      const err = await failure(c.resolveDigest(repo, '1.0', deadline(200)));
      expect(err.code).to.equal('REGISTRY_TIMEOUT');
      expect(err.message).to.contain('before the admission deadline');
      expect(Date.now() - started).to.be.below(1000);
    } finally {
      await c.close();
    }
  });

  it('a manifest whose bytes differ from the requested digest → DIGEST_MISMATCH', async () => {
    registry.front.setFault({ kind: 'lie' });
    const err = await failure(client.getManifest(repo, digest, deadline()));
    expect(err.code).to.equal('DIGEST_MISMATCH');
    expect(err.message).to.contain(digest);
  });

  it('a manifest fetched by tag whose bytes disagree with Docker-Content-Digest → DIGEST_MISMATCH', async () => {
    registry.front.setFault({ kind: 'lie' });
    const err = await failure(client.getManifest(repo, '1.0', deadline()));
    expect(err.code).to.equal('DIGEST_MISMATCH');
  });

  it('an oversized manifest → RESPONSE_TOO_LARGE, declared by Content-Length or streamed', async () => {
    registry.front.setFault({ kind: 'oversize', bytes: 5 * 1024 * 1024, declareLength: true });
    const declared = await failure(client.getManifest(repo, '1.0', deadline()));
    expect(declared.code).to.equal('RESPONSE_TOO_LARGE');
    expect(declared.message).to.contain('more than 4 MiB');
    registry.front.setFault({ kind: 'oversize', bytes: 5 * 1024 * 1024, declareLength: false });
    const streamed = await failure(client.getManifest(repo, '1.0', deadline()));
    expect(streamed.code).to.equal('RESPONSE_TOO_LARGE');
  });

  it('a registry that is down → REGISTRY_UNREACHABLE (connection refused); it works again after a restart', async () => {
    await registry.stop();
    try {
      const err = await failure(client.resolveDigest(repo, '1.0', deadline()));
      expect(err.code).to.equal('REGISTRY_UNREACHABLE');
      expect(err.message).to.equal(`registry ${registry.host} is unreachable (connection refused)`);
    } finally {
      await registry.restart();
    }
    expect(await client.resolveDigest(repo, '1.0', deadline())).to.equal(digest);
  });

  it('counts every request that reaches the registry (requestCount)', async () => {
    const before = registry.requestCount();
    await client.getManifest(repo, '1.0', deadline());
    await client.resolveDigest(repo, '1.0', deadline());
    expect(registry.requestCount() - before).to.equal(2);
  });
});
