import { expect } from 'chai';
import { createRegistryClient } from '../../src/registry/client.js';
import type { RegistryClient, RepositoryRef } from '../../src/registry/types.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import type { PushedImage } from '../harness/registry-push.js';
import { deadline } from '../support/failures.js';

const BUNDLE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const SBOM = 'application/spdx+json';

for (const referrersApi of [false, true]) {
  describe(`registry client: referrers ${referrersApi ? 'through the OCI 1.1 referrers API' : 'through the referrers tag schema (distribution 2.8)'}`, () => {
    let registry: TestRegistry;
    let client: RegistryClient;
    let repo: RepositoryRef;
    let image: PushedImage;
    let bundle: { digest: string };
    let sbom: { digest: string };

    before(async () => {
      registry = await startRegistry({ referrersApi });
      client = createRegistryClient({ insecureRegistries: [registry.host] });
      repo = { registry: registry.host, repository: 'ref/app' };
      image = await registry.pushRandomImage('ref/app', '1.0');
      bundle = await registry.pushReferrer('ref/app', image.descriptor, BUNDLE, '{"bundle":1}');
      sbom = await registry.pushReferrer('ref/app', image.descriptor, SBOM, '{"spdx":1}');
    });
    after(async () => {
      await client?.close();
      await registry?.stop();
    });

    it('lists every referrer of a digest', async () => {
      const before = registry.requestCount();
      const referrers = await client.getReferrers(repo, image.digest, deadline());
      expect(referrers.map((d) => d.digest)).to.have.members([bundle.digest, sbom.digest]);
      expect(registry.front.referrersApiHits()).to.equal(referrersApi ? 1 : 0);
      // with the API: one call; without: the 404 of the missing route, then the sha256-<hex> tag
      expect(registry.requestCount() - before).to.equal(referrersApi ? 1 : 2);
    });

    it('filters by artifactType', async () => {
      const referrers = await client.getReferrers(repo, image.digest, deadline(), BUNDLE);
      expect(referrers.map((d) => d.digest)).to.deep.equal([bundle.digest]);
      expect(referrers[0]!.artifactType).to.equal(BUNDLE);
    });

    it('the referrer manifests can be fetched by digest', async () => {
      const [ref] = await client.getReferrers(repo, image.digest, deadline(), SBOM);
      const manifest = await client.getManifest(repo, ref!.digest, deadline());
      expect((manifest.json['subject'] as { digest: string }).digest).to.equal(image.digest);
    });

    it('answers an empty list for a digest without referrers', async () => {
      const lonely = await registry.pushRandomImage('ref/app', 'lonely');
      expect(await client.getReferrers(repo, lonely.digest, deadline())).to.deep.equal([]);
    });
  });
}
