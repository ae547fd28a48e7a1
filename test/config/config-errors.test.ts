import { expect } from 'chai';
import { ConfigError } from '../../src/errors.js';
import { parseConfig } from '../../src/config/load.js';

const V = `validators:
  - name: allow
    type: static
    approve: true
  - name: default
    type: static
    approve: false
`;

/** [description, config text, expected path, expected words in the message] */
const BROKEN: Array<[string, string, string, RegExp]> = [
  ['not YAML', 'validators: [\n  - name: x', '', /not valid YAML: line/],
  ['empty file', '', '', /empty/],
  ['top level is a list', '- a\n- b', '', /top level must be a mapping/],
  ['missing policy', V, 'policy', /required/],
  ['unknown top-level key', `${V}policy: []\nfeaturez: {}`, 'featurez', /unknown key "featurez"/],
  ['validator name with a space', `validators:\n  - name: my validator\n    type: static\n    approve: true\npolicy: []`, 'validators[0].name', /letters, digits, "-", "_" and "\."/],
  ['no validators', `validators: []\npolicy:\n  - pattern: "*:*"`, 'validators', /is empty; define at least one validator/],
  ['no policy rules', `${V}policy: []`, 'policy', /is empty; define at least one rule/],
  ['validator without type', `validators:\n  - name: a\npolicy: []`, 'validators[0].type', /required/],
  ['unknown validator type', `validators:\n  - name: a\n    type: magic\npolicy: []`, 'validators[0].type', /unknown validator type "magic"/],
  ['notation validator without trust roots', `validators:\n  - name: a\n    type: notation\npolicy: []`, 'validators[0].trustRoots', /required/],
  ['static without approve', `validators:\n  - name: a\n    type: static\npolicy: []`, 'validators[0].approve', /required/],
  ['a registry CA under "ca" (the key is "cert", issue 19 item 8)', `validators:\n  - name: a\n    type: notaryv1\n    host: notary.example.com\n    ca: x\n    trustRoots: []\npolicy: []`, 'validators[0].ca',
    /^unknown key "ca" here; the CA \(PEM\) that issued the registry's TLS certificate goes in "cert": write validators\[0\]\.cert$/],
  ['unknown key in static validator', `validators:\n  - name: a\n    type: static\n    approve: true\n    key: x\npolicy: []`, 'validators[0].key', /unknown key "key"/],
  ['duplicate validator names', `${V}  - name: allow\n    type: static\n    approve: false\npolicy: []`, 'validators[2].name', /duplicate validator name "allow"/],
  ['rule without pattern', `${V}policy:\n  - validator: allow`, 'policy[0].pattern', /required/],
  ['rule naming unknown validator', `${V}policy:\n  - pattern: "*:*"\n  - pattern: "a/*"\n  - pattern: "b/*"\n  - pattern: "c/*"\n    validator: nope`, 'policy[3].validator', /unknown validator "nope"/],
  ['rule relying on a missing default', `validators:\n  - name: allow\n    type: static\n    approve: true\npolicy:\n  - pattern: "*:*"`, 'policy[0]', /no validator named "default"/],
  ['bad mode', `${V}policy:\n  - pattern: "*:*"\n    with:\n      mode: yolo`, 'policy[0].with.mode', /must be one of/],
  ['unknown rule option', `${V}policy:\n  - pattern: "*:*"\n    with:\n      colour: red`, 'policy[0].with.colour', /unknown key "colour"/],
  ['feature of the wrong type', `${V}policy: []\nfeatures:\n  detectionMode: "yes"`, 'features.detectionMode', /must be a boolean/],
  ['bad resourceValidationMode', `${V}policy: []\nfeatures:\n  resourceValidationMode: some`, 'features.resourceValidationMode', /must be one of: "all", "podsOnly"/],
  ['negative cache expiry', `${V}policy: []\nfeatures:\n  cache:\n    expirySeconds: -1`, 'features.cache.expirySeconds', />= 0/],
  ['bad namespacedValidation mode', `${V}policy: []\nfeatures:\n  namespacedValidation:\n    mode: maybe`, 'features.namespacedValidation.mode', /must be one of/],
  ['invalid pattern', `${V}policy:\n  - pattern: "a,b:*"`, 'policy[0].pattern', /contains ","/],
  ['pattern with a scheme', `${V}policy:\n  - pattern: "http://registry.local:5000/*"`, 'policy[0].pattern', /patterns have no scheme/],
  ['credentials without the registries they are for', `validators:\n  - name: a\n    type: cosign\n    auth:\n      username: bot\n      password: pw\n    trustRoots:\n      - name: default\n        keyless: { issuer: "https://i.example", subject: "s@example.com" }\npolicy: []`,
    'validators[0].auth.registries', /is required with "username": the registries \(host\[:port\]\) these credentials are for; they are sent to nothing else/],
  ['auth.fromWorkload that is not a boolean', `validators:\n  - name: a\n    type: cosign\n    auth:\n      fromWorkload: "yes"\n    trustRoots:\n      - name: default\n        keyless: { issuer: "https://i.example", subject: "s@example.com" }\npolicy: []`,
    'validators[0].auth.fromWorkload', /must be a boolean \(got string "yes"\)/],
  ['auth.fromWorkload on a Notary v1 validator (its credentials are for the Notary server, not a registry)', `validators:\n  - name: a\n    type: notaryv1\n    host: notary.example.com\n    auth:\n      fromWorkload: true\n    trustRoots:\n      - name: default\n        key: x\npolicy: []`,
    'validators[0].auth.fromWorkload', /unknown key "fromWorkload"/],
];

describe('config: broken configurations are refused with the file, the path and what to do', () => {
  for (const [what, text, path, message] of BROKEN) {
    it(what, () => {
      let error: unknown;
      try {
        parseConfig(text, '/etc/imprimatur/config.yaml');
      } catch (err) {
        error = err;
      }
      expect(error, 'config should be refused').to.be.instanceOf(ConfigError);
      const e = error as ConfigError;
      const match = e.problems.find((p) => p.path === path);
      expect(match, `a problem at "${path}" in:\n${e.message}`).to.not.equal(undefined);
      expect(match!.message).to.match(message);
      expect(e.message).to.contain('/etc/imprimatur/config.yaml');
    });
  }

  it('a validator without trust roots is reported once, at its trustRoots (not again at each rule using it)', () => {
    try {
      parseConfig('validators:\n  - name: default\n    type: cosign\n    trustRoots: []\npolicy:\n  - pattern: "*:*"\n', 'c.yaml');
      expect.fail('should be refused');
    } catch (err) {
      expect((err as ConfigError).problems.map((p) => `${p.path}: ${p.message}`)).to.deep.equal(['validators[0].trustRoots: is an empty list; add at least one entry or remove the key']);
    }
  });

  it('prefixes paths with application. for a Helm values file', () => {
    const text = `kubernetes:\n  deployment:\n    replicasCount: 3\napplication:\n${V.trimEnd().replace(/^/gm, '  ')}\n  policy:\n    - pattern: "*:*"\n    - pattern: "x/*"\n      validator: ghost\n`;
    try {
      parseConfig(text, 'values.yaml');
      expect.fail('should be refused');
    } catch (err) {
      expect((err as ConfigError).problems.map((p) => p.path)).to.include('application.policy[1].validator');
    }
  });

  it('reports every problem, not just the first', () => {
    try {
      parseConfig(`${V}policy:\n  - pattern: "a/*"\n    validator: x\n  - pattern: "b/*"\n    validator: y`, 'c.yaml');
      expect.fail('should be refused');
    } catch (err) {
      expect((err as ConfigError).problems.map((p) => p.path)).to.deep.equal(['policy[0].validator', 'policy[1].validator']);
    }
  });
});

describe('config: valid configurations', () => {
  it('applies defaults to rules and features', () => {
    const c = parseConfig(`${V}policy:\n  - pattern: "*:*"\n  - pattern: "registry.k8s.io/*"\n    validator: allow\n    with:\n      mode: insecureValidateOnly`, 'c.yaml');
    expect(c.policy[0]).to.include({ validator: 'default', path: 'policy[0]' });
    expect(c.policy[0]!.with).to.deep.equal({ trustRoot: 'default', mode: 'mutate' });
    expect(c.policy[1]!.with.mode).to.equal('insecureValidateOnly');
    expect(c.features).to.deep.equal({
      detectionMode: false, automaticUnchangedApproval: false, automaticChildApproval: true, resourceValidationMode: 'all',
      namespacedValidation: { mode: 'ignore' }, cache: { expirySeconds: 30, cacheErrors: true },
    });
    expect(c.requestTimeoutMs).to.equal(25000);
    expect(c.prefix).to.equal('');
  });

  it('reads application and the top-level alerting of a Helm values file', () => {
    const text = `kubernetes: {}\napplication:\n${V.trimEnd().replace(/^/gm, '  ')}\n  policy:\n    - pattern: "*:*"\n  features:\n    detectionMode: true\nalerting:\n  clusterIdentifier: prod-eu\n`;
    const c = parseConfig(text, 'values.yaml');
    expect(c.prefix).to.equal('application.');
    expect(c.features.detectionMode).to.equal(true);
    expect(c.alerting).to.deep.equal({ clusterIdentifier: 'prod-eu' });
  });
});
