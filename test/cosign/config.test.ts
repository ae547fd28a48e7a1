import { generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import { Ajv } from 'ajv';
import { cosignValidatorType } from '../../src/validators/cosign/index.js';
import { parseCosignConfig } from '../../src/validators/cosign/config.js';
import type { ValidatorConfig } from '../../src/config/types.js';
import { env, fixtureText, keyConfig, rule, vectorConfig } from './helpers.js';
import yaml from 'js-yaml';

const ajv = new Ajv({ allErrors: true, strict: false });
const validateSchema = ajv.compile(cosignValidatorType.configSchema);

/** Schema errors and load-time problems of a config. */
function problemsOf(config: unknown): string[] {
  if (!validateSchema(config)) return (validateSchema.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);
  return cosignValidatorType.check!(config as ValidatorConfig, env([], 'validators[0]')).map((p) => `${p.path}: ${p.message}`);
}

const pem = (type: 'ec' | 'rsa' | 'ed25519' | 'x25519', opts: Record<string, unknown> = {}): string =>
  (generateKeyPairSync(type as 'ec', opts as { namedCurve: string }).publicKey.export({ type: 'spki', format: 'pem' }) as string);

describe('cosign validator configuration', () => {
  describe('Connaisseur test configs', () => {
    for (const file of ['01_cosign.yaml', '02_rekor.yaml', '06_auth.yaml', '07_keychain.yaml', '08_cert.yaml', '09_full_config.yaml', '11_keyless.yaml']) {
      it(`accepts ${file}`, () => {
        expect(problemsOf(vectorConfig(file))).to.deep.equal([]);
      });
    }
    const rejected: Array<[string, RegExp]> = [
      ['03_unmarshal_err.yaml', /must be object/],
      ['04_rekor_err.yaml', /validators\[0\]\.host\.rekor: .*not a valid Rekor URL/],
      ['05_no_trust_roots.yaml', /must have required property 'trustRoots'/],
      ['10_invalid_cert.yaml', /validators\[0\]\.cert: certificate 1 cannot be parsed/],
      ['12_invalid_rekor_pub_key.yaml', /validators\[0\]\.host\.rekorPubkey: cannot be parsed as a PEM public key/],
      ['13_invalid_fulcio_cert.yaml', /validators\[0\]\.host\.fulcioCert: certificate 1 cannot be parsed/],
      ['14_invalid_ct_log_pub_key.yaml', /validators\[0\]\.host\.ctLogPubkey: cannot be parsed as a PEM public key/],
    ];
    for (const [file, expected] of rejected) {
      it(`rejects ${file}`, () => {
        const problems = problemsOf(yaml.load(fixtureText(file)));
        expect(problems.join('\n')).to.match(expected);
      });
    }
  });

  describe('trust root keys', () => {
    it('accepts ECDSA P-256, P-384, RSA 2048 and Ed25519 keys', () => {
      const config = keyConfig({ p256: pem('ec', { namedCurve: 'P-256' }), p384: pem('ec', { namedCurve: 'P-384' }), rsa: pem('rsa', { modulusLength: 2048 }), ed: pem('ed25519') });
      expect(problemsOf(config)).to.deep.equal([]);
    });

    it('names the path of a bad key and says what to do', () => {
      const config = keyConfig({
        good: pem('ec', { namedCurve: 'P-256' }),
        garbage: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----',
        weak: pem('rsa', { modulusLength: 1024 }),
        k256: pem('ec', { namedCurve: 'secp256k1' }),
        x: pem('x25519'),
        notpem: 'hello',
      });
      const problems = cosignValidatorType.check!(config, env([], 'application.validators[2]'));
      expect(problems.map((p) => p.path)).to.deep.equal([1, 2, 3, 4, 5].map((i) => `application.validators[2].trustRoots[${i}].key`));
      expect(problems[0]!.message).to.match(/cannot be parsed as a PEM public key/);
      expect(problems[1]!.message).to.equal('is an RSA key of 1024 bits, which is too weak; use an RSA key of at least 2048 bits');
      expect(problems[2]!.message).to.match(/unsupported elliptic curve secp256k1; use an ECDSA P-256 or P-384/);
      expect(problems[3]!.message).to.match(/x25519 key, which cosign signatures do not use/);
      expect(problems[4]!.message).to.match(/not a PEM public key/);
    });

    it('refuses a private key pasted as trust root', () => {
      const priv = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
      const problems = cosignValidatorType.check!(keyConfig({ alice: priv }), env());
      expect(problems).to.have.length(1);
      expect(problems[0]!.message).to.match(/is a private key; paste the public key/);
    });

    it('rejects a trust root with both key and keyless, or neither, and unknown keys', () => {
      const key = pem('ec', { namedCurve: 'P-256' });
      expect(problemsOf({ name: 'x', type: 'cosign', trustRoots: [{ name: 'a', key, keyless: { issuer: 'i', subject: 's' } }] })).to.not.deep.equal([]);
      expect(problemsOf({ name: 'x', type: 'cosign', trustRoots: [{ name: 'a' }] })).to.not.deep.equal([]);
      expect(problemsOf({ name: 'x', type: 'cosign', trustRoots: [{ name: 'a', key }], surprise: true })).to.not.deep.equal([]);
      expect(problemsOf({ name: 'x', type: 'cosign', trustRoots: [{ name: 'a', keyless: { issuer: 'i' } }] })).to.not.deep.equal([]);
    });

    it('reports an invalid keyless regex with its path', () => {
      const problems = problemsOf({ name: 'x', type: 'cosign', trustRoots: [{ name: 'a', keyless: { issuerRegex: '(', subject: 's' } }] });
      expect(problems).to.have.length(1);
      expect(problems[0]).to.match(/^validators\[0\]\.trustRoots\[0\]\.keyless\.issuerRegex: is not a valid regular expression/);
    });

    it('accepts auth as secretName or username/password (with the registries they are for), not both, and not a username alone', () => {
      const key = pem('ec', { namedCurve: 'P-256' });
      expect(problemsOf(keyConfig({ a: key }, { auth: { username: 'u', password: 'p', registries: ['registry.example.com'] } }))).to.deep.equal([]);
      expect(problemsOf(keyConfig({ a: key }, { auth: { secretName: 's', tokenHosts: ['auth.example.com'] } }))).to.deep.equal([]);
      // (raw ajv also reports the `if` wrapper, which the config layer leaves out)
      const unbound = problemsOf(keyConfig({ a: key }, { auth: { username: 'u', password: 'p' } })).filter((p) => !/"then" schema/.test(p));
      expect(unbound).to.have.length(1);
      expect(unbound[0]).to.match(/registries/);
      // Connaisseur's inline form: one `registry` instead of `registries`, not both
      expect(problemsOf(keyConfig({ a: key }, { auth: { username: 'u', password: 'p', registry: 'registry.example.com' } }))).to.deep.equal([]);
      expect(problemsOf(keyConfig({ a: key }, { auth: { username: 'u', password: 'p', registry: 'a.io', registries: ['a.io'] } }))).to.not.deep.equal([]);
      expect(problemsOf(keyConfig({ a: key }, { auth: { username: 'u', password: 'p', registry: 'https://a.io/v1/' } })), 'host[:port] only').to.not.deep.equal([]);
      expect(problemsOf(keyConfig({ a: key }, { auth: { secretName: 's', registries: ['x.io'] } })), 'registries only go with username/password').to.not.deep.equal([]);
      expect(problemsOf(keyConfig({ a: key }, { auth: { username: 'u' } }))).to.not.deep.equal([]);
      expect(problemsOf(keyConfig({ a: key }, { auth: { secretName: 's', username: 'u', password: 'p' } }))).to.not.deep.equal([]);
    });
  });

  describe('Sigstore trust material (host)', () => {
    const keyless = [{ name: 'k', keyless: { issuer: 'https://i.example', subjectRegex: '.*@example\\.com' } }];
    it('rejects a trusted root together with separate keys, an unreadable file and a document of another type', () => {
      const rekorPubkey = pem('ec', { namedCurve: 'P-256' });
      expect(problemsOf({ name: 'x', type: 'cosign', host: { trustedRoot: '{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}', rekorPubkey }, trustRoots: keyless }))
        .to.deep.equal(['validators[0].host.trustedRoot: cannot be combined with host.rekorPubkey; put all trust material into the trusted root document, or use the separate keys only']);
      expect(problemsOf({ name: 'x', type: 'cosign', host: { trustedRoot: '/nonexistent/trusted_root.json' }, trustRoots: keyless })[0]).to.match(/^validators\[0\]\.host\.trustedRoot: cannot read the trusted root file \/nonexistent\/trusted_root\.json \(ENOENT\)$/);
      expect(problemsOf({ name: 'x', type: 'cosign', host: { trustedRoot: { mediaType: 'text/plain' } }, trustRoots: keyless })[0]).to.match(/host\.trustedRoot: is not a Sigstore trusted root/);
    });

    it('accepts nothing at all (public-good defaults) and an inline trusted root mapping', () => {
      expect(problemsOf({ name: 'x', type: 'cosign', trustRoots: keyless })).to.deep.equal([]);
      expect(problemsOf({ name: 'x', type: 'cosign', host: { trustedRoot: { mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1', tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [] } }, trustRoots: keyless })).to.deep.equal([]);
    });

    it('anchors keyless regexes at load time', () => {
      const parsed = parseCosignConfig({ name: 'x', type: 'cosign', trustRoots: [{ name: 'k', keyless: { issuerRegex: 'a|b', subjectRegex: 'alice@example\\.com' } }] } as unknown as ValidatorConfig);
      const root = parsed.trustRoots[0]!;
      if (root.kind !== 'keyless') throw new Error('expected keyless');
      expect(root.identity.subjectRegex!.test('alice@example.com')).to.equal(true);
      expect(root.identity.subjectRegex!.test('alice@example.com.evil')).to.equal(false);
      expect(root.identity.subjectRegex!.test('mallory+alice@example.com')).to.equal(false);
      expect(root.identity.issuerRegex!.test('ab')).to.equal(false);
      expect(root.identity.issuerRegex!.test('b')).to.equal(true);
    });
  });

  describe('rule options', () => {
    const config = vectorConfig('01_cosign.yaml'); // trust roots alice, bob
    const check = (options: Record<string, unknown>, trustRoot = '*'): string[] =>
      cosignValidatorType.checkRuleOptions!(rule(trustRoot, options), config, 'policy[0].with').map((p) => `${p.path}: ${p.message}`);

    it('accepts a reachable threshold and known required trust roots', () => {
      expect(check({ threshold: 2, required: ['alice', 'bob'] })).to.deep.equal([]);
      expect(check({}, 'alice')).to.deep.equal([]);
    });

    it('rejects a threshold above the number of selected trust roots', () => {
      expect(check({ threshold: 3 })).to.deep.equal(['policy[0].with.threshold: threshold 3 can never be reached: validator "default" has only 2 trust root(s) (alice, bob); lower the threshold or add trust roots']);
      expect(check({ threshold: 2 }, 'alice')[0]).to.match(/^policy\[0\]\.with\.threshold: threshold 2 can never be reached with the single trust root "alice"/);
    });

    it('rejects required trust roots that do not exist', () => {
      expect(check({ required: ['alice', 'mallory'] })).to.deep.equal(['policy[0].with.required[1]: names unknown trust root "mallory"; validator "default" has: alice, bob']);
    });

    it('the rule options schema types threshold and required', () => {
      const schema = { type: 'object', additionalProperties: false, properties: cosignValidatorType.ruleOptionsSchema };
      const v = ajv.compile(schema);
      expect(v({ threshold: 2, required: ['a'], verifyInTransparencyLog: false, verifySCT: true, onlineTransparencyLog: false })).to.equal(true);
      expect(v({ threshold: 0 })).to.equal(false);
      expect(v({ threshold: 1.5 })).to.equal(false);
      expect(v({ required: 'alice' })).to.equal(false);
    });
  });
});
