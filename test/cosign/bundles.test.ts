/**
 * Sigstore bundles (keyed, made with @sigstore/sign) attached as OCI referrers on a real registry:
 * through the referrers tag schema (distribution 2.8) and through the OCI 1.1 referrers API (front).
 */
import { expect } from 'chai';
import { parseImageReference } from '../../src/image/reference.js';
import { dsseBundle, generateTestKey, messageBundle, pushBundle, signImage, type TestKey } from '../harness/cosign-signing.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { closeValidators, createValidator, ctx, denial, keyConfig, recordOf, keyRule as rule } from './helpers.js';

describe('cosign validator: Sigstore bundles on a real registry', function () {
  this.timeout(30_000);
  let registry: TestRegistry; // referrers tag schema only
  let withApi: TestRegistry; // front serves the OCI 1.1 referrers API
  const alice: TestKey = generateTestKey('ecdsa-p256');
  const bob: TestKey = generateTestKey('ecdsa-p256');
  const validator = (r: TestRegistry) => createValidator(keyConfig({ alice: alice.publicPem, bob: bob.publicPem }), [r.host]);
  const image = (r: TestRegistry, repo: string, tag: string) => parseImageReference(`${r.host}/${repo}:${tag}`);

  before(async () => {
    [registry, withApi] = await Promise.all([startRegistry(), startRegistry({ referrersApi: true })]);
  });
  after(async () => {
    await closeValidators();
    await Promise.all([registry.stop(), withApi.stop()]);
  });
  afterEach(() => registry.front.setFault(undefined));

  it('admits an image with a DSSE bundle (cosign 3 in-toto statement) found through the referrers tag schema', async () => {
    const img = await registry.pushRandomImage('bundle/dsse', 'v1');
    await pushBundle(registry, 'bundle/dsse', img.descriptor, await dsseBundle(alice, img.digest));
    const outcome = await validator(registry).validate(image(registry, 'bundle/dsse', 'v1'), rule('alice'), ctx());
    expect(outcome.digest).to.equal(img.digest);
    const root = recordOf(outcome).trustRoots[0]!;
    expect(root.found).to.equal('0 classic signature(s), 0 OCI 1.1 referrer signature(s), 1 bundle(s)');
    expect(root.verifiedBy).to.have.length(1);
    expect(root.verifiedBy[0]).to.match(/^bundle sha256:[0-9a-f]{12}… \(bundle DSSE, ecdsa-sha256\)$/);
  });

  it('admits an image with a message-signature bundle over its manifest', async () => {
    const img = await registry.pushRandomImage('bundle/message', 'v1');
    await pushBundle(registry, 'bundle/message', img.descriptor, await messageBundle(alice, img.manifest));
    const outcome = await validator(registry).validate(image(registry, 'bundle/message', 'v1'), rule('alice'), ctx());
    expect(outcome.digest).to.equal(img.digest);
    expect(recordOf(outcome).trustRoots[0]!.verifiedBy[0]).to.include('(bundle message signature, ecdsa-sha256)');
  });

  for (const [type, scheme] of [['ecdsa-p384', 'ecdsa-sha384'], ['rsa-pss', 'rsa-pss-sha256'], ['ed25519', 'ed25519']] as const) {
    it(`admits DSSE and message-signature bundles made with a ${type} key`, async () => {
      const signer = generateTestKey(type);
      const repo = `bundle/${type}`;
      const img = await registry.pushRandomImage(repo, 'v1');
      await pushBundle(registry, repo, img.descriptor, await dsseBundle(signer, img.digest));
      await pushBundle(registry, repo, img.descriptor, await messageBundle(signer, img.manifest));
      const v = createValidator(keyConfig({ signer: signer.publicPem, alice: alice.publicPem }), [registry.host]);
      const outcome = await v.validate(image(registry, repo, 'v1'), rule('signer'), ctx());
      expect(recordOf(outcome).trustRoots[0]!.verifiedBy.map((s) => s.replace(/^bundle sha256:[0-9a-f]{12}… /, ''))).to.deep.equal([
        `(bundle DSSE, ${scheme})`,
        `(bundle message signature, ${scheme})`,
      ]);
      const err = await denial(v.validate(image(registry, repo, 'v1'), rule('alice'), ctx()));
      expect(err.code).to.equal('SIGNATURE_INVALID');
    });
  }

  it('finds bundles through the OCI 1.1 referrers API', async () => {
    const img = await withApi.pushRandomImage('bundle/api', 'v1');
    await pushBundle(withApi, 'bundle/api', img.descriptor, await dsseBundle(alice, img.digest));
    const before = withApi.front.referrersApiHits();
    const outcome = await validator(withApi).validate(image(withApi, 'bundle/api', 'v1'), rule('alice'), ctx());
    expect(outcome.digest).to.equal(img.digest);
    expect(withApi.front.referrersApiHits()).to.be.greaterThan(before);
  });

  it('combines a classic signature and a bundle by different trust roots for a threshold', async () => {
    const repo = 'bundle/mixed';
    const img = await registry.pushRandomImage(repo, 'v1');
    await signImage(registry, registry.host, repo, img.digest, [alice]);
    await pushBundle(registry, repo, img.descriptor, await dsseBundle(bob, img.digest));
    const outcome = await validator(registry).validate(image(registry, repo, 'v1'), rule('*', { threshold: 2 }), ctx());
    expect(outcome.details.trustRoots!.map((r) => [r.name, r.verified])).to.deep.equal([['alice', true], ['bob', true]]);
  });

  describe('attacks', () => {
    it('denies a bundle whose subject is another image', async () => {
      const repo = 'bundle/other-subject';
      const good = await registry.pushRandomImage(repo, 'good');
      const evil = await registry.pushRandomImage(repo, 'evil');
      // alice genuinely signed `good`; the bundle is attached to `evil`.
      await pushBundle(registry, repo, evil.descriptor, await dsseBundle(alice, good.digest));
      const err = await denial(validator(registry).validate(image(registry, repo, 'evil'), rule('alice'), ctx()));
      expect(err.code).to.equal('SIGNATURE_INVALID');
      expect(err.details.record.trustRoots[0]!.reason).to.include(`bundle subject is another image (${good.digest})`);
    });

    it('denies a message-signature bundle over another image\'s manifest', async () => {
      const repo = 'bundle/other-message';
      const good = await registry.pushRandomImage(repo, 'good');
      const evil = await registry.pushRandomImage(repo, 'evil');
      await pushBundle(registry, repo, evil.descriptor, await messageBundle(alice, good.manifest));
      const err = await denial(validator(registry).validate(image(registry, repo, 'evil'), rule('alice'), ctx()));
      expect(err.code).to.equal('SIGNATURE_INVALID');
      expect(err.details.record.trustRoots[0]!.reason).to.include('bundle subject is another image');
    });

    it('denies a bundle signed by a key that is not a trust root', async () => {
      const repo = 'bundle/untrusted';
      const img = await registry.pushRandomImage(repo, 'v1');
      await pushBundle(registry, repo, img.descriptor, await dsseBundle(generateTestKey('ecdsa-p256'), img.digest));
      const err = await denial(validator(registry).validate(image(registry, repo, 'v1'), rule('*'), ctx()));
      expect(err.code).to.equal('THRESHOLD_NOT_REACHED');
      expect(err.message).to.equal('threshold not reached (valid 0 of 2 required; signed by: none) — alice: 1 signature found, it does not match this key; bob: 1 signature found, it does not match this key');
      for (const r of err.details.record.trustRoots) expect(r.reason).to.match(/signature does not match this key/);
    });

    it('does not count an attestation (other predicate type) as a signature', async () => {
      const repo = 'bundle/attestation';
      const img = await registry.pushRandomImage(repo, 'v1');
      await pushBundle(registry, repo, img.descriptor, await dsseBundle(alice, img.digest, 'https://slsa.dev/provenance/v1'));
      const err = await denial(validator(registry).validate(image(registry, repo, 'v1'), rule('alice'), ctx()));
      expect(err.code).to.equal('SIGNATURE_INVALID');
      expect(err.details.record.trustRoots[0]!.reason).to.include('bundle is an attestation');
    });

    it('ignores a referrer that is not a valid bundle', async () => {
      const repo = 'bundle/garbage';
      const img = await registry.pushRandomImage(repo, 'v1');
      await pushBundle(registry, repo, img.descriptor, Buffer.from('{"mediaType":"nonsense"}'));
      const err = await denial(validator(registry).validate(image(registry, repo, 'v1'), rule('alice'), ctx()));
      expect(err.code).to.equal('SIGNATURE_INVALID');
      expect(err.details.record.trustRoots[0]!.reason).to.match(/is not a valid Sigstore bundle/);
    });

    it('denies when the registry returns another manifest for a referrer digest', async () => {
      const repo = 'bundle/lying';
      const img = await registry.pushRandomImage(repo, 'v1');
      const referrer = await pushBundle(registry, repo, img.descriptor, await dsseBundle(alice, img.digest));
      registry.front.setFault({ kind: 'lie' }, new RegExp(`/manifests/${referrer.digest}$`));
      const err = await denial(validator(registry).validate(image(registry, repo, 'v1'), rule('alice'), ctx()));
      // The altered manifest is longer than the size the referrers index lists: refused before its digest is even computed.
      expect(err.code).to.equal('RESPONSE_TOO_LARGE');
      expect(err.message).to.contain(`sent more than the ${referrer.size} bytes its referrers list declares for manifest ${referrer.digest}`);
      expect(registry.front.faultHits()).to.equal(1);
    });
  });
});
