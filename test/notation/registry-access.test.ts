/**
 * The notation validator's registry settings (`cert`, `auth`), as for the other validator types: a registry with a
 * private TLS CA and a login (olareg, referrers API), signed by the real notation CLI over HTTPS with credentials.
 */
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseImageReference } from '../../src/image/reference.js';
import { silentLogger } from '../../src/log.js';
import type { RuleOptions, ValidatorConfig } from '../../src/config/types.js';
import { notationValidatorType } from '../../src/validators/notation/index.js';
import { withCredentialChoice } from '../../src/registry/credential-scope.js';
import { NotationCli } from '../harness/notation-cli.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';

const USER = { user: 'release-bot', password: 'notation-test-password' };

describe('notation validator: registry with a private TLS CA and credentials (cert, auth)', function () {
  this.timeout(120_000);
  let reg: TestRegistry;
  let cli: NotationCli;
  let signerPem: string;
  let secretsDir: string;
  let image: { ref: string; digest: string };

  before(async () => {
    reg = await startRegistry({ referrersApi: true, tls: true, htpasswd: USER });
    cli = new NotationCli();
    cli.referrersApi = true;
    cli.secureRegistry = { caFile: reg.certificates!.caPath, user: USER.user, password: USER.password };
    signerPem = await cli.generateTest('tls-signer');
    const pushed = await reg.pushRandomImage('private/app', 'v1', { seed: `tls-${Date.now()}` });
    // the real CLI signs over HTTPS, trusting the private CA, logged in
    await cli.sign(`${new URL(reg.directUrl).host}/private/app@${pushed.digest}`, { key: 'tls-signer' });
    image = { ref: `${reg.host}/private/app:v1`, digest: pushed.digest };
    secretsDir = mkdtempSync(join(tmpdir(), 'imprimatur-notation-secrets-'));
    mkdirSync(join(secretsDir, 'private-pull'));
    const auth = Buffer.from(`${USER.user}:${USER.password}`).toString('base64');
    writeFileSync(join(secretsDir, 'private-pull', '.dockerconfigjson'), JSON.stringify({ auths: { [reg.host]: { auth } } }));
  });
  after(async () => { await reg?.stop(); });

  async function verdict(extra: Record<string, unknown>): Promise<{ ok: true; digest?: string } | { ok: false; code: string; message: string }> {
    const config = { name: 'private', type: 'notation', trustRoots: [{ name: 'default', cert: signerPem }], ...extra } as ValidatorConfig;
    const env = { path: 'validators[0]', file: 'test', insecureRegistries: [], secretsDir, logger: silentLogger };
    const problems = notationValidatorType.check!(config, env);
    if (problems.length > 0) throw new Error(problems.map((p) => `${p.path}: ${p.message}`).join('; '));
    const v = notationValidatorType.create(config, env);
    try {
      const outcome = await v.validate(parseImageReference(image.ref), { trustRoot: 'default', mode: 'mutate' } as RuleOptions, {
        signal: AbortSignal.timeout(20_000), deadline: Date.now() + 20_000, logger: silentLogger, now: () => new Date(),
      });
      return { ok: true, digest: outcome.digest };
    } catch (err) {
      const e = err as { code?: string; message: string };
      if (!e.code) throw err;
      return { ok: false, code: e.code, message: e.message };
    }
  }

  it('with the registry CA (cert) and the pull secret (auth.secretName): admitted and pinned; notation verify agrees', async () => {
    const r = await verdict({ cert: reg.caPem, auth: { secretName: 'private-pull' } });
    expect(r).to.deep.equal({ ok: true, digest: image.digest });
    const oracle = await cli.verify(`${new URL(reg.directUrl).host}/private/app@${image.digest}`, { ca: { default: signerPem } }, { level: 'strict', trustStores: ['ca:default'] });
    expect(oracle.ok, oracle.out).to.equal(true);
  });

  it('with username/password bound to the registry: admitted', async () => {
    const r = await verdict({ cert: reg.caPem, auth: { username: USER.user, password: USER.password, registries: [reg.host] } });
    expect(r.ok && r.digest).to.equal(image.digest);
  });

  it('without the registry CA: denied, TLS verification stays on and the denial says to set cert', async () => {
    const r = await verdict({ auth: { secretName: 'private-pull' } });
    expect(r.ok).to.equal(false);
    expect(r.ok || r.code).to.equal('REGISTRY_TLS');
    expect(r.ok || r.message).to.contain('certificate is not trusted').and.contain('add the CA that issued it (PEM) to the validator\'s "cert"');
  });

  it('auth.fromWorkload: the credentials the engine chose for this verification (a workload\'s pull secret) reach the registry; without a choice, none do', async () => {
    // src/admission/engine.ts runs a fromWorkload validator inside withCredentialChoice (test/e2e/pull-secrets.test.ts
    // does it through the real kube-apiserver with cosign); this is the notation validator's transport under it.
    const extra = { cert: reg.caPem, auth: { fromWorkload: true } };
    const chosen = await withCredentialChoice({ registry: reg.host, credentials: { username: USER.user, password: USER.password }, description: 'pull secret "regcred"' }, () => verdict(extra));
    expect(chosen).to.deep.equal({ ok: true, digest: image.digest });
    const wrong = await withCredentialChoice({ registry: reg.host, credentials: { username: USER.user, password: 'stale' }, description: 'pull secret "stale"' }, () => verdict(extra));
    expect(wrong.ok || wrong.code).to.equal('REGISTRY_UNAUTHORIZED');
    const elsewhere = await withCredentialChoice({ registry: 'other.example.com', credentials: { username: USER.user, password: USER.password } }, () => verdict(extra));
    expect(elsewhere.ok || elsewhere.code, 'a choice for another registry is not sent to this one').to.equal('REGISTRY_UNAUTHORIZED');
    const none = await verdict(extra);
    expect(none.ok || none.code).to.equal('REGISTRY_UNAUTHORIZED');
  });

  it('without credentials: denied, saying the registry requires authentication', async () => {
    const r = await verdict({ cert: reg.caPem });
    expect(r.ok).to.equal(false);
    expect(r.ok || r.code).to.equal('REGISTRY_UNAUTHORIZED');
    expect(r.ok || r.message).to.contain('requires authentication').and.contain('set auth.secretName');
  });
});
