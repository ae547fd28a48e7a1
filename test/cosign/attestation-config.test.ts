/** `with.attestations` at load time: predicate types, trust roots, and CEL compiled and type-checked, each error at its path. */
import { generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import { ConfigError } from '../../src/errors.js';
import { parseConfig } from '../../src/config/load.js';
import { attestationRequirements } from '../../src/validators/cosign/attestation-options.js';
import { indentPem } from '../support/configs.js';

const pem = (): string => generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }) as string;
const [RELEASE, SCANNER] = [pem(), pem()];

function config(attestations: string): string {
  return `validators:
  - name: acme
    type: cosign
    trustRoots:
      - name: release
        key: |
${indentPem(RELEASE, 10)}
      - name: scanner
        key: |
${indentPem(SCANNER, 10)}
policy:
  - pattern: "registry.acme.example/*"
    validator: acme
    with:
      trustRoot: release
      attestations:
${attestations}
`;
}

function problems(text: string): string[] {
  try {
    parseConfig(text, '/etc/imprimatur/config.yaml');
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return (err as ConfigError).message.split('\n');
  }
  return [];
}

describe('cosign validator: with.attestations at load time', () => {
  it('accepts the documented examples and resolves short names to cosign\'s predicate type URIs', () => {
    const text = config(`        - predicateType: slsaprovenance1
          policy: predicate.buildDefinition.externalParameters.workflow.repository == "https://github.com/acme/app"
        - predicateType: vuln
          trustRoot: scanner
          policy: >-
            now - timestamp(predicate.metadata.scanFinishedOn) < duration("168h") &&
            !predicate.scanner.result.Results.exists(r, has(r.Vulnerabilities) && r.Vulnerabilities.exists(v, v.Severity == "CRITICAL"))
        - predicateType: cyclonedx
        - predicateType: https://example.com/custom/v1
          trustRoot: "*"
          threshold: 2
          required: [scanner]`);
    expect(problems(text)).to.deep.equal([]);
    const loaded = parseConfig(text, '/etc/imprimatur/config.yaml');
    const reqs = attestationRequirements(loaded.policy[0]!.with, ['release', 'scanner']);
    expect(reqs.map((r) => [r.predicateType, r.policy.trustRoots, r.policy.threshold, r.policy.required])).to.deep.equal([
      ['https://slsa.dev/provenance/v1', ['release'], 1, ['release']],
      ['https://cosign.sigstore.dev/attestation/vuln/v1', ['scanner'], 1, ['scanner']],
      ['https://cyclonedx.org/bom', ['release'], 1, ['release']],
      ['https://example.com/custom/v1', ['release', 'scanner'], 2, ['scanner']],
    ]);
  });

  it('maps every cosign short name', () => {
    const names = ['custom', 'slsaprovenance', 'slsaprovenance02', 'slsaprovenance1', 'spdx', 'spdxjson', 'cyclonedx', 'link', 'vuln', 'openvex'];
    const loaded = parseConfig(config(names.map((n) => `        - predicateType: ${n}`).join('\n')), '/etc/imprimatur/config.yaml');
    expect(attestationRequirements(loaded.policy[0]!.with, ['release', 'scanner']).map((r) => r.predicateType)).to.deep.equal([
      'https://cosign.sigstore.dev/attestation/v1', 'https://slsa.dev/provenance/v0.2', 'https://slsa.dev/provenance/v0.2', 'https://slsa.dev/provenance/v1',
      'https://spdx.dev/Document', 'https://spdx.dev/Document', 'https://cyclonedx.org/bom', 'https://in-toto.io/Link/v1',
      'https://cosign.sigstore.dev/attestation/vuln/v1', 'https://openvex.dev/ns',
    ]);
  });

  const cases: Array<[string, string, string]> = [
    ['a CEL syntax error', `        - predicateType: vuln\n          policy: predicate.x ==`, '/etc/imprimatur/config.yaml: policy[0].with.attestations[0].policy: CEL policy "predicate.x ==" does not compile: Unexpected token: EOF (at character 15)'],
    ['an unknown variable', `        - predicateType: vuln\n          policy: statement.predicate != null`, '/etc/imprimatur/config.yaml: policy[0].with.attestations[0].policy: CEL policy "statement.predicate != null" does not compile: Unknown variable: statement (at character 1)'],
    ['a type error', `        - predicateType: vuln\n          policy: predicateType > 3`, '/etc/imprimatur/config.yaml: policy[0].with.attestations[0].policy: CEL policy "predicateType > 3" does not compile: no such overload: string > int (at character 1)'],
    ['a non-boolean policy', `        - predicateType: vuln\n          policy: size(subject)`, '/etc/imprimatur/config.yaml: policy[0].with.attestations[0].policy: CEL policy "size(subject)" evaluates to int, not bool; a policy must be true or false (e.g. compare with ==)'],
    ['an unknown short name', `        - predicateType: sbom`, '/etc/imprimatur/config.yaml: policy[0].with.attestations[0].predicateType: "sbom" is neither a cosign predicate type (custom, slsaprovenance, slsaprovenance02, slsaprovenance1, spdx, spdxjson, cyclonedx, link, vuln, openvex) nor an absolute URI such as https://slsa.dev/provenance/v1'],
    ['an unknown trust root', `        - predicateType: vuln\n          trustRoot: auditor`, '/etc/imprimatur/config.yaml: policy[0].with.attestations[0].trustRoot: validator "acme" has no trust root "auditor"; use one of: release, scanner, or "*" for all'],
    ['an unreachable threshold', `        - predicateType: vuln\n          trustRoot: "*"\n          threshold: 3`, '/etc/imprimatur/config.yaml: policy[0].with.attestations[0].threshold: threshold 3 can never be reached: validator "acme" has only 2 trust root(s) (release, scanner); lower the threshold or add trust roots'],
    ['threshold without trustRoot', `        - predicateType: vuln\n          threshold: 1`, '/etc/imprimatur/config.yaml: policy[0].with.attestations[0].threshold: needs trustRoot in the same attestation (without it, the rule\'s trustRoot, threshold and required apply); add trustRoot: "*"'],
    ['an unknown key', `        - predicateType: vuln\n          condition: true`, '/etc/imprimatur/config.yaml: policy[0].with.attestations[0].condition: unknown key "condition"'],
  ];
  for (const [what, attestations, expected] of cases) {
    it(`refuses ${what}, pointing at the rule and the expression`, () => {
      const found = problems(config(attestations));
      expect(found.some((p) => p.startsWith(expected)), found.join('\n')).to.equal(true);
    });
  }
});
