/**
 * Connaisseur configurations keep their meaning (issue 12): settings read as Connaisseur reads them, keys it
 * ignores accepted with a warning, and the small messages of issue 19 item 10.
 */
import { expect } from 'chai';
import yaml from 'js-yaml';
import { ConfigError, type ConfigProblem } from '../../src/errors.js';
import { parseConfig } from '../../src/config/load.js';
import type { AppConfig } from '../../src/config/types.js';
import { parseImageReference } from '../../src/image/reference.js';
import { PolicyMatcher } from '../../src/policy/matcher.js';

const KEY = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEG5dOzQD2fp2MGzscdBO9ZdhZpIWN
cY27Od0Lo6UuHkjr8hT9VefoJuh9t2iGt/SsGykjVGXBzQiF7ADVU9WEAw==
-----END PUBLIC KEY-----
`;
const STATIC = [{ name: 'default', type: 'static', approve: true }, { name: 'deny', type: 'static', approve: false }];

function load(app: Record<string, unknown>): AppConfig {
  return parseConfig(yaml.dump({ validators: STATIC, policy: [{ pattern: '*:*' }], ...app }), 'c.yaml');
}

function refusal(app: Record<string, unknown>): ConfigProblem[] {
  try {
    load(app);
  } catch (err) {
    return (err as ConfigError).problems;
  }
  throw new Error('expected a refusal');
}

function warningAt(config: AppConfig, path: string): string {
  const w = config.warnings.find((x) => x.path === path);
  expect(w, `a warning at ${path} in ${JSON.stringify(config.warnings)}`).to.not.equal(undefined);
  return w!.message;
}

describe('Connaisseur compatibility: settings', () => {
  const levels: Array<[unknown, string, boolean]> = [
    ['debug', 'debug', false], ['INFO', 'info', false], ['fATaL', 'fatal', false], ['warn', 'warn', false],
    ['warning', 'info', true], ['panic', 'info', true], ['', 'info', true],
  ];
  for (const [value, effective, warned] of levels) {
    it(`logLevel ${JSON.stringify(value)} → ${effective}${warned ? ' with a warning' : ''} (as Connaisseur)`, () => {
      const config = load({ logLevel: value });
      expect(config.logLevel).to.equal(effective);
      expect(config.warnings.some((w) => w.path === 'logLevel')).to.equal(warned);
    });
  }

  it('logFormat json / json-pretty / default json / unknown → json with a warning', () => {
    expect(load({ logFormat: 'json' }).logFormat).to.equal('json');
    expect(load({ logFormat: 'JSON-Pretty' }).logFormat).to.equal('json-pretty');
    expect(load({}).logFormat).to.equal('json');
    const odd = load({ logFormat: 'yaml' });
    expect(odd.logFormat).to.equal('json');
    expect(warningAt(odd, 'logFormat')).to.match(/not a log format; writing one JSON line per entry/);
  });

  it('enum settings are read case-insensitively (PodsOnly, Validate), other values are refused', () => {
    const c = load({ features: { resourceValidationMode: 'PodsOnly', namespacedValidation: { mode: 'Validate' } } });
    expect(c.features.resourceValidationMode).to.equal('podsOnly');
    expect(c.features.namespacedValidation.mode).to.equal('validate');
    expect(refusal({ features: { resourceValidationMode: 'somethingDifferent' } })[0]!.message).to.match(/must be one of: "all", "podsOnly"/);
  });

  it('booleans are typed: a quoted or misspelt detectionMode is refused, never silently false', () => {
    expect(refusal({ features: { detectionMode: 'true' } })[0]).to.deep.include({ path: 'features.detectionMode' });
  });

  it('application.alerts is accepted with a warning naming why it has no effect', () => {
    expect(warningAt(load({ alerts: [] }), 'alerts')).to.match(/has no effect in Imprimatur .*never reads it/);
  });
});

describe('Connaisseur compatibility: validators and rules', () => {
  it('validator names may have upper case, "_" and "." (Connaisseur allows any name)', () => {
    const c = load({ validators: [...STATIC, { name: 'notary_validator', type: 'static', approve: true }, { name: 'notImplemented.v2', type: 'static', approve: true }], policy: [{ pattern: '*', validator: 'notary_validator' }] });
    expect(c.validators.map((v) => v.name)).to.include.members(['notary_validator', 'notImplemented.v2']);
  });

  it('an empty trustRoot means the trust root named default, and an empty validator the validator named default', () => {
    const c = load({
      validators: [...STATIC, { name: 'sig', type: 'cosign', trustRoots: [{ name: 'default', key: KEY }, { name: 'other', key: KEY }] }],
      policy: [{ pattern: 'a/*', validator: 'sig', with: { trustRoot: '', verifyInTransparencyLog: false } }, { pattern: 'b/*', validator: '' }],
    });
    expect(c.policy[0]!.with.trustRoot).to.equal('default');
    expect(c.policy[1]!.validator).to.equal('default');
  });

  it("Connaisseur's rule options a validator does not use are accepted with a warning; unknown options stay errors", () => {
    const c = load({
      validators: [...STATIC, { name: 'nv', type: 'notaryv1', trustRoots: [{ name: 'default', key: KEY }] }],
      policy: [{ pattern: '*', validator: 'nv', with: { verifyInTransparencyLog: false, threshold: 2, verificationLevel: 'audit' } }],
    });
    expect(warningAt(c, 'policy[0].with.verifyInTransparencyLog')).to.match(/has no effect: validator "nv" of type notaryv1 does not use "verifyInTransparencyLog" \(Connaisseur ignores it too\)/);
    expect(warningAt(c, 'policy[0].with.threshold')).to.match(/does not use "threshold"/);
    expect(warningAt(c, 'policy[0].with.verificationLevel')).to.match(/does not use/);
    expect(refusal({ policy: [{ pattern: '*', with: { colour: 'red' } }] })[0]).to.deep.include({ path: 'policy[0].with.colour' });
    expect(refusal({ policy: [{ pattern: '*', with: { verificationLevel: 'loose' } }] })[0]!.message).to.match(/must be one of: "strict", "permissive", "audit"/);
  });

  it('required and delegations together are refused, as in Connaisseur', () => {
    const problems = refusal({
      validators: [...STATIC, { name: 'nv', type: 'notaryv1', trustRoots: [{ name: 'default', key: KEY }] }],
      policy: [{ pattern: '*', validator: 'nv', with: { required: ['a'], delegations: ['b'] } }],
    });
    expect(problems.map((p) => p.message).join('\n')).to.match(/sets both required .* and delegations .*; a rule uses one of the two/);
  });

  it('two rules with the same pattern load with a warning: the later one wins (as in Connaisseur)', () => {
    const c = load({ policy: [{ pattern: 'docker.io/library/nginx', validator: 'deny' }, { pattern: 'nginx', validator: 'default' }] });
    expect(warningAt(c, 'policy[1].pattern')).to.match(/same as policy\[0\]\.pattern .*this later rule wins and policy\[0\] is never used/);
    const match = new PolicyMatcher(c.policy).match(parseImageReference('nginx:1.25'));
    expect(match!.rule.index).to.equal(1);
    expect(match!.tied.map((r) => r.index)).to.deep.equal([0]);
  });

  it('a pattern with upper case in its repository loads with a warning that it never matches', () => {
    expect(warningAt(load({ policy: [{ pattern: '*:*' }, { pattern: 'ghcr.io/MyOrg/*' }] }), 'policy[1].pattern')).to.match(/never matches; write it in lower case/);
  });

  it("inline auth {username, password, registry} is Connaisseur's one-registry binding; without registry a cosign validator is refused, a notaryv1 one is bound to its host", () => {
    const cosign = (auth: Record<string, unknown>) => ({ validators: [...STATIC, { name: 'c', type: 'cosign', auth, trustRoots: [{ name: 'default', key: KEY }] }] });
    expect(load(cosign({ username: 'u', password: 'p', registry: 'registry.example.com' })).validators[2]!.auth).to.deep.include({ registry: 'registry.example.com' });
    expect(refusal(cosign({ username: 'u', password: 'p' })).map((p) => [p.path, p.message.split(':')[0]])).to.deep.equal([['validators[2].auth.registries', 'is required with "username"']]);
    expect(refusal(cosign({ username: 'u', password: 'p', registry: 'a.io', registries: ['a.io'] })).map((p) => p.message)).to.deep.equal(['sets both registry and registries; use one of them']);
    load({ validators: [...STATIC, { name: 'n', type: 'notaryv1', host: 'notary.example.com', auth: { username: 'u', password: 'p' }, trustRoots: [{ name: 'default', key: KEY }] }] });
  });

  it('no validators or no rules is refused, saying what is missing', () => {
    expect(refusal({ validators: [], policy: [{ pattern: '*' }] }).map((p) => [p.path, p.message])).to.deep.include(['validators', 'is empty; define at least one validator, e.g. {name: default, type: static, approve: false}']);
    expect(refusal({ policy: [] })[0]).to.deep.include({ path: 'policy' });
    expect(refusal({ policy: [] })[0]!.message).to.match(/is empty; define at least one rule/);
  });
});

describe('insecureRegistries: entries as image references write them (issue 19 item 10)', () => {
  const refused: Array<[string, RegExp]> = [
    ['http://registry.local:5000', /has a scheme; write the registry as image references do, without it: "registry\.local:5000"/],
    ['https://10.0.0.5:5000/', /has a scheme; .*"10\.0\.0\.5:5000"/],
    ['registry.local:5000/team', /has a path; a registry is host\[:port\], e\.g\. "registry\.local:5000"/],
    ['Registry.Local:5000', /upper-case letters; .* write "registry\.local:5000"/],
    ['registry local', /is not a registry host\[:port\]/],
  ];
  for (const [entry, message] of refused) {
    it(`refuses ${JSON.stringify(entry)}`, () => {
      const p = refusal({ insecureRegistries: [entry] });
      expect(p.map((x) => x.path)).to.include('insecureRegistries[0]');
      expect(p.find((x) => x.path === 'insecureRegistries[0]')!.message).to.match(message);
    });
  }

  it('warns that 127.0.0.1 without a port never covers 127.0.0.1:5000', () => {
    const c = load({ insecureRegistries: ['127.0.0.1', 'localhost', 'registry.local', 'registry.local:5000'] });
    expect(warningAt(c, 'insecureRegistries[0]')).to.match(/"127\.0\.0\.1" has no port, so it covers only 127\.0\.0\.1 on port 80 .*never "127\.0\.0\.1:5000\/…"; write the port/);
    expect(warningAt(c, 'insecureRegistries[1]')).to.match(/localhost/);
    expect(c.warnings.map((w) => w.path)).to.not.include('insecureRegistries[2]');
    expect(c.insecureRegistries).to.deep.equal(['127.0.0.1', 'localhost', 'registry.local', 'registry.local:5000']);
  });
});
