/** Multi-signature rules (`trustRoot: "*"`, threshold, required) on real signatures in a real registry. */
import { expect } from 'chai';
import { parseImageReference } from '../../src/image/reference.js';
import type { Validator } from '../../src/validators/types.js';
import { generateTestKey, signImage } from '../harness/cosign-signing.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { closeValidators, createValidator, ctx, denial, keyRule as rule } from './helpers.js';
import { MAX_ROOT_REASON, failedRootsSummary, rootFailureSummary, type TrustRootRecord } from '../../src/validators/cosign/record.js';

describe('cosign validator: multi-signature rules', function () {
  this.timeout(30_000);
  let registry: TestRegistry;
  let validator: Validator; // trust roots alice, bob, carol (keys) and dave (keyless)
  const [alice, bob, carol] = [generateTestKey('ecdsa-p256'), generateTestKey('ed25519'), generateTestKey('ecdsa-p384')];
  const image = (tag: string) => parseImageReference(`${registry.host}/policy/app:${tag}`);

  before(async () => {
    registry = await startRegistry();
    validator = createValidator({
      name: 'multi',
      type: 'cosign',
      trustRoots: [
        { name: 'alice', key: alice.publicPem },
        { name: 'bob', key: bob.publicPem },
        { name: 'carol', key: carol.publicPem },
        { name: 'dave', keyless: { issuer: 'https://accounts.example', subject: 'dave@example.com' } },
      ],
    }, [registry.host]);
    const sign = async (tag: string, keys = [alice]) => signImage(registry, registry.host, 'policy/app', (await registry.pushRandomImage('policy/app', tag)).digest, keys);
    await sign('alice', [alice]);
    await sign('alice-twice', [alice, alice]);
    await sign('alice-bob', [alice, bob]);
    await sign('all-keys', [alice, bob, carol]);
  });
  after(async () => {
    await closeValidators();
    await registry.stop();
  });

  it('"*" without threshold or required needs every trust root (the keyless one has no keyless signature here)', async () => {
    const err = await denial(validator.validate(image('all-keys'), rule('*'), ctx()));
    expect(err.code).to.equal('THRESHOLD_NOT_REACHED');
    expect(err.message).to.equal('threshold not reached (valid 3 of 4 required; signed by: alice, bob, carol) — dave: 3 signatures: not a keyless signature (no dev.sigstore.cosign/certificate annotation)');
    const dave = err.details.record.trustRoots.find((r) => r.name === 'dave')!;
    expect(dave.reason).to.match(/not a keyless signature \(no dev\.sigstore\.cosign\/certificate annotation\)/);
  });

  it('threshold counts distinct trust roots, not signatures', async () => {
    const err = await denial(validator.validate(image('alice-twice'), rule('*', { threshold: 2 }), ctx()));
    expect(err.message).to.equal('threshold not reached (valid 1 of 2 required; signed by: alice) — bob: 2 signatures found, none matches this key; carol: 2 signatures found, none matches this key; dave: 2 signatures: not a keyless signature (no dev.sigstore.cosign/certificate annotation)');
    expect(err.details.record.trustRoots[0]!.verifiedBy).to.have.length(2);
  });

  it('threshold 2 of 3 keys is reached by alice and bob', async () => {
    const outcome = await validator.validate(image('alice-bob'), rule('*', { threshold: 2 }), ctx());
    expect(outcome.details.trustRoots!.filter((r) => r.verified).map((r) => r.name)).to.deep.equal(['alice', 'bob']);
  });

  it('required names must each have signed, even when the threshold is reached', async () => {
    const err = await denial(validator.validate(image('alice-bob'), rule('*', { threshold: 2, required: ['carol', 'bob'] }), ctx()));
    expect(err.code).to.equal('MISSING_REQUIRED_SIGNATURES');
    expect(err.message).to.equal('missing required signatures from: carol — carol: 2 signatures found, none matches this key');
  });

  it('required alone sets the threshold to the required trust roots', async () => {
    const outcome = await validator.validate(image('alice-bob'), rule('*', { required: ['bob'] }), ctx());
    expect(outcome.details.policy).to.deep.equal({ trustRoots: ['alice', 'bob', 'carol', 'dave'], threshold: 1, required: ['bob'] });
  });

  it('required and threshold together: both must hold', async () => {
    const err = await denial(validator.validate(image('alice'), rule('*', { threshold: 2, required: ['alice'] }), ctx()));
    expect(err.code).to.equal('THRESHOLD_NOT_REACHED');
    expect(err.message).to.equal('threshold not reached (valid 1 of 2 required; signed by: alice) — bob: 1 signature found, it does not match this key; carol: 1 signature found, it does not match this key; dave: not a keyless signature (no dev.sigstore.cosign/certificate annotation)');
    const outcome = await validator.validate(image('all-keys'), rule('*', { threshold: 3, required: ['alice'] }), ctx());
    expect(outcome.details.summary).to.match(/is signed by: alice, bob, carol \(via classic \.sig-tag signature\)$/);
  });

  it('a single named trust root must have signed itself', async () => {
    await validator.validate(image('alice-bob'), rule('bob'), ctx());
    const err = await denial(validator.validate(image('alice-bob'), rule('carol'), ctx()));
    expect(err.message).to.equal('no signature matches trust root "carol": 2 signatures found, none matches this key');
  });

  it('a keyless trust root is not satisfied by key-based signatures', async () => {
    const err = await denial(validator.validate(image('all-keys'), rule('dave'), ctx()));
    expect(err.code).to.equal('SIGNATURE_INVALID');
    expect(err.details.record.trustRoots[0]!.attempts).to.have.length(3);
    expect(err.details.record.trustRoots[0]!.reason).to.match(/not a keyless signature/);
  });

  it('an unknown trust root in a rule is refused, not ignored', async () => {
    const err = await denial(validator.validate(image('alice'), rule('mallory'), ctx()));
    expect(err.code).to.equal('TRUST_ROOT_UNKNOWN');
    expect(err.message).to.equal('validator "multi" has no trust root "mallory"; use one of: alice, bob, carol, dave, or "*" for all');
  });
});

describe('cosign: the reason per trust root in a denial', () => {
  const root = (reasons: string[]): TrustRootRecord => ({
    name: 'default', verified: false, found: '', verifiedBy: [],
    attempts: reasons.map((reason, i) => ({ signature: `sig ${i}`, verified: false, reason })),
  });

  it('puts the signature that got furthest first, and counts the others', () => {
    const summary = rootFailureSummary(root([
      'signature does not match this key',
      'signed by this key, but transparency log entry invalid: no entry',
      'signature does not match this key',
    ]));
    expect(summary).to.equal('signed by this key, but transparency log entry invalid: no entry; 2 other signature(s) do not match this key');
  });

  it('stays within its bound whatever the signatures say', () => {
    const reasons = Array.from({ length: 50 }, (_, i) => `bundle does not verify (${'x'.repeat(400)} ${i})`);
    const summary = rootFailureSummary(root(reasons));
    expect(summary.length).to.be.at.most(MAX_ROOT_REASON);
    expect(summary.endsWith('…')).to.equal(true);
    const many = failedRootsSummary(Array.from({ length: 6 }, (_, i) => ({ ...root(reasons), name: `r${i}` })), ['r0', 'r1', 'r2', 'r3', 'r4', 'r5']);
    expect(many.length).to.be.below(4 * (MAX_ROOT_REASON + 10));
    expect(many).to.match(/; 3 more trust root\(s\) did not verify$/);
  });
});
