/**
 * The real cosign signatures of the Connaisseur test vectors (test/fixtures/cosign/README.md),
 * served from a static fixture registry: every row of the outcome table except keyless.
 */
import { expect } from 'chai';
import { parseImageReference } from '../../src/image/reference.js';
import type { Validator } from '../../src/validators/types.js';
import { startFixtureRegistry, type FixtureRegistry } from '../harness/fixture-registry.js';
import { closeValidators, createValidator, ctx, denial, FIXTURES, fixtureText, keyConfig, rule, vectorConfig, VECTOR_REPO } from './helpers.js';

const ALICE_DIGEST = 'sha256:071bf7a986f1ca9cb2a1f0bc8392822a7777f90d58f2d2c6f271913e08de7c81';
const ABC_DIGEST = 'sha256:bfec161fecb0a887df7cb85e4da327c65986ccda7060cf3cd92171c6c90d7533';
const ALICE_PAYLOAD = '/blobs/sha256:d8ee807d96efe7441b132967ad94eaffbc0172a763e69f2cd8df8f583f0ba0d4';

describe('cosign validator: real cosign test vectors', () => {
  let registry: FixtureRegistry;
  let validator: Validator; // config 01: trust roots alice and bob
  const image = (tag: string) => parseImageReference(`${registry.host}/${VECTOR_REPO}:${tag}`);

  before(async () => {
    registry = await startFixtureRegistry(FIXTURES, [VECTOR_REPO]);
    // co-unsigned is a placeholder ({}) for an existing, unsigned image: serve a valid manifest there.
    registry.addManifest(VECTOR_REPO, 'co-unsigned', Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: 2, digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a' },
      layers: [],
    })));
    validator = createValidator(vectorConfig('01_cosign.yaml'), [registry.host]);
  });
  after(async () => {
    await closeValidators();
    await registry.close();
  });

  it('multi-cosigned-alice with trust root alice is valid, with its digest', async () => {
    const outcome = await validator.validate(image('multi-cosigned-alice'), rule('alice'), ctx());
    expect(outcome.digest).to.equal(ALICE_DIGEST);
    const alice = outcome.details.trustRoots!.find((r) => r.name === 'alice')!;
    expect(alice.verified).to.equal(true);
    expect(alice.verifiedBy).to.deep.equal([`sha256-${ALICE_DIGEST.slice(7)}.sig layer 0 (ecdsa-sha256)`]);
    expect(alice.found).to.equal('1 classic signature(s), 0 bundle(s)');
  });

  it('multi-cosigned-alice-bob-charlie with "*" and threshold 2 is valid', async () => {
    const outcome = await validator.validate(image('multi-cosigned-alice-bob-charlie'), rule('*', { threshold: 2 }), ctx());
    expect(outcome.digest).to.equal(ABC_DIGEST);
    expect(outcome.details.trustRoots!.map((r) => [r.name, r.verified])).to.deep.equal([['alice', true], ['bob', true]]);
  });

  it('multi-cosigned-alice-bob-charlie with "*" and threshold 3 is denied: threshold not reached (2 of 3)', async () => {
    const err = await denial(validator.validate(image('multi-cosigned-alice-bob-charlie'), rule('*', { threshold: 3 }), ctx()));
    expect(err.code).to.equal('THRESHOLD_NOT_REACHED');
    expect(err.message).to.equal('threshold not reached (valid 2 of 3 required; signed by: alice, bob)');
    expect(err.details.record.digest).to.equal(ABC_DIGEST);
  });

  it('the third signature of multi-cosigned-alice-bob-charlie is charlie\'s', async () => {
    const v = createValidator(keyConfig({ alice: fixtureText('alice.key'), bob: fixtureText('bob.key'), charlie: fixtureText('charlie.key') }), [registry.host]);
    const outcome = await v.validate(image('multi-cosigned-alice-bob-charlie'), rule('*', { threshold: 3 }), ctx());
    expect(outcome.details.trustRoots!.every((r) => r.verified)).to.equal(true);
  });

  for (const required of [['bob'], ['bob', 'alice']]) {
    it(`multi-cosigned-alice with "*" and required [${required.join(', ')}] is denied: missing bob`, async () => {
      const err = await denial(validator.validate(image('multi-cosigned-alice'), rule('*', { required }), ctx()));
      expect(err.code).to.equal('MISSING_REQUIRED_SIGNATURES');
      expect(err.message).to.equal('missing required signatures from: bob');
      const bob = err.details.record.trustRoots.find((r) => r.name === 'bob')!;
      expect(bob.verified).to.equal(false);
      expect(bob.reason).to.match(/signature does not match this key/);
    });
  }

  it('multi-cosigned-alice with trust root bob is denied: a signature by a key not trusted', async () => {
    const err = await denial(validator.validate(image('multi-cosigned-alice'), rule('bob'), ctx()));
    expect(err.code).to.equal('SIGNATURE_INVALID');
    expect(err.message).to.equal('no signature matches trust root "bob"');
  });

  it('co-unsigned with trust root alice is denied: no signatures found', async () => {
    const ref = image('co-unsigned');
    const err = await denial(validator.validate(ref, rule('alice'), ctx()));
    expect(err.code).to.equal('NO_SIGNATURES');
    expect(err.message).to.equal(`no signatures found for ${ref.original}`);
    expect(err.details.record.trustRoots[0]!.found).to.equal('0 classic signature(s), 0 bundle(s)');
  });

  it('co-unsigned with "*" is denied: threshold not reached', async () => {
    const err = await denial(validator.validate(image('co-unsigned'), rule('*'), ctx()));
    expect(err.code).to.equal('THRESHOLD_NOT_REACHED');
    expect(err.message).to.equal('threshold not reached (valid 0 of 2 required; signed by: none)');
  });

  for (const trustRoot of ['alice', '*']) {
    it(`co-nonexistent (${trustRoot}) is denied: the image does not exist`, async () => {
      const err = await denial(validator.validate(image('co-nonexistent'), rule(trustRoot), ctx()));
      expect(err.code).to.equal('REGISTRY_NOT_FOUND');
      expect(err.message).to.include('co-nonexistent');
      expect(err.details.record.validator).to.equal('default');
    });
  }

  it('a reference with tag and digest is verified at the digest', async () => {
    // The tag names another image; the runtime pulls the digest, so the digest is what is verified.
    const ref = parseImageReference(`${registry.host}/${VECTOR_REPO}:co-unsigned@${ALICE_DIGEST}`);
    const outcome = await validator.validate(ref, rule('alice'), ctx());
    expect(outcome.digest).to.equal(ALICE_DIGEST);
  });

  describe('a registry that lies', () => {
    afterEach(() => registry.clearOverrides());

    it('a payload blob served with other bytes is refused (digest mismatch)', async () => {
      const original = fixtureText(`${VECTOR_REPO}${ALICE_PAYLOAD}.json`);
      registry.override(`/v2/${VECTOR_REPO}${ALICE_PAYLOAD}`, Buffer.from(original.replace(ALICE_DIGEST, ABC_DIGEST)));
      const err = await denial(validator.validate(image('multi-cosigned-alice'), rule('alice'), ctx()));
      expect(err.code).to.equal('DIGEST_MISMATCH');
      expect(err.message).to.include(ALICE_PAYLOAD.slice('/blobs/'.length));
    });

    it('a .sig manifest whose bytes differ from the digest the registry states is refused', async () => {
      const tag = `sha256-${ALICE_DIGEST.slice(7)}.sig`;
      const sig = JSON.parse(fixtureText(`${VECTOR_REPO}/manifests/${tag}.json`)) as Record<string, unknown>;
      registry.override(`/v2/${VECTOR_REPO}/manifests/${tag}`, Buffer.from(JSON.stringify({ ...sig, annotations: { tampered: 'yes' } })));
      const err = await denial(validator.validate(image('multi-cosigned-alice'), rule('alice'), ctx()));
      expect(err.code).to.equal('DIGEST_MISMATCH');
      expect(err.message).to.include(tag);
    });
  });
});
