/** Loading notation validator configs: Connaisseur's format unchanged, trustedIdentities, and the messages for bad ones. */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigFile, parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { parseNotationConfig, notationWarnings } from '../../src/validators/notation/config.js';
import { identityProblem, parseTrustedIdentities, suggestedIdentity } from '../../src/validators/notation/trusted-identities.js';
import { parsePemBundle } from '../../src/validators/notation/certificates.js';
import { Runtime } from '../../src/server/runtime.js';
import { captureLogger } from '../alerting/helpers.js';
import { indentPem } from '../support/configs.js';
import { writeTempConfig } from '../support/webhook.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'notation');
const signer = readFileSync(join(FIXTURES, 'signer.crt'), 'utf8');
const tsaRoot = readFileSync(join(FIXTURES, 'tsa-root.crt'), 'utf8');

function problems(yamlText: string): string[] {
  try {
    parseConfig(yamlText, '/etc/imprimatur/config.yaml');
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.path}: ${p.message}`);
    throw err;
  }
}

const one = (root: string, rule = '') => `validators:
  - name: default
    type: notation
    trustRoots:
${root}policy:
  - pattern: "*:*"
${rule}`;

describe('notation validator configuration', () => {
  it('a Connaisseur values file with notation validators and rule options loads unchanged', () => {
    // As check-config reads it (the registry Secret it names exists only in the cluster: a warning here).
    const config = loadConfigFile(join(FIXTURES, 'connaisseur-values.yaml'), { mode: 'check' });
    expect(config.validators.map((v) => v.type)).to.include('notation');
    expect(config.warnings.map((w) => w.path)).to.include('application.validators[2].auth.secretName');
    const rules = config.policy.filter((r) => r.validator === 'notation');
    expect(rules.map((r) => r.with.verificationLevel).filter(Boolean)).to.deep.equal(['permissive', 'audit']);
    expect(rules.some((r) => r.with.verifyTimestamp === 'afterCertExpiry')).to.equal(true);
  });

  it('trustedIdentities and verificationOverride load; the identities parse as Notation parses them', () => {
    expect(problems(one(`      - name: default
        cert: |
${indentPem(signer, 10)}
        trustedIdentities: ["x509.subject: C=DE, S=Berlin, O=Imprimatur Fixtures, CN=fixture-signer"]
`, `    with:
      verificationLevel: strict
      verificationOverride: { revocation: skip, expiry: log }
`))).to.deep.equal([]);
    const parsed = parseTrustedIdentities(['x509.subject: C=US, ST=WA, O=Acme\\, Inc., CN=a\\2Cb']);
    expect(parsed.ok && !parsed.value.any && [...parsed.value.identities[0]!.dn.entries()]).to.deep.equal([['C', 'US'], ['ST', 'WA'], ['O', 'Acme, Inc.'], ['CN', 'a,b']]);
  });

  it('bad configs name the path and what to do', () => {
    const pub = '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEOXYta5TgdCwXTCnLU09W5T4M4r9f\nQQrqJuADP6U7g5r9ICgPSmZuRHP/1AYUfOQW3baveKsT969EfELKj1lfCA==\n-----END PUBLIC KEY-----';
    expect(problems(one(`      - name: default
        cert: |
${indentPem(pub, 10)}
`))).to.deep.equal(['validators[0].trustRoots[0].cert: holds a public key, but notation trust roots are X.509 certificates; paste the CA or signing certificate ("-----BEGIN CERTIFICATE-----")']);
    expect(problems(one(`      - name: default
        cert: |
          -----BEGIN CERTIFICATE-----
          ?????????????
          -----END CERTIFICATE-----
`))[0]).to.match(/^validators\[0\]\.trustRoots\[0\]\.cert: certificate 1 cannot be parsed/);
    // Connaisseur's "key instead of cert" case
    expect(problems(one(`      - name: default
        key: |
${indentPem(pub, 10)}
`)).join('\n')).to.contain('validators[0].trustRoots[0]');
    expect(problems(one(`      - name: default
        cert: |
${indentPem(signer, 10)}
        tsCert: "not a cert"
        trustedIdentities: ["x509.subject: CN=only-cn", "*", "CN=x"]
`))).to.deep.equal([
      'validators[0].trustRoots[0].trustedIdentities: "*" cannot be combined with other identities; use either ["*"] or a list of x509.subject identities',
      'validators[0].trustRoots[0].tsCert: holds no PEM certificate; expected one or more "-----BEGIN CERTIFICATE-----" blocks',
    ]);
    expect(problems(one(`      - name: default
        cert: |
${indentPem(signer, 10)}
        trustedIdentities: ["x509.subject: CN=only-cn", "x509.subject: C=US, ST=WA, O=A", "x509.subject: C=US, ST=WA, O=A, OU=B"]
`))).to.deep.equal([
      'validators[0].trustRoots[0].trustedIdentities[0]: "x509.subject: CN=only-cn" is not a valid X.509 subject: it lacks C, ST, O; an identity needs at least C, ST (or S) and O',
      'validators[0].trustRoots[0].trustedIdentities[2]: "x509.subject: C=US, ST=WA, O=A, OU=B" overlaps with "x509.subject: C=US, ST=WA, O=A" (a certificate could match both); remove one of them',
    ]);
    expect(problems(one(`      - name: default
        cert: |
${indentPem(signer, 10)}
`, `    with:
      verificationLevel: lenient
      verificationOverride: { integrity: log }
`)).join('\n')).to.contain('policy[0].with.verificationLevel').and.contain('policy[0].with.verificationOverride');
    // "A skip level cannot be customized" (Notary Project trust policy)
    expect(problems(one(`      - name: default
        cert: |
${indentPem(signer, 10)}
`, `    with:
      verificationLevel: skip
      verificationOverride: { revocation: skip }
`))).to.deep.equal(['policy[0].with.verificationOverride: cannot be combined with verificationLevel: skip, which verifies nothing (as in Notation trust policies); remove one of the two']);
  });

  it('the identity suggested in hints matches exactly the signer, with RFC 4514 escaping', () => {
    const cert = parsePemBundle(signer)[0]!;
    const suggestion = suggestedIdentity(cert)!;
    expect(suggestion).to.equal('x509.subject: C=DE, ST=Berlin, L=Berlin, O=Imprimatur Fixtures, CN=fixture-signer');
    const parsed = parseTrustedIdentities([suggestion]);
    expect(parsed.ok && identityProblem(parsed.value, cert)).to.equal(undefined);
    // values with characters RFC 4514 escapes survive the round trip
    const tricky = parseTrustedIdentities(['x509.subject: C=US, ST=WA, O=Acme\\, Inc.\\; \\\\ \\+1, CN=\\ padded\\ ']);
    expect(tricky.ok && !tricky.value.any && tricky.value.identities[0]!.dn.get('O')).to.equal('Acme, Inc.; \\ +1');
    expect(tricky.ok && !tricky.value.any && tricky.value.identities[0]!.dn.get('CN')).to.equal(' padded ');
  });

  it('warns at load time when a CA trust root accepts any identity ("*" written, or Connaisseur\'s implicit "*")', () => {
    const base = { name: 'n', type: 'notation' };
    const implicitCa = notationWarnings(parseNotationConfig({ ...base, trustRoots: [{ name: 'ca', cert: tsaRoot }] }), 'application.validators[2]');
    expect(implicitCa.map((w) => w.path)).to.deep.equal(['application.validators[2].trustRoots[0].trustedIdentities']);
    expect(implicitCa[0]!.message).to.contain('has no trustedIdentities').and.contain('x509.subject');
    const explicit = notationWarnings(parseNotationConfig({ ...base, trustRoots: [{ name: 'ca', cert: tsaRoot, trustedIdentities: ['*'] }] }), 'v');
    expect(explicit[0]!.message).to.contain('trustedIdentities: ["*"]');
    // a self-signed signing certificate (generate-test) pins exactly one signer: no warning for the implicit default
    expect(notationWarnings(parseNotationConfig({ ...base, trustRoots: [{ name: 'leaf', cert: signer }] }), 'v')).to.deep.equal([]);
    expect(notationWarnings(parseNotationConfig({ ...base, trustRoots: [{ name: 'ca', cert: tsaRoot, trustedIdentities: ['x509.subject: C=DE, ST=Berlin, O=X'] }] }), 'v')).to.deep.equal([]);
  });

  it('the "any identity" warning is a config warning: printed by check-config (exit 0) and explain, logged once by serve', () => {
    const values = `application:
  validators:
    - name: deny
      type: static
      approve: false
    - name: acme
      type: notation
      trustRoots:
        - name: ca
          cert: |
${indentPem(tsaRoot, 12)}
        - name: everyone
          cert: |
${indentPem(tsaRoot, 12)}
          trustedIdentities: ["*"]
        - name: leaf
          cert: |
${indentPem(signer, 12)}
  policy:
    - pattern: "*:*"
      validator: deny
    - pattern: "registry.acme.example/*"
      validator: acme
      with:
        trustRoot: ca
`;
    const file = writeTempConfig(values, 'values.yaml');
    const expected = [
      `warning: ${file}: application.validators[1].trustRoots[0].trustedIdentities: trust root "ca" has no trustedIdentities, so any signing certificate its CA issued is accepted (Connaisseur's behaviour); list the signers as "x509.subject: C=…, ST=…, O=…, CN=…", or write ["*"] to accept any on purpose`,
      `warning: ${file}: application.validators[1].trustRoots[1].trustedIdentities: trust root "everyone" accepts any signing certificate its CA issued (trustedIdentities: ["*"]); list the signers as "x509.subject: C=…, ST=…, O=…, CN=…" unless that is intended`,
    ];
    const bin = join(import.meta.dirname, '..', '..', 'bin', 'imprimatur.js');
    const env = { ...process.env, IMPRIMATUR_LOG_LEVEL: 'silent' };
    const check = spawnSync(process.execPath, [bin, 'check-config', file], { encoding: 'utf8', env });
    expect(check.status, check.stderr).to.equal(0);
    expect(check.stderr.trim().split('\n')).to.deep.equal(expected);
    expect(check.stdout).to.contain('2 warning(s)');
    const explain = spawnSync(process.execPath, [bin, 'explain', '--config', file, 'nginx:1.27'], { encoding: 'utf8', env });
    expect(explain.stderr.trim().split('\n')).to.include.members(expected);
    // serve: once per loaded config, not once per validator instance built from it
    const log = captureLogger();
    const runtime = new Runtime(file, { logger: log.logger, reloadPollMs: 0 });
    try {
      const logged = log.lines.filter((l) => String(l.msg).includes('trustedIdentities'));
      expect(logged.map((l) => l.msg)).to.deep.equal(expected.map((e) => `configuration warning: ${e.slice(`warning: ${file}: `.length)}`));
      expect(logged.every((l) => l.level === 40)).to.equal(true);
    } finally {
      void runtime.close();
    }
  });

  it('the commented notation example in helm/values.yaml, uncommented with real certificates, loads', () => {
    const values = readFileSync(join(import.meta.dirname, '..', '..', 'helm', 'values.yaml'), 'utf8');
    // Uncomment the example validator and its rule (the lines from `# - name: acme-notation` / `# - pattern:
    // "registry.acme.example/*"` while they stay commented at the same indentation).
    const lines = values.split('\n');
    const uncomment = (start: RegExp): void => {
      const i = lines.findIndex((l) => start.test(l));
      expect(i, `helm/values.yaml has no line matching ${start}`).to.be.greaterThan(0);
      for (let j = i; j < lines.length && /^ {4}# (- | {2})/.test(lines[j]!); j++) lines[j] = lines[j]!.replace(/^( {4})# /, '$1');
    };
    uncomment(/^ {4}# - name: acme-notation$/);
    uncomment(/^ {4}# - pattern: "registry\.acme\.example\/\*"$/);
    let text = lines.join('\n');
    const pems = [signer, tsaRoot];
    text = text.replace(/( *)-----BEGIN CERTIFICATE-----\n *\.\.\.\n *-----END CERTIFICATE-----/g, (_m, indent: string) => indentPem(pems.shift()!, indent.length));
    expect(pems, 'both placeholder certificates (cert, tsCert) were replaced').to.have.length(0);
    const config = parseConfig(text, 'helm/values.yaml');
    const validator = config.validators.find((v) => v.name === 'acme-notation');
    expect(validator?.type).to.equal('notation');
    expect(validator?.trustRoots?.map((r) => r.name)).to.deep.equal(['release']);
    const rule = config.policy.find((r) => r.pattern === 'registry.acme.example/*');
    expect(rule?.validator).to.equal('acme-notation');
    expect(rule?.with).to.include({ trustRoot: 'release', verificationLevel: 'strict' });
  });
});
