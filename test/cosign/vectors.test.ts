/**
 * The real cosign signatures of the Connaisseur test vectors (test/fixtures/cosign/README.md),
 * served from a static fixture registry: every row of the outcome table. The key-based vectors were
 * signed without transparency log ("no tlog"), so their rules set verifyInTransparencyLog: false.
 */
import { generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import { parseImageReference } from '../../src/image/reference.js';
import type { Validator } from '../../src/validators/types.js';
import { startFixtureRegistry, type FixtureRegistry } from '../harness/fixture-registry.js';
import { closeValidators, createValidator, ctx, denial, FIXTURES, fixtureText, keyConfig, keyRule as rule, rule as tlogRule, vectorConfig, VECTOR_REPO } from './helpers.js';

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
    expect(alice.found).to.equal('1 classic signature(s), 0 OCI 1.1 referrer signature(s), 0 bundle(s)');
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
      expect(err.message).to.equal('missing required signatures from: bob — bob: 1 signature found, it does not match this key');
      const bob = err.details.record.trustRoots.find((r) => r.name === 'bob')!;
      expect(bob.verified).to.equal(false);
      expect(bob.reason).to.match(/signature does not match this key/);
    });
  }

  it('multi-cosigned-alice with trust root bob is denied: a signature by a key not trusted', async () => {
    const err = await denial(validator.validate(image('multi-cosigned-alice'), rule('bob'), ctx()));
    expect(err.code).to.equal('SIGNATURE_INVALID');
    expect(err.message).to.equal('no signature matches trust root "bob": 1 signature found, it does not match this key');
  });

  it('co-unsigned with trust root alice is denied: no signatures found', async () => {
    const ref = image('co-unsigned');
    const err = await denial(validator.validate(ref, rule('alice'), ctx()));
    expect(err.code).to.equal('NO_SIGNATURES');
    expect(err.message).to.equal(`no signatures found for ${ref.original}`);
    expect(err.details.record.trustRoots[0]!.found).to.equal('0 classic signature(s), 0 OCI 1.1 referrer signature(s), 0 bundle(s)');
  });

  it('co-unsigned with "*" is denied: threshold not reached', async () => {
    const err = await denial(validator.validate(image('co-unsigned'), rule('*'), ctx()));
    expect(err.code).to.equal('THRESHOLD_NOT_REACHED');
    expect(err.message).to.equal('threshold not reached (valid 0 of 2 required; signed by: none) — alice: no signatures found; bob: no signatures found');
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

  describe('keyless (config 11: explicit Rekor, CT log and Fulcio keys; verified offline)', () => {
    const KEYLESS_DIGEST = 'sha256:31dc72a13a0c34b40eb95419d2b2fd67320c856baf3b72da518023ee8d370aee';
    const FOUND = 'subject=philipp.belitz@securesystems.de, issuer=https://github.com/login/oauth';
    /**
     * Config 11 writes Connaisseur's unanchored regexes (`issuerRegex: github`, `subjectRegex: philipp`).
     * Imprimatur anchors regexes (they must match the whole value), so the same intent is written
     * `.*github.*` / `.*philipp.*` here; config 11 verbatim is tested below.
     */
    const anchoredConfig = () => {
      const config = vectorConfig('11_keyless.yaml') as unknown as { trustRoots: Array<{ name: string; keyless: Record<string, string> }> };
      config.trustRoots[0]!.keyless = { issuerRegex: '.*github.*', subjectRegex: '.*philipp.*' };
      return config as unknown as ReturnType<typeof vectorConfig>;
    };

    it('philipp-keyless is admitted: chain, SCT, Rekor SET and body verified; the expired certificate is judged at the integrated time', async () => {
      const v = createValidator(anchoredConfig(), [registry.host]);
      const outcome = await v.validate(image('keyless'), tlogRule('philipp-keyless'), ctx());
      expect(outcome.digest).to.equal(KEYLESS_DIGEST);
      const attempt = (outcome.details.trustRoots![0]!.attempts as Array<Record<string, unknown>>)[0]!;
      expect(attempt.identity).to.deep.equal({ subject: 'philipp.belitz@securesystems.de', issuer: 'https://github.com/login/oauth' });
      expect(attempt.signedAt).to.equal('2024-05-30T15:18:17.000Z');
    });

    it('bob-keyless is denied: no expected identity', async () => {
      const v = createValidator(anchoredConfig(), [registry.host]);
      const err = await denial(v.validate(image('keyless'), tlogRule('bob-keyless'), ctx()));
      expect(err.code).to.equal('SIGNATURE_INVALID');
      expect(err.message).to.equal(`no signature matches trust root "bob-keyless": no signature from an expected identity (found: ${FOUND})`);
    });

    it('config 11 verbatim: its unanchored regexes do not match the whole identity, so philipp-keyless is denied, saying what was found', async () => {
      const v = createValidator(vectorConfig('11_keyless.yaml'), [registry.host]);
      const err = await denial(v.validate(image('keyless'), tlogRule('philipp-keyless'), ctx()));
      expect(err.message).to.include(`no signature from an expected identity (found: ${FOUND})`);
    });

    it('the public-good defaults verify the same signature when nothing but the identity is configured', async () => {
      const v = createValidator({ name: 'pg', type: 'cosign', trustRoots: [{ name: 'philipp', keyless: { issuer: 'https://github.com/login/oauth', subjectRegex: 'philipp\\.belitz@securesystems\\.de' } }] }, [registry.host]);
      const outcome = await v.validate(image('keyless'), tlogRule('philipp'), ctx());
      expect(outcome.digest).to.equal(KEYLESS_DIGEST);
      expect((outcome.details as Record<string, { trustMaterial?: string }>).verification!.trustMaterial).to.match(/^public-good Sigstore/);
    });

    it('a wrong Rekor key fails the SET, a wrong CT log key the SCT (unless verifySCT: false), a wrong Fulcio root the chain', async () => {
      const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
      const withHost = (field: string, value: string) => {
        const c = anchoredConfig() as unknown as { host: Record<string, string> };
        c.host[field] = value;
        return createValidator(c as unknown as ReturnType<typeof vectorConfig>, [registry.host]);
      };
      const reasonOf = async (v: ReturnType<typeof withHost>, extra = {}) =>
        (await denial(v.validate(image('keyless'), tlogRule('philipp-keyless', extra), ctx()))).details.record.trustRoots[0]!.reason;
      expect(await reasonOf(withHost('rekorPubkey', otherKey))).to.match(/transparency log entry invalid: inclusion promise could not be verified$/);
      const badCt = withHost('ctLogPubkey', otherKey);
      expect(await reasonOf(badCt)).to.match(/signed certificate timestamp invalid/);
      expect((await badCt.validate(image('keyless'), tlogRule('philipp-keyless', { verifySCT: false }), ctx())).digest).to.equal(KEYLESS_DIGEST);
      const selfSigned = (await import('selfsigned')).default.generate([{ name: 'commonName', value: 'sigstore' }], { keySize: 2048 }).cert;
      expect(await reasonOf(withHost('fulcioCert', selfSigned))).to.match(/certificate does not chain to the configured Fulcio root$/);
    });
  });
});
