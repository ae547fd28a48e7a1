import { expect } from 'chai';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '../harness/temp-dirs.js';
import { createRegistryClient } from '../../src/registry/client.js';
import type { RegistryClient } from '../../src/registry/types.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { deadline, failure } from '../support/failures.js';

const USER = { user: 'alice', password: 'wonder:land' };

/** Writes `<dir>/<name>/.dockerconfigjson` and returns dir. */
function writeSecret(name: string, auths: Record<string, { user: string; password: string }>): string {
  const dir = makeTempDir('secrets');
  mkdirSync(join(dir, name));
  const doc = { auths: Object.fromEntries(Object.entries(auths).map(([k, v]) => [k, { auth: Buffer.from(`${v.user}:${v.password}`).toString('base64') }])) };
  writeFileSync(join(dir, name, '.dockerconfigjson'), JSON.stringify(doc));
  return dir;
}

async function withClient<T>(opts: Parameters<typeof createRegistryClient>[0], fn: (c: RegistryClient) => Promise<T>): Promise<T> {
  const client = createRegistryClient(opts);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

describe('registry client: htpasswd Basic auth', () => {
  let registry: TestRegistry;
  let digest: string;
  before(async () => {
    registry = await startRegistry({ htpasswd: USER });
    digest = (await registry.pushRandomImage('private/app', '1.0')).digest;
  });
  after(() => registry?.stop());

  it('answers REGISTRY_UNAUTHORIZED without credentials, saying none are configured', async () => {
    const err = await withClient({ insecureRegistries: [registry.host] }, (c) => failure(c.resolveDigest({ registry: registry.host, repository: 'private/app' }, '1.0', deadline())));
    expect(err.code).to.equal('REGISTRY_UNAUTHORIZED');
    expect(err.message).to.equal(`registry ${registry.host} requires authentication, but no credentials are configured for it (HTTP 401); set auth.secretName on the validator (a mounted kubernetes.io/dockerconfigjson secret)`);
  });

  it('authenticates with the dockerconfigjson secret matching the registry, sending credentials preemptively afterwards', async () => {
    const secretsDir = writeSecret('regcred', { [registry.host]: USER, 'other.example.com': { user: 'x', password: 'y' } });
    await withClient({ insecureRegistries: [registry.host], secretName: 'regcred', secretsDir }, async (c) => {
      const repo = { registry: registry.host, repository: 'private/app' };
      const before = registry.requestCount();
      expect(await c.resolveDigest(repo, '1.0', deadline())).to.equal(digest);
      expect(registry.requestCount() - before).to.equal(2); // challenge + authenticated HEAD
      expect((await c.getManifest(repo, '1.0', deadline())).digest).to.equal(digest);
      expect(registry.requestCount() - before).to.equal(3); // no second challenge
    });
  });

  it('authenticates with explicit username/password', async () => {
    const d = await withClient({ insecureRegistries: [registry.host], username: USER.user, password: USER.password, registries: [registry.host] }, (c) =>
      c.resolveDigest({ registry: registry.host, repository: 'private/app' }, '1.0', deadline()),
    );
    expect(d).to.equal(digest);
  });

  it('says the registry refused the credentials of the secret when they are wrong, without revealing them', async () => {
    const secretsDir = writeSecret('wrong', { [registry.host]: { user: 'alice', password: 'not-the-password' } });
    const err = await withClient({ insecureRegistries: [registry.host], secretName: 'wrong', secretsDir }, (c) =>
      failure(c.resolveDigest({ registry: registry.host, repository: 'private/app' }, '1.0', deadline())),
    );
    expect(err.code).to.equal('REGISTRY_UNAUTHORIZED');
    expect(err.message).to.equal(`registry ${registry.host} refused the credentials from secret "wrong" (HTTP 401)`);
    expect(err.message).not.to.contain('not-the-password');
  });

  it('fails with a message naming the secret path when the secret is not mounted', async () => {
    const secretsDir = makeTempDir('secrets');
    const err = await withClient({ insecureRegistries: [registry.host], secretName: 'unmounted', secretsDir }, (c) =>
      failure(c.resolveDigest({ registry: registry.host, repository: 'private/app' }, '1.0', deadline())),
    );
    expect(err.code).to.equal('REGISTRY_CREDENTIALS_INVALID');
    expect(err.message).to.contain(join(secretsDir, 'unmounted', '.dockerconfigjson'));
  });
});

describe('registry client: Docker v2 bearer-token flow', () => {
  let registry: TestRegistry;
  let digest: string;
  let insecure: string[];
  before(async () => {
    registry = await startRegistry({ token: true, htpasswd: USER });
    digest = (await registry.pushRandomImage('tokened/app', '1.0')).digest;
    await registry.pushRandomImage('tokened/other', '1.0');
    insecure = [registry.host, registry.tokenServer!.host];
  });
  after(() => registry?.stop());

  it('gets one token for several requests to the same repository and reuses it (cached until expiry)', async () => {
    const secretsDir = writeSecret('hub', { [registry.host]: USER });
    await withClient({ insecureRegistries: insecure, secretName: 'hub', secretsDir, tokenHosts: [registry.tokenServer!.host] }, async (c) => {
      registry.tokenServer!.resetHits();
      const repo = { registry: registry.host, repository: 'tokened/app' };
      const [a, b] = await Promise.all([c.resolveDigest(repo, '1.0', deadline()), c.resolveDigest(repo, '1.0', deadline())]);
      expect(a).to.equal(digest);
      expect(b).to.equal(digest);
      const m = await c.getManifest(repo, '1.0', deadline());
      const config = await c.getBlob(repo, m.json['config'] as { mediaType: string; digest: string; size: number }, deadline());
      expect(config.length).to.be.greaterThan(0);
      expect(registry.tokenServer!.hits()).to.equal(1);
      // another repository needs another scope, hence one more token
      await c.resolveDigest({ registry: registry.host, repository: 'tokened/other' }, '1.0', deadline());
      expect(registry.tokenServer!.hits()).to.equal(2);
    });
  });

  it('answers REGISTRY_UNAUTHORIZED when the token service refuses the credentials', async () => {
    const err = await withClient({ insecureRegistries: insecure, username: 'alice', password: 'bad', registries: [registry.host], tokenHosts: [registry.tokenServer!.host] }, (c) =>
      failure(c.resolveDigest({ registry: registry.host, repository: 'tokened/app' }, '1.0', deadline())),
    );
    expect(err.code).to.equal('REGISTRY_UNAUTHORIZED');
    expect(err.message).to.contain(`registry ${registry.host} refused the credentials`);
    expect(err.message).to.contain('token service');
    expect(err.message).not.to.contain('bad');
  });

  it('refuses a token service on plain HTTP that is not in insecureRegistries', async () => {
    const err = await withClient({ insecureRegistries: [registry.host], username: USER.user, password: USER.password, registries: [registry.host], tokenHosts: [registry.tokenServer!.host] }, (c) =>
      failure(c.resolveDigest({ registry: registry.host, repository: 'tokened/app' }, '1.0', deadline())),
    );
    expect(err.code).to.equal('REGISTRY_TLS');
    expect(err.message).to.contain(registry.tokenServer!.host);
  });
});

describe('registry client: short-lived tokens', () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry({ token: true, tokenExpiresInSeconds: 1 });
    await registry.pushRandomImage('short/app', '1.0');
  });
  after(() => registry?.stop());

  it('fetches a new token once the cached one is about to expire (anonymous token flow)', async () => {
    await withClient({ insecureRegistries: [registry.host, registry.tokenServer!.host] }, async (c) => {
      const repo = { registry: registry.host, repository: 'short/app' };
      registry.tokenServer!.resetHits();
      await c.resolveDigest(repo, '1.0', deadline());
      await c.resolveDigest(repo, '1.0', deadline());
      expect(registry.tokenServer!.hits()).to.equal(1);
      await new Promise((r) => setTimeout(r, 700)); // 1 s lifetime minus a 0.5 s margin
      await c.resolveDigest(repo, '1.0', deadline());
      expect(registry.tokenServer!.hits()).to.equal(2);
    });
  });
});
