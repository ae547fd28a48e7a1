/**
 * Classic cosign signatures made in the test (Node crypto, cosign's exact format), pushed to a real
 * docker-registry, and the attacks a validator must refuse.
 */
import { expect } from 'chai';
import { parseImageReference } from '../../src/image/reference.js';
import { classicLayer, generateTestKey, pushClassicSignatures, signImage, type TestKey, type TestKeyType } from '../harness/cosign-signing.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { closeValidators, createValidator, ctx, denial, keyConfig, keyRule as rule } from './helpers.js';

describe('cosign validator: classic signatures on a real registry', function () {
  this.timeout(30_000);
  let registry: TestRegistry;
  const keys: Partial<Record<TestKeyType, TestKey>> = {};
  const key = (t: TestKeyType): TestKey => (keys[t] ??= generateTestKey(t));
  const image = (repo: string, ref: string) => parseImageReference(`${registry.host}/${repo}${ref.startsWith('sha256:') ? '@' : ':'}${ref}`);
  const validatorFor = (roots: Record<string, TestKey>) =>
    createValidator(keyConfig(Object.fromEntries(Object.entries(roots).map(([n, k]) => [n, k.publicPem]))), [registry.host]);

  before(async () => {
    registry = await startRegistry();
  });
  after(async () => {
    await closeValidators();
    await registry.stop();
  });
  afterEach(() => registry.front.setFault(undefined));

  const schemes: Array<[TestKeyType, string]> = [
    ['ecdsa-p256', 'ecdsa-sha256'],
    ['ecdsa-p384', 'ecdsa-sha384'],
    ['rsa', 'rsa-pkcs1v15-sha256'],
    ['rsa-pss', 'rsa-pss-sha256'],
    ['ed25519', 'ed25519'],
  ];
  for (const [type, scheme] of schemes) {
    it(`admits an image signed with a ${type} key, and no other key`, async () => {
      const repo = `classic/${type}`;
      const img = await registry.pushRandomImage(repo, 'v1');
      await signImage(registry, registry.host, repo, img.digest, [key(type)]);
      const validator = validatorFor({ signer: key(type), other: generateTestKey(type) });

      const outcome = await validator.validate(image(repo, 'v1'), rule('signer'), ctx());
      expect(outcome.digest).to.equal(img.digest);
      expect(outcome.details.trustRoots![0]!.verifiedBy).to.deep.equal([`${img.digest.replace(':', '-')}.sig layer 0 (${scheme})`]);

      const err = await denial(validator.validate(image(repo, 'v1'), rule('other'), ctx()));
      expect(err.code).to.equal('SIGNATURE_INVALID');
      expect(err.message).to.equal('no signature matches trust root "other": 1 signature found, it does not match this key');
      expect(err.details.record.trustRoots[0]!.reason).to.match(/signature does not match this key/);
    });
  }

  it('verifies a digest reference without a tag', async () => {
    const img = await registry.pushRandomImage('classic/bydigest', 'v1');
    await signImage(registry, registry.host, 'classic/bydigest', img.digest, [key('ecdsa-p256')]);
    const outcome = await validatorFor({ alice: key('ecdsa-p256') }).validate(image('classic/bydigest', img.digest), rule('alice'), ctx());
    expect(outcome.digest).to.equal(img.digest);
  });

  it('an unsigned image whose repository has signatures of other images has none', async () => {
    const signed = await registry.pushRandomImage('classic/partly', 'signed');
    await signImage(registry, registry.host, 'classic/partly', signed.digest, [key('ecdsa-p256')]);
    await registry.pushRandomImage('classic/partly', 'unsigned');
    const err = await denial(validatorFor({ alice: key('ecdsa-p256') }).validate(image('classic/partly', 'unsigned'), rule('alice'), ctx()));
    expect(err.code).to.equal('NO_SIGNATURES');
  });

  describe('attacks', () => {
    it('denies a signature made for another digest, copied to this image\'s .sig tag', async () => {
      const repo = 'attack/other-digest';
      const good = await registry.pushRandomImage(repo, 'good');
      const evil = await registry.pushRandomImage(repo, 'evil');
      // A genuine signature of `good`, stored where cosign looks for signatures of `evil`.
      await pushClassicSignatures(registry, repo, evil.digest, [classicLayer(key('ecdsa-p256'), good.digest, `${registry.host}/${repo}`)]);
      const err = await denial(validatorFor({ alice: key('ecdsa-p256') }).validate(image(repo, 'evil'), rule('alice'), ctx()));
      expect(err.code).to.equal('SIGNATURE_INVALID');
      expect(err.details.record.trustRoots[0]!.reason).to.include(`signed by this key, but signature is for another image (${good.digest})`);
    });

    it('denies a .sig manifest whose payload was swapped for one naming this image', async () => {
      const repo = 'attack/swapped-payload';
      const good = await registry.pushRandomImage(repo, 'good');
      const evil = await registry.pushRandomImage(repo, 'evil');
      const genuine = classicLayer(key('ecdsa-p256'), good.digest, `${registry.host}/${repo}`);
      const forged = classicLayer(key('ecdsa-p256'), evil.digest, `${registry.host}/${repo}`).payload;
      await pushClassicSignatures(registry, repo, evil.digest, [{ payload: forged, signature: genuine.signature }]);
      const err = await denial(validatorFor({ alice: key('ecdsa-p256') }).validate(image(repo, 'evil'), rule('alice'), ctx()));
      expect(err.code).to.equal('SIGNATURE_INVALID');
      expect(err.details.record.trustRoots[0]!.reason).to.match(/signature does not match this key/);
    });

    it('denies an image whose tag was moved after signing', async () => {
      const repo = 'attack/moved-tag';
      const signed = await registry.pushRandomImage(repo, 'release', { seed: 'original' });
      await signImage(registry, registry.host, repo, signed.digest, [key('ecdsa-p256')]);
      const validator = validatorFor({ alice: key('ecdsa-p256') });
      expect((await validator.validate(image(repo, 'release'), rule('alice'), ctx())).digest).to.equal(signed.digest);

      const moved = await registry.pushRandomImage(repo, 'release', { seed: 'replacement' });
      const err = await denial(validator.validate(image(repo, 'release'), rule('alice'), ctx()));
      expect(err.code).to.equal('NO_SIGNATURES');
      expect(err.details.record.digest).to.equal(moved.digest);
      // The pinned digest stays admissible.
      expect((await validator.validate(image(repo, signed.digest), rule('alice'), ctx())).digest).to.equal(signed.digest);
    });

    it('denies when the registry returns manifest bytes that differ from the digest it states', async () => {
      const repo = 'attack/lying-registry';
      const img = await registry.pushRandomImage(repo, 'v1');
      await signImage(registry, registry.host, repo, img.digest, [key('ecdsa-p256')]);
      registry.front.setFault({ kind: 'lie' }, /\.sig$/);
      const err = await denial(validatorFor({ alice: key('ecdsa-p256') }).validate(image(repo, 'v1'), rule('alice'), ctx()));
      expect(err.code).to.equal('DIGEST_MISMATCH');
      expect(registry.front.faultHits()).to.be.greaterThan(0);
    });

    it('denies an oversized signature manifest', async () => {
      const repo = 'attack/oversized';
      const img = await registry.pushRandomImage(repo, 'v1');
      await signImage(registry, registry.host, repo, img.digest, [key('ecdsa-p256')]);
      registry.front.setFault({ kind: 'oversize', bytes: 5 * 1024 * 1024, declareLength: false }, /\.sig$/);
      const err = await denial(validatorFor({ alice: key('ecdsa-p256') }).validate(image(repo, 'v1'), rule('alice'), ctx()));
      expect(err.code).to.equal('RESPONSE_TOO_LARGE');
    });
  });

  it('fails within the admission deadline when the registry hangs', async () => {
    const repo = 'fault/hang';
    const img = await registry.pushRandomImage(repo, 'v1');
    await signImage(registry, registry.host, repo, img.digest, [key('ecdsa-p256')]);
    registry.front.setFault({ kind: 'hang' }, /\.sig$/);
    const started = Date.now();
    const err = await denial(validatorFor({ alice: key('ecdsa-p256') }).validate(image(repo, 'v1'), rule('alice'), ctx(1500)));
    expect(Date.now() - started).to.be.lessThan(3000);
    expect(err.code).to.be.oneOf(['REGISTRY_TIMEOUT', 'DEADLINE_EXCEEDED']);
    expect(err.details.record.digest).to.equal(img.digest);
  });
});
