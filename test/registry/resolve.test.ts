import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { ImprimaturError } from '../../src/errors.js';
import { createRegistryClient, MAX_MANIFEST_BYTES } from '../../src/registry/client.js';
import type { RegistryClient, RepositoryRef } from '../../src/registry/types.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { deadline } from '../support/failures.js';

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('registry client: manifests against a real registry (plain HTTP, listed as insecure)', () => {
  let registry: TestRegistry;
  let client: RegistryClient;
  let repo: RepositoryRef;

  before(async () => {
    registry = await startRegistry();
    client = createRegistryClient({ insecureRegistries: [registry.host] });
    repo = { registry: registry.host, repository: 'team/app' };
  });
  after(async () => {
    await client?.close();
    await registry?.stop();
  });

  it('resolves a tag of an OCI manifest to the digest of its bytes', async () => {
    const image = await registry.pushRandomImage('team/app', 'oci-1');
    const digest = await client.resolveDigest(repo, 'oci-1', deadline());
    expect(digest).to.equal(image.digest);
    expect(digest).to.equal(sha256(image.manifest));
  });

  it('resolves a tag of a Docker v2 manifest', async () => {
    const image = await registry.pushRandomImage('team/app', 'docker-1', { format: 'docker' });
    expect(await client.resolveDigest(repo, 'docker-1', deadline())).to.equal(image.digest);
    const fetched = await client.getManifest(repo, 'docker-1', deadline());
    expect(fetched.mediaType).to.equal('application/vnd.docker.distribution.manifest.v2+json');
    expect(fetched.body.equals(image.manifest)).to.equal(true);
  });

  it('resolves a multi-arch tag to the digest of the index (as cosign does), for OCI and Docker lists', async () => {
    const amd = await registry.pushRandomImage('team/app', 'amd64', { platform: { architecture: 'amd64', os: 'linux' } });
    const arm = await registry.pushRandomImage('team/app', 'arm64', { platform: { architecture: 'arm64', os: 'linux' } });
    const oci = await registry.pushIndex('team/app', 'multi', [amd.descriptor, arm.descriptor]);
    const list = await registry.pushIndex('team/app', 'multi-docker', [amd.descriptor, arm.descriptor], 'docker');
    expect(await client.resolveDigest(repo, 'multi', deadline())).to.equal(oci.digest);
    expect(await client.resolveDigest(repo, 'multi-docker', deadline())).to.equal(list.digest);
    const index = await client.getManifest(repo, 'multi', deadline());
    expect(index.mediaType).to.equal('application/vnd.oci.image.index.v1+json');
    expect((index.json['manifests'] as unknown[]).length).to.equal(2);
  });

  it('checks that a digest reference exists and returns it', async () => {
    const image = await registry.pushRandomImage('team/app', 'by-digest');
    expect(await client.resolveDigest(repo, image.digest, deadline())).to.equal(image.digest);
    const fetched = await client.getManifest(repo, image.digest, deadline());
    expect(fetched.digest).to.equal(image.digest);
    expect(fetched.json['schemaVersion']).to.equal(2);
  });

  it('answers REGISTRY_NOT_FOUND with a sentence naming image and registry for a missing tag', async () => {
    const err = await client.resolveDigest(repo, 'no-such-tag', deadline()).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ImprimaturError);
    expect((err as ImprimaturError).code).to.equal('REGISTRY_NOT_FOUND');
    expect((err as ImprimaturError).message).to.equal(`image ${registry.host}/team/app:no-such-tag does not exist in registry ${registry.host}`);
  });

  it('answers REGISTRY_NOT_FOUND for a missing digest and a missing repository', async () => {
    const missing = `sha256:${'0'.repeat(64)}`;
    const err = await client.getManifest(repo, missing, deadline()).catch((e: unknown) => e);
    expect((err as ImprimaturError).code).to.equal('REGISTRY_NOT_FOUND');
    expect((err as ImprimaturError).message).to.contain(`@${missing} does not exist`);
    const err2 = await client.resolveDigest({ registry: registry.host, repository: 'nobody/here' }, 'latest', deadline()).catch((e: unknown) => e);
    expect((err2 as ImprimaturError).code).to.equal('REGISTRY_NOT_FOUND');
  });

  it('findManifest returns undefined for a missing tag (e.g. a .sig tag) and the manifest otherwise', async () => {
    const image = await registry.pushRandomImage('team/app', 'present');
    expect(await client.findManifest(repo, `${image.digest.replace(':', '-')}.sig`, deadline())).to.equal(undefined);
    expect((await client.findManifest(repo, 'present', deadline()))?.digest).to.equal(image.digest);
  });

  it('fetches blobs checked against the descriptor', async () => {
    const image = await registry.pushRandomImage('team/app', 'blobs');
    const config = await client.getBlob(repo, image.config, deadline());
    expect(sha256(config)).to.equal(image.config.digest);
    expect(JSON.parse(config.toString()).rootfs.type).to.equal('layers');
  });

  it('refuses a blob larger than its descriptor says (RESPONSE_TOO_LARGE)', async () => {
    const image = await registry.pushRandomImage('team/app', 'blob-short');
    const shorter = { ...image.config, size: image.config.size - 1 };
    const err = await client.getBlob(repo, shorter, deadline()).catch((e: unknown) => e);
    expect((err as ImprimaturError).code).to.equal('RESPONSE_TOO_LARGE');
  });

  it('refuses blob bytes that do not match the digest (DIGEST_MISMATCH)', async () => {
    const image = await registry.pushRandomImage('team/app', 'blob-lie');
    registry.front.setFault({ kind: 'lie' }, /\/blobs\//);
    try {
      const err = await client.getBlob(repo, image.config, deadline()).catch((e: unknown) => e);
      expect((err as ImprimaturError).code).to.equal('DIGEST_MISMATCH');
      expect((err as ImprimaturError).message).to.contain(image.config.digest);
      expect(registry.front.faultHits()).to.equal(1);
    } finally {
      registry.front.setFault(undefined);
    }
  });

  it('rejects a reference that is neither a tag nor a digest before any request', async () => {
    const before = registry.requestCount();
    const err = await client.resolveDigest(repo, '../../etc', deadline()).catch((e: unknown) => e);
    expect((err as ImprimaturError).code).to.equal('INVALID_REFERENCE');
    expect(registry.requestCount()).to.equal(before);
  });

  it('caps manifests at 4 MiB', () => {
    expect(MAX_MANIFEST_BYTES).to.equal(4 * 1024 * 1024);
  });
});
