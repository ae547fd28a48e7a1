import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { expect } from 'chai';
import { ConfigError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import type { ValidatorConfig } from '../../src/config/types.js';
import { notaryV1ValidatorType } from '../../src/validators/notaryv1/index.js';
import { rule } from './helpers.js';

const DOCKER_OFFICIAL = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEOXYta5TgdCwXTCnLU09W5T4M4r9f
QQrqJuADP6U7g5r9ICgPSmZuRHP/1AYUfOQW3baveKsT969EfELKj1lfCA==
-----END PUBLIC KEY-----
`;

const env = { path: 'application.validators[1]', file: 'values.yaml', insecureRegistries: [], secretsDir: '/nonexistent', logger: silentLogger };

function openssl(dir: string, ...args: string[]): string {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  return dir;
}

describe('notaryv1 validator configuration', () => {
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(notaryV1ValidatorType.configSchema);
  const base = (extra: Record<string, unknown> = {}): ValidatorConfig => ({
    name: 'dockerhub',
    type: 'notaryv1',
    host: 'notary.docker.io',
    trustRoots: [{ name: 'docker-official', key: DOCKER_OFFICIAL }],
    ...extra,
  });

  it('accepts the Docker Hub default and the documented options', () => {
    expect(validate(base()), JSON.stringify(validate.errors)).to.equal(true);
    expect(validate(base({ host: 'https://notary.example.com:4443', auth: { secretName: 'notary-creds' } }))).to.equal(true);
    expect(validate(base({ auth: { username: 'u', password: 'p' } }))).to.equal(true);
    expect(notaryV1ValidatorType.check!(base(), env)).to.deep.equal([]);
  });

  it('rejects unknown keys, a http:// host and half-given credentials', () => {
    expect(validate(base({ hots: 'x' }))).to.equal(false);
    expect(validate(base({ trustRoots: [{ name: 'a', key: DOCKER_OFFICIAL, cert: 'x' }] }))).to.equal(false);
    expect(validate(base({ host: 'http://notary.example.com' }))).to.equal(false);
    expect(validate(base({ auth: { username: 'u' } }))).to.equal(false);
    expect(validate(base({ auth: { secretName: 's', username: 'u', password: 'p' } }))).to.equal(false);
    expect(validate(base({ trustRoots: [] }))).to.equal(false);
  });

  it('reports unusable keys and CA certificates with their paths at load time', () => {
    const dir = mkdtempSync(join(tmpdir(), 'imprimatur-notary-cfg-'));
    openssl(dir, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'k.pem', '-out', 'c.pem', '-days', '1', '-subj', '/CN=x');
    openssl(dir, 'genpkey', '-algorithm', 'ed25519', '-out', 'ed.key');
    openssl(dir, 'pkey', '-in', 'ed.key', '-pubout', '-out', 'ed.pub');
    const certPem = readFileSync(join(dir, 'c.pem'), 'utf8');
    const edPub = readFileSync(join(dir, 'ed.pub'), 'utf8');
    rmSync(dir, { recursive: true, force: true });
    const problems = notaryV1ValidatorType.check!(
      base({
        cert: 'not a certificate',
        trustRoots: [
          { name: 'cert', key: certPem },
          { name: 'garbage', key: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----' },
          { name: 'ed', key: edPub },
          { name: 'ok', key: DOCKER_OFFICIAL },
        ],
      }),
      env,
    );
    expect(problems.map((p) => p.path)).to.deep.equal([
      'application.validators[1].trustRoots[0].key',
      'application.validators[1].trustRoots[1].key',
      'application.validators[1].trustRoots[2].key',
      'application.validators[1].cert',
    ]);
    expect(problems[0]!.message).to.contain('is a certificate; give the public key instead');
    expect(problems[2]!.message).to.contain('Notary root keys are ECDSA or RSA');
    expect(notaryV1ValidatorType.check!(base({ cert: certPem }), env)).to.deep.equal([]);
    expect(() => notaryV1ValidatorType.create(base({ trustRoots: [{ name: 'x', key: certPem }] }), env)).to.throw(ConfigError, /trustRoots\[0\]\.key/);
  });

  it('checks rule options: delegation names', () => {
    const ruleAjv = ajv.compile({ type: 'object', properties: notaryV1ValidatorType.ruleOptionsSchema, additionalProperties: true });
    expect(ruleAjv({ delegations: ['releases', 'targets/qa'] })).to.equal(true);
    expect(ruleAjv({ delegations: ['bad name'] })).to.equal(false);
    expect(ruleAjv({ delegations: 'releases' })).to.equal(false);
    expect(notaryV1ValidatorType.checkRuleOptions!(rule({ delegations: ['releases'] }), base(), 'policy[0].with')).to.deep.equal([]);
    expect(notaryV1ValidatorType.checkRuleOptions!(rule({ delegations: ['ok', '../x'] }), base(), 'policy[0].with')).to.deep.equal([
      { path: 'policy[0].with.delegations[1]', message: '"../x" is not a delegation name (e.g. "releases" or "targets/releases")' },
    ]);
  });
});
