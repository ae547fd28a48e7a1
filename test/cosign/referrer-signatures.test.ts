/**
 * cosign signatures stored as OCI 1.1 referrers (`cosign sign --registry-referrers-mode=oci-1-1`, how
 * Docker signs Docker Hardened Images), laid out exactly as cosign's WriteSignaturesExperimentalOCI
 * writes them, on real registries: Debian's docker-registry 2.8 (referrers tag schema) and olareg
 * (the OCI 1.1 referrers API). Key-based and keyless, thresholds across all three formats, and
 * a registry that lies.
 */
import { expect } from 'chai';
import { fetch } from 'undici';
import { parseImageReference } from '../../src/image/reference.js';
import type { ValidatorConfig } from '../../src/config/types.js';
import {
  addToReferrersIndex, classicLayer, dsseBundle, generateTestKey, pushBundle, pushSignatureReferrer, signImage,
  type TestKey,
} from '../harness/cosign-signing.js';
import { startHttpFront, type HttpFront } from '../harness/http-front.js';
import { startMockSigstore, type MockSigstore } from '../harness/sigstore-mock.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { closeValidators, createValidator, ctx, denial, keyConfig, recordOf, rule, keyRule } from './helpers.js';

describe('cosign validator: signatures stored as OCI 1.1 referrers', function () {
  this.timeout(60_000);
  let registry: TestRegistry; // distribution 2.8: found through the referrers tag schema
  let withApi: TestRegistry; // olareg: serves the OCI 1.1 referrers API
  let sigstore: MockSigstore;
  const alice: TestKey = generateTestKey('ecdsa-p256');
  const bob: TestKey = generateTestKey('ecdsa-p256');
  const carol: TestKey = generateTestKey('ecdsa-p256');
  const validator = (r: TestRegistry, extra: Record<string, unknown> = {}) =>
    createValidator(keyConfig({ alice: alice.publicPem, bob: bob.publicPem, carol: carol.publicPem }, extra), [r.host]);
  const image = (r: TestRegistry, repo: string, tag = 'v1') => parseImageReference(`${r.host}/${repo}:${tag}`);
  const layerFor = (r: TestRegistry, repo: string, digest: string, ...keys: TestKey[]) => keys.map((k) => classicLayer(k, digest, `${r.host}/${repo}`));

  before(async () => {
    [registry, withApi, sigstore] = await Promise.all([startRegistry(), startRegistry({ referrersApi: true }), startMockSigstore()]);
  });
  after(async () => {
    await closeValidators();
    await Promise.all([registry?.stop(), withApi?.stop(), sigstore?.stop()]);
  });

  describe('found and verified', () => {
    it('admits a key-based signature written as cosign 3 writes it, found through the referrers tag schema', async () => {
      const repo = 'oci11/v3';
      const img = await registry.pushRandomImage(repo, 'v1');
      const referrer = await pushSignatureReferrer(registry, repo, img.descriptor, layerFor(registry, repo, img.digest, alice));
      const outcome = await validator(registry).validate(image(registry, repo), keyRule('alice'), ctx());
      expect(outcome.digest).to.equal(img.digest);
      const record = recordOf(outcome);
      const root = record.trustRoots[0]!;
      expect(root.found).to.equal('0 classic signature(s), 1 OCI 1.1 referrer signature(s), 0 bundle(s)');
      expect(root.verifiedBy).to.have.length(1);
      expect(root.verifiedBy[0]).to.match(/^referrer sha256:[0-9a-f]{12}… layer 0 \(ecdsa-sha256\)$/);
      expect(root.attempts[0]).to.include({ verified: true, format: 'OCI 1.1 referrer signature' });
      expect(record.referrerSignatures).to.deep.equal({ manifests: [referrer.digest], found: 1, skipped: [] });
      expect(record.verifiedFormats).to.deep.equal(['OCI 1.1 referrer signature']);
      expect(record.summary).to.equal(`${registry.host}/${repo}:v1 (${img.digest}) is signed by: alice (via OCI 1.1 referrer signature)`);
    });

    it('admits the cosign 2 layout (artifact type only in the config media type)', async () => {
      const repo = 'oci11/v2';
      const img = await registry.pushRandomImage(repo, 'v1');
      await pushSignatureReferrer(registry, repo, img.descriptor, layerFor(registry, repo, img.digest, alice), { cosign: 'v2' });
      const outcome = await validator(registry).validate(image(registry, repo), keyRule('alice'), ctx());
      expect(outcome.digest).to.equal(img.digest);
    });

    it('finds the signature through the OCI 1.1 referrers API', async () => {
      const repo = 'oci11/api';
      const img = await withApi.pushRandomImage(repo, 'v1');
      await pushSignatureReferrer(withApi, repo, img.descriptor, layerFor(withApi, repo, img.digest, alice));
      expect(withApi.server).to.equal('olareg');
      // the registry indexed the referrer itself: there is no tag schema index the fallback could have read
      const tagged = await fetch(`${withApi.directUrl}/v2/${repo}/manifests/${img.digest.replace(':', '-')}`, { headers: { accept: 'application/vnd.oci.image.index.v1+json' } });
      expect(tagged.status).to.equal(404);
      const before = withApi.front.referrersApiHits();
      const outcome = await validator(withApi).validate(image(withApi, repo), keyRule('alice'), ctx());
      expect(outcome.digest).to.equal(img.digest);
      expect(withApi.front.referrersApiHits()).to.equal(before + 1);
      expect(recordOf(outcome).verifiedFormats).to.deep.equal(['OCI 1.1 referrer signature']);
    });

    it('signs the index digest of a multi-arch image (what cosign signs and the runtime pulls)', async () => {
      const repo = 'oci11/multiarch';
      const amd = await registry.pushRandomImage(repo, 'amd64', { platform: { architecture: 'amd64', os: 'linux' } });
      const arm = await registry.pushRandomImage(repo, 'arm64', { platform: { architecture: 'arm64', os: 'linux' } });
      const index = await registry.pushIndex(repo, 'v1', [amd.descriptor, arm.descriptor]);
      const subject = { mediaType: index.mediaType, digest: index.digest, size: index.body.length };
      await pushSignatureReferrer(registry, repo, subject, layerFor(registry, repo, index.digest, alice));
      expect((await validator(registry).validate(image(registry, repo), keyRule('alice'), ctx())).digest).to.equal(index.digest);
      // an architecture's manifest is another image: not signed
      const err = await denial(validator(registry).validate(image(registry, repo, 'amd64'), keyRule('alice'), ctx()));
      expect(err.code).to.equal('NO_SIGNATURES');
    });

    it('admits a keyless signature (certificate, chain, Rekor bundle in the layer annotations), verified offline', async () => {
      const repo = 'oci11/keyless';
      const img = await registry.pushRandomImage(repo, 'v1');
      const identity = { subject: 'release@example.com', issuer: 'https://accounts.example.com' };
      const layer = await sigstore.classicKeyless(identity, img.digest, `${registry.host}/${repo}`);
      await pushSignatureReferrer(registry, repo, img.descriptor, [layer]);
      const config: ValidatorConfig = { name: 'keyless', type: 'cosign', host: { trustedRoot: JSON.stringify(sigstore.trustedRoot) }, trustRoots: [{ name: 'release', keyless: identity }] };
      const outcome = await createValidator(config, [registry.host]).validate(image(registry, repo), rule('release'), ctx());
      const attempt = recordOf(outcome).trustRoots[0]!.attempts[0]!;
      expect(attempt).to.include({ verified: true, format: 'OCI 1.1 referrer signature' });
      expect(attempt.identity).to.deep.equal(identity);
      expect(attempt.scheme).to.match(/^keyless, subject=release@example\.com, issuer=https:\/\/accounts\.example\.com, signed at \d{4}-/);
      // another identity: denied, naming who signed
      const other: ValidatorConfig = { ...config, trustRoots: [{ name: 'release', keyless: { ...identity, subject: 'ci@example.com' } }] };
      const err = await denial(createValidator(other, [registry.host]).validate(image(registry, repo), rule('release'), ctx()));
      expect(err.message).to.equal('no signature matches trust root "release": no signature from an expected identity (found: subject=release@example.com, issuer=https://accounts.example.com)');
    });

    it('requires a Rekor entry by default, as for .sig signatures', async () => {
      const repo = 'oci11/no-tlog';
      const img = await registry.pushRandomImage(repo, 'v1');
      await pushSignatureReferrer(registry, repo, img.descriptor, layerFor(registry, repo, img.digest, alice));
      const err = await denial(validator(registry).validate(image(registry, repo), rule('alice'), ctx()));
      expect(err.code).to.equal('SIGNATURE_INVALID');
      expect(err.details.record.trustRoots[0]!.reason).to.match(/^referrer sha256:[0-9a-f]{12}… layer 0: signed by this key, but transparency log entry invalid: the signature has no Rekor bundle/);
    });

    it('counts every signature referrer (cosign verify reads only the newest): an older valid one still admits', async () => {
      const repo = 'oci11/several';
      const img = await registry.pushRandomImage(repo, 'v1');
      await pushSignatureReferrer(registry, repo, img.descriptor, layerFor(registry, repo, img.digest, alice));
      await pushSignatureReferrer(registry, repo, img.descriptor, layerFor(registry, repo, img.digest, generateTestKey()));
      const outcome = await validator(registry).validate(image(registry, repo), keyRule('alice'), ctx());
      const root = recordOf(outcome).trustRoots[0]!;
      expect(root.found).to.equal('0 classic signature(s), 2 OCI 1.1 referrer signature(s), 0 bundle(s)');
      expect(root.attempts.map((a) => a.verified)).to.have.members([true, false]);
      expect(recordOf(outcome).referrerSignatures!.manifests).to.have.length(2);
    });

    it('threshold and required signers across the three formats: .sig tag, referrer, bundle', async () => {
      const repo = 'oci11/mixed';
      const img = await registry.pushRandomImage(repo, 'v1');
      await signImage(registry, registry.host, repo, img.digest, [alice]);
      await pushSignatureReferrer(registry, repo, img.descriptor, layerFor(registry, repo, img.digest, bob));
      await pushBundle(registry, repo, img.descriptor, await dsseBundle(carol, img.digest));
      const v = validator(registry);
      const outcome = await v.validate(image(registry, repo), keyRule('*', { threshold: 3 }), ctx());
      const record = recordOf(outcome);
      expect(record.trustRoots.map((r) => [r.name, r.verified, r.formats])).to.deep.equal([
        ['alice', true, ['classic .sig-tag signature']],
        ['bob', true, ['OCI 1.1 referrer signature']],
        ['carol', true, ['Sigstore bundle']],
      ]);
      expect(record.verifiedFormats).to.deep.equal(['OCI 1.1 referrer signature', 'Sigstore bundle', 'classic .sig-tag signature']);
      expect(record.trustRoots[0]!.found).to.equal('1 classic signature(s), 1 OCI 1.1 referrer signature(s), 1 bundle(s)');

      // bob's referrer alone satisfies `required: [bob]`; a fourth, unsigned trust root cannot be reached
      const withDave = createValidator(keyConfig({ alice: alice.publicPem, bob: bob.publicPem, dave: generateTestKey().publicPem }), [registry.host]);
      expect((await withDave.validate(image(registry, repo), keyRule('*', { required: ['bob'] }), ctx())).digest).to.equal(img.digest);
      const err = await denial(withDave.validate(image(registry, repo), keyRule('*', { required: ['bob', 'dave'] }), ctx()));
      expect(err.code).to.equal('MISSING_REQUIRED_SIGNATURES');
      expect(err.message).to.equal('missing required signatures from: dave — dave: 3 signatures found, none matches this key');
    });

    it('the same signature in the .sig tag and in a referrer (cosign copies .sig signatures into its referrer) counts once, payload fetched once', async () => {
      const repo = 'oci11/both';
      const img = await registry.pushRandomImage(repo, 'v1');
      const layers = layerFor(registry, repo, img.digest, alice);
      await signImage(registry, registry.host, repo, img.digest, [alice]);
      await pushSignatureReferrer(registry, repo, img.descriptor, layers);
      registry.resetRequestCount();
      const outcome = await validator(registry).validate(image(registry, repo), keyRule('*', { threshold: 1 }), ctx());
      const root = recordOf(outcome).trustRoots[0]!;
      expect(root.verifiedBy).to.have.length(2);
      expect(root.formats).to.have.members(['classic .sig-tag signature', 'OCI 1.1 referrer signature']);
      // HEAD image, .sig manifest, referrers API (404), tag schema index, referrer manifest, and the one payload blob (fetched once)
      expect(registry.requestCount()).to.equal(6);
    });
  });

  describe('what a registry can lie about', () => {
    it('a referrer whose manifest names another image as subject does not count', async () => {
      const repo = 'oci11/other-subject';
      const good = await registry.pushRandomImage(repo, 'good');
      const evil = await registry.pushRandomImage(repo, 'evil');
      // a genuine signature of `good`, listed under `evil`
      const referrer = await pushSignatureReferrer(registry, repo, good.descriptor, layerFor(registry, repo, good.digest, alice), { tagSchema: false });
      await addToReferrersIndex(registry, repo, evil.digest, referrer);
      const err = await denial(validator(registry).validate(image(registry, repo, 'evil'), keyRule('alice'), ctx()));
      expect(err.code).to.equal('SIGNATURE_INVALID');
      expect(err.details.record.trustRoots[0]!.reason).to.match(new RegExp(`^referrer sha256:[0-9a-f]{12}…: referrer manifest's subject is ${good.digest}, not this image$`));
    });

    it('a signature of another image in a referrer of this one is refused (signed digest checked)', async () => {
      const repo = 'oci11/copied';
      const good = await registry.pushRandomImage(repo, 'good');
      const evil = await registry.pushRandomImage(repo, 'evil');
      await pushSignatureReferrer(registry, repo, evil.descriptor, layerFor(registry, repo, good.digest, alice));
      const err = await denial(validator(registry).validate(image(registry, repo, 'evil'), keyRule('alice'), ctx()));
      expect(err.details.record.trustRoots[0]!.reason).to.match(new RegExp(`layer 0: signed by this key, but signature is for another image \\(${good.digest}\\)$`));
    });

    it('a manifest listed as a signature but of another artifact type does not count', async () => {
      const repo = 'oci11/wrong-type';
      const img = await registry.pushRandomImage(repo, 'v1');
      await pushSignatureReferrer(registry, repo, img.descriptor, layerFor(registry, repo, img.digest, alice), {
        mutate: (m) => {
          m.artifactType = 'application/spdx+json';
          (m.config as Record<string, unknown>).mediaType = 'application/spdx+json';
        },
      });
      const err = await denial(validator(registry).validate(image(registry, repo), keyRule('alice'), ctx()));
      expect(err.details.record.trustRoots[0]!.reason).to.match(/referrer manifest is not a cosign signature \(artifact type application\/spdx\+json\)$/);
    });

    it('other referrers (SBOMs, attestations) are listed as such, not counted', async () => {
      const repo = 'oci11/sbom';
      const img = await registry.pushRandomImage(repo, 'v1');
      await registry.pushReferrer(repo, img.descriptor, 'application/spdx+json', '{"spdxVersion":"SPDX-2.3"}');
      const err = await denial(validator(registry).validate(image(registry, repo), keyRule('alice'), ctx()));
      expect(err.code).to.equal('NO_SIGNATURES');
      expect(err.details.record.referrers).to.deep.include({ listed: 1 });
      expect(err.details.record.referrers!.other[0]).to.match(/^referrer sha256:[0-9a-f]{12}…: artifact type application\/spdx\+json$/);
    });

    it('a referrer manifest whose bytes differ from its digest (same size) is refused: DIGEST_MISMATCH', async () => {
      const repo = 'oci11/lying';
      const img = await registry.pushRandomImage(repo, 'v1');
      const referrer = await pushSignatureReferrer(registry, repo, img.descriptor, layerFor(registry, repo, img.digest, alice));
      const front: HttpFront = await startHttpFront({
        upstream: registry.directUrl,
        intercept: async (req, forward) => {
          const res = await forward();
          if (!req.path.endsWith(`/manifests/${referrer.digest}`) || res.status !== 200) return res;
          // another signature value of the same length: the JSON stays valid, only the digest tells
          const text = res.body.toString('utf8');
          const at = text.indexOf('cosign/signature":"') + 'cosign/signature":"'.length;
          return { ...res, body: Buffer.from(text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1)) };
        },
      });
      try {
        const v = createValidator(keyConfig({ alice: alice.publicPem }), [front.host]);
        const err = await denial(v.validate(parseImageReference(`${front.host}/${repo}:v1`), keyRule('alice'), ctx()));
        expect(err.code).to.equal('DIGEST_MISMATCH');
        expect(err.message).to.contain(referrer.digest);
      } finally {
        await front.stop();
      }
    });

    it('a referrers list that understates a manifest\'s size: the larger response is refused (RESPONSE_TOO_LARGE)', async () => {
      const repo = 'oci11/understated';
      const img = await registry.pushRandomImage(repo, 'v1');
      const referrer = await pushSignatureReferrer(registry, repo, img.descriptor, layerFor(registry, repo, img.digest, alice), { tagSchema: false });
      await addToReferrersIndex(registry, repo, img.digest, { ...referrer, size: referrer.size - 10 });
      const err = await denial(validator(registry).validate(image(registry, repo), keyRule('alice'), ctx()));
      expect(err.code).to.equal('RESPONSE_TOO_LARGE');
      expect(err.message).to.contain(`sent more than the ${referrer.size - 10} bytes its referrers list declares for manifest ${referrer.digest}`);
    });

    it('a referrer declared larger than 1 MiB is not fetched', async () => {
      const repo = 'oci11/huge';
      const img = await registry.pushRandomImage(repo, 'v1');
      const referrer = await pushSignatureReferrer(registry, repo, img.descriptor, layerFor(registry, repo, img.digest, alice), { tagSchema: false });
      await addToReferrersIndex(registry, repo, img.digest, { ...referrer, size: 64 * 1024 * 1024 });
      registry.resetRequestCount();
      const err = await denial(validator(registry).validate(image(registry, repo), keyRule('alice'), ctx()));
      expect(err.details.record.trustRoots[0]!.reason).to.match(/referrer manifest of 67108864 bytes exceeds the limit of 1048576 bytes$/);
      expect(registry.requestCount()).to.equal(4); // HEAD, .sig, referrers API, tag schema index: the manifest is never requested
    });

    it('at most 16 signature referrers are read', async () => {
      const repo = 'oci11/many';
      const img = await registry.pushRandomImage(repo, 'v1');
      for (let i = 0; i < 17; i++) {
        const layer = classicLayer(generateTestKey(), img.digest, `${registry.host}/${repo}`); // not alice: nothing verifies
        await pushSignatureReferrer(registry, repo, img.descriptor, [layer]);
      }
      const err = await denial(validator(registry).validate(image(registry, repo), keyRule('alice'), ctx()));
      const record = err.details.record;
      expect(record.referrerSignatures!.manifests).to.have.length(16);
      expect(record.referrerSignatures!.skipped).to.have.length(1);
      expect(record.referrerSignatures!.skipped[0]).to.match(/^referrer sha256:[0-9a-f]{12}…: more than 16 signature referrers; ignored$/);
    });
  });
});
