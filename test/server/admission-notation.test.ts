/**
 * End to end through POST /mutate (and /validate) and `imprimatur explain` with the notation validator: images signed
 * by the real `notation sign` (JWS and COSE, with a timestamp from a real RFC 3161 TSA) on real registries (olareg
 * through the referrers API, distribution 2.8 through the referrers tag schema), the real
 * HTTPS webhook, and the built bin. Admitted workloads are pinned to the verified digest; unsigned, untrusted,
 * wrong-identity and unverifiable-revocation signatures are denied with the exact sentence kubectl shows.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startWebhook, writeTempConfig, type TestWebhook } from '../support/webhook.js';
import { applyPatch, review, workload } from '../support/reviews.js';
import { rootOf, startWorld, validatorYaml, type World } from '../notation/world.js';

type Image = Awaited<ReturnType<World['image']>>;

/** A signature as the validator labels it (`sha256:` + 12 hex digits of the signature manifest, then the format). */
const SIGNATURE = 'sha256:[0-9a-f]{12}… \\((?:JWS|COSE)\\)';

/** `text` must be exactly `template`, where `<sig>` stands for a signature label. */
function expectExactly(text: string, template: string): void {
  const pattern = template.split('<sig>').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join(SIGNATURE);
  expect(text).to.match(new RegExp(`^${pattern}$`));
}

describe('admission with the notation validator (real notation CLI signatures, real registry, /mutate and explain)', function () {
  this.timeout(180_000);
  let w: World;
  let hook: TestWebhook;
  let configFile: string;
  /** JWS, `notation cert generate-test` certificate (olareg: referrers API). */
  let quick: Image;
  /** The same signer on distribution 2.8, signed with notation's default (the referrers tag schema). */
  let quickTagSchema: Image;
  /** COSE with an RFC 3161 timestamp, CA-issued leaf CN=release (OU=Release). */
  let release: Image;
  let unsigned: Image;
  /** Signed by an unrelated CA. */
  let untrusted: Image;
  /** Signed by a leaf of the release CA whose subject is not a trusted identity (OU=Interns). */
  let intern: Image;
  /** Signed by a leaf of the release CA that names a CRL (revocation cannot be checked offline). */
  let revocable: Image;
  let trustedIdentity: string;

  const host = () => w.reg.host;

  before(async () => {
    w = await startWorld();
    const releaseIntermediate = w.release.issuer!;
    const internLeaf = w.pki.issue('intern', { subject: '/C=US/ST=WA/L=Seattle/O=Imprimatur Test/OU=Interns/CN=intern', profile: 'leaf', issuer: releaseIntermediate });
    w.cli.addSigningKey('intern', internLeaf.keyPath, w.pki.writeChain(internLeaf));
    const crlLeaf = w.pki.issue('release-crl', {
      subject: '/C=US/ST=WA/L=Seattle/O=Imprimatur Test/OU=Release/CN=release-crl', profile: 'leaf', issuer: releaseIntermediate,
      extraExtensions: ['crlDistributionPoints = URI:http://crl.imprimatur.test/release.crl'],
    });
    w.cli.addSigningKey('release-crl', crlLeaf.keyPath, w.pki.writeChain(crlLeaf));

    [quick, release, unsigned, untrusted, intern, revocable, quickTagSchema] = await Promise.all([
      w.image('quick/app'), w.image('release/api'), w.image('quick/unsigned'), w.image('release/untrusted'), w.image('release/intern'), w.image('release/revocable'),
      w.image('quick/legacy', w.tagSchemaReg),
    ]);
    await w.cli.sign(quick.direct, { key: 'quick' });
    await w.cli.sign(quickTagSchema.direct, { key: 'quick', forceReferrersTag: true });
    await w.cli.sign(release.direct, { key: 'release', format: 'cose', timestampUrl: w.tsa.url, timestampRootCert: w.tsa.root.certPath });
    await w.cli.sign(untrusted.direct, { key: 'other' });
    await w.cli.sign(intern.direct, { key: 'intern' });
    await w.cli.sign(revocable.direct, { key: 'release-crl', timestampUrl: w.tsa.url, timestampRootCert: w.tsa.root.certPath });

    trustedIdentity = 'x509.subject: C=US, ST=WA, O=Imprimatur Test, OU=Release';
    const yaml = `
insecureRegistries: ["${host()}", "${w.tagSchemaReg.host}"]
validators:
  - name: deny
    type: static
    approve: false
${validatorYaml('acme', [
  { name: 'quick', cert: w.quickCert },
  { name: 'release', cert: rootOf(w.release).certPem, tsCert: w.tsa.root.certPem, trustedIdentities: [trustedIdentity] },
])}policy:
  - pattern: "*:*"
    validator: deny
  - pattern: "${host()}/quick/*"
    validator: acme
    with:
      trustRoot: quick
  - pattern: "${w.tagSchemaReg.host}/quick/*"
    validator: acme
    with:
      trustRoot: quick
  - pattern: "${host()}/release/*"
    validator: acme
    with:
      trustRoot: release
  - pattern: "${host()}/release/revocable"
    validator: acme
    with:
      trustRoot: release
      verificationLevel: permissive
`;
    configFile = writeTempConfig(yaml);
    hook = await startWebhook(yaml);
  });
  after(async () => {
    await hook?.close();
    await w?.stop();
  });

  it('a Deployment whose images were signed with notation sign (JWS and COSE with a timestamp; referrers API and tag schema) is admitted and every container pinned to the verified digest', async () => {
    const obj = workload('Deployment', { containers: [quick.tagged, release.tagged, quickTagSchema.tagged], initContainers: [quick.tagged] });
    const res = await hook.post(review('Deployment', obj));
    expect(res.json.response.allowed, res.text).to.equal(true);
    expect(res.json.response.warnings).to.equal(undefined);
    const spec = (applyPatch(obj, res.json.response.patch) as any).spec.template.spec;
    expect(spec.containers.map((c: any) => c.image)).to.deep.equal([`${quick.tagged}@${quick.digest}`, `${release.tagged}@${release.digest}`, `${quickTagSchema.tagged}@${quickTagSchema.digest}`]);
    expect(spec.initContainers[0].image).to.equal(`${quick.tagged}@${quick.digest}`);
    // the validating pass sees the pinned images (our own patch) and admits them
    const pinned = applyPatch(obj, res.json.response.patch);
    const validated = await hook.post(review('Deployment', pinned), { path: '/validate' });
    expect(validated.json.response.allowed, validated.text).to.equal(true);
  });

  it('unsigned, untrusted and wrong-identity images are denied, each with the exact reason: the check, the certificate subject, what to do', async () => {
    const res = await hook.post(review('Pod', workload('Pod', { containers: [unsigned.tagged, untrusted.tagged, intern.tagged] }, 'web')));
    expect(res.json.response.allowed).to.equal(false);
    expect(res.json.response.status.code).to.equal(403);
    const parts = (res.json.response.status.message as string).replace(/^Imprimatur denied Pod team-a\/web: /, '').split(/; (?=image ")/);
    expect(parts).to.have.length(3);
    expectExactly(parts[0]!,
      `image "${unsigned.tagged}" (rule "${host()}/quick/*", validator "acme"): no Notation signature found for ${unsigned.tagged} (${unsigned.digest}) ` +
      `through the referrers API or the referrers tag schema; sign it with \`notation sign ${host()}/quick/unsigned@${unsigned.digest}\``);
    expectExactly(parts[1]!,
      `image "${untrusted.tagged}" (rule "${host()}/release/*", validator "acme"): no Notation signature passes trust root "release" (verificationLevel strict): ` +
      'signature <sig> by "C=US, ST=WA, L=Seattle, O=Imprimatur Test, OU=Release, CN=other": authenticity check failed: ' +
      'its certificate chain (root "C=US, ST=WA, O=Imprimatur Test, CN=other Root CA") ' +
      'contains no certificate of trust root "release" ' +
      '(sign with a certificate issued by trust root "release", or, if this signer is trusted, add its root CA certificate to the trust root\'s cert)');
    expectExactly(parts[2]!,
      `image "${intern.tagged}" (rule "${host()}/release/*", validator "acme"): no Notation signature passes trust root "release" (verificationLevel strict): ` +
      'signature <sig> by "C=US, ST=WA, L=Seattle, O=Imprimatur Test, OU=Interns, CN=intern": authenticity check failed: ' +
      `signing certificate "C=US, ST=WA, L=Seattle, O=Imprimatur Test, OU=Interns, CN=intern" is not one of the trusted identities (${trustedIdentity}) ` +
      '(if this signer is trusted, add "x509.subject: C=US, ST=WA, L=Seattle, O=Imprimatur Test, OU=Interns, CN=intern" to trust root "release"\'s trustedIdentities; ' +
      'otherwise sign with the certificate of a listed identity)');
  });

  it('a certificate whose revocation cannot be checked offline: denied at strict naming the CRL; admitted at permissive with a warning kubectl shows', async () => {
    const strictYaml = readFileSync(configFile, 'utf8').replace(/\n {2}- pattern: "[^"]+\/release\/revocable"[\s\S]*$/, '\n');
    const strict = await startWebhook(strictYaml);
    try {
      const res = await strict.post(review('Pod', workload('Pod', { containers: [revocable.tagged] }, 'crl')));
      expect(res.json.response.allowed).to.equal(false);
      expectExactly(res.json.response.status.message,
        `Imprimatur denied Pod team-a/crl: image "${revocable.tagged}" (rule "${host()}/release/*", validator "acme"): no Notation signature passes trust root "release" (verificationLevel strict): ` +
        'signature <sig> by "C=US, ST=WA, L=Seattle, O=Imprimatur Test, OU=Release, CN=release-crl": revocation check failed: ' +
        'revocation status of certificate "C=US, ST=WA, L=Seattle, O=Imprimatur Test, OU=Release, CN=release-crl" is unknown: it names CRL http://crl.imprimatur.test/release.crl, ' +
        'and Imprimatur checks revocation offline only ' +
        '(set with.verificationOverride.revocation: log (or skip) to accept certificates whose revocation cannot be checked offline, ' +
        'set revocationCheck: online on the validator to check it, or sign with a certificate without CRL/OCSP endpoints)');
    } finally {
      await strict.close();
    }
    const obj = workload('Pod', { containers: [revocable.tagged] }, 'crl');
    const res = await hook.post(review('Pod', obj));
    expect(res.json.response.allowed, res.text).to.equal(true);
    expect(res.json.response.warnings).to.deep.equal([
      `image "${revocable.tagged}": verificationLevel permissive: revocation failed (logged only) for the Notation signature by "C=US, ST=WA, L=Seattle, O=Imprimatur Test, OU=Release, CN=release-crl" (trust root "release")`,
    ]);
    expect((applyPatch(obj, res.json.response.patch) as any).spec.containers[0].image).to.equal(`${revocable.tagged}@${revocable.digest}`);
  });

  it('imprimatur explain (built bin) shows each signature and every check: passed, failed with the reason and hint, logged', async () => {
    const explain = async (...args: string[]) => {
      // Asynchronous: the registry's counting front runs in this process and must keep serving.
      try {
        const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(process.cwd(), 'bin', 'imprimatur.js'), 'explain', '--config', configFile, ...args], { encoding: 'utf8', env: { ...process.env, IMPRIMATUR_LOG_LEVEL: 'silent' } });
        return { status: 0, stdout, stderr };
      } catch (err) {
        const e = err as { code: number; stdout: string; stderr: string };
        return { status: e.code, stdout: e.stdout, stderr: e.stderr };
      }
    };
    const text = await explain(release.tagged, untrusted.tagged, revocable.tagged);
    expect(text.status, text.stderr).to.equal(1);
    const [ok, bad, logged] = text.stdout.split(/\n(?=\S)/);
    expect(ok).to.contain('  validator:   acme (notation)').and.contain('  level:       strict (verifyTimestamp always)').and.contain(`  digest:      ${release.digest}`);
    const okLines = ok!.split('\n');
    const i = okLines.findIndex((l) => l.startsWith('    ✔ release: 1 signature(s) — verified sha256:'));
    expect(i, ok).to.be.greaterThan(0);
    expect(okLines[i + 1]).to.match(new RegExp(`^ {8}✔ signature ${SIGNATURE} by "C=US, ST=WA, L=Seattle, O=Imprimatur Test, OU=Release, CN=release"$`));
    expect(okLines[i + 2]).to.equal('            integrity ✔, authenticity ✔, expiry ✔, authenticTimestamp ✔, revocation ✔');
    expect(okLines[i + 3]).to.match(/^ {12}timestamp \d{4}-\d\d-\d\dT[\d:.]+Z by "C=US, ST=WA, O=Imprimatur Test TSA, CN=tsa"$/);

    expect(bad).to.contain('  outcome:     DENIED [SIGNATURE_INVALID] — no Notation signature passes trust root "release"');
    const badLines = bad!.split('\n');
    const j = badLines.indexOf('    ✘ release: 1 signature(s)');
    expect(j, bad).to.be.greaterThan(0);
    expect(badLines[j + 2]).to.equal('            integrity ✔, authenticity ✘');
    expect(badLines[j + 3]).to.equal('            authenticity failed: its certificate chain (root "C=US, ST=WA, O=Imprimatur Test, CN=other Root CA") contains no certificate of trust root "release" — sign with a certificate issued by trust root "release", or, if this signer is trusted, add its root CA certificate to the trust root\'s cert');

    expect(logged).to.contain('  outcome:     ADMITTED').and.contain('  level:       permissive (verifyTimestamp always)');
    expect(logged).to.contain('            integrity ✔, authenticity ✔, expiry ✔, authenticTimestamp ✔, revocation ⚠ logged');
    expect(logged).to.contain('            revocation failed (logged only): revocation status of certificate "C=US, ST=WA, L=Seattle, O=Imprimatur Test, OU=Release, CN=release-crl" is unknown');
    expect(logged).to.contain('  warning:     verificationLevel permissive: revocation failed (logged only) for the Notation signature by');

    const json = await explain('--json', untrusted.tagged);
    const [record] = JSON.parse(json.stdout);
    expect(record).to.include({ outcome: 'denied', code: 'SIGNATURE_INVALID' });
    expect(record.record.trustRoots[0].attempts[0].checks).to.deep.equal({ integrity: 'passed', authenticity: 'failed' });
  });
});
