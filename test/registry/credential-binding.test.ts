/**
 * Issue 11, item 5: credentials go only where they are bound. Real docker-registry instances (htpasswd, token auth
 * with a real token service); a "hostile" registry is a real registry behind a recording front that sees every
 * Authorization header, or that rewrites the 401 challenge to name an attacker's token service (another real token
 * service that records what it is sent).
 */
import { expect } from 'chai';
import { createRegistryClient } from '../../src/registry/client.js';
import { tokenServiceAllowed } from '../../src/registry/credential-binding.js';
import type { RegistryClient, RegistryClientOptions } from '../../src/registry/types.js';
import { startHttpFront, type HttpFront } from '../harness/http-front.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { startTokenServer, type TokenServer } from '../harness/token-server.js';
import { makeTempDir } from '../harness/temp-dirs.js';
import { deadline, failure } from '../support/failures.js';

const USER = { user: 'alice', password: 'wonder:land' };
const BASIC = `Basic ${Buffer.from(`${USER.user}:${USER.password}`).toString('base64')}`;

async function withClient<T>(opts: RegistryClientOptions, fn: (c: RegistryClient) => Promise<T>): Promise<T> {
  const client = createRegistryClient(opts);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

describe('registry credentials are bound to the registries they are for', function () {
  this.timeout(60_000);

  describe('explicit username/password (auth.registries)', () => {
    let mine: TestRegistry;
    let theirs: TestRegistry;
    let recording: HttpFront;
    const seen: Array<string | undefined> = [];
    before(async () => {
      [mine, theirs] = await Promise.all([startRegistry({ htpasswd: USER }), startRegistry({ htpasswd: { user: 'mallory', password: 'x' } })]);
      await mine.pushRandomImage('private/app', '1.0');
      await theirs.pushRandomImage('bait/app', '1.0');
      recording = await startHttpFront({ upstream: theirs.directUrl, intercept: async (req, forward) => { seen.push(req.headers.authorization); return forward(); } });
    });
    after(async () => {
      await recording?.stop();
      await mine?.stop();
      await theirs?.stop();
    });

    it('are used for the registry they are bound to', async () => {
      const opts = { insecureRegistries: [mine.host], username: USER.user, password: USER.password, registries: [mine.host] };
      const digest = await withClient(opts, (c) => c.resolveDigest({ registry: mine.host, repository: 'private/app' }, '1.0', deadline()));
      expect(digest).to.match(/^sha256:/);
    });

    it('are never offered to another registry that asks for them (an image the attacker named)', async () => {
      seen.length = 0;
      const opts = { insecureRegistries: [mine.host, recording.host], username: USER.user, password: USER.password, registries: [mine.host] };
      const err = await withClient(opts, (c) => failure(c.resolveDigest({ registry: recording.host, repository: 'bait/app' }, '1.0', deadline())));
      expect(err.code).to.equal('REGISTRY_UNAUTHORIZED');
      expect(err.message).to.contain('no credentials are configured for it');
      expect(seen.length, 'the hostile registry was asked').to.be.greaterThan(0);
      expect(seen.filter((a) => a !== undefined), 'Authorization headers the hostile registry received').to.deep.equal([]);
    });

    it('refuses to build a client with credentials bound to nothing', () => {
      expect(() => createRegistryClient({ insecureRegistries: [], username: 'u', password: 'p' })).to.throw(/auth\.registries/);
    });
  });

  describe('Bearer token services', () => {
    let registry: TestRegistry;
    let attacker: TokenServer;
    let hostile: HttpFront;
    before(async () => {
      registry = await startRegistry({ token: true, htpasswd: USER });
      await registry.pushRandomImage('tokened/app', '1.0');
      attacker = await startTokenServer({ dir: makeTempDir('attacker-token') });
      // The registry's answers, but its 401 challenge names the attacker's token service and a scope of its choice.
      hostile = await startHttpFront({
        upstream: registry.directUrl,
        intercept: async (_req, forward) => {
          const res = await forward();
          if (res.status === 401) {
            res.headers['www-authenticate'] = `Bearer realm="${attacker.realm}",service="evil",scope="repository:victim/secrets:push,pull"`;
          }
          return res;
        },
      });
    });
    after(async () => {
      await hostile?.stop();
      await attacker?.stop();
      await registry?.stop();
    });

    const tokenHost = () => registry.tokenServer!.host;

    it('the registry\'s own token service on another port gets them only when listed in auth.tokenHosts', async () => {
      const repo = { registry: registry.host, repository: 'tokened/app' };
      const base = { insecureRegistries: [registry.host, tokenHost()], username: USER.user, password: USER.password, registries: [registry.host] };
      registry.tokenServer!.resetHits();
      const err = await withClient(base, (c) => failure(c.resolveDigest(repo, '1.0', deadline())));
      expect(err.code).to.equal('REGISTRY_UNAUTHORIZED');
      expect(err.message).to.equal(`registry ${registry.host} requires authentication, but its token service ${tokenHost()} is not a host the credentials are bound to, so they were not sent; add "${tokenHost()}" to the validator's auth.tokenHosts if that service is the registry's own`);
      expect(registry.tokenServer!.requests().map((r) => r.authorization)).to.not.include(BASIC);

      registry.tokenServer!.resetHits();
      const digest = await withClient({ ...base, tokenHosts: [tokenHost()] }, (c) => c.resolveDigest(repo, '1.0', deadline()));
      expect(digest).to.match(/^sha256:/);
      const asked = registry.tokenServer!.requests();
      expect(asked.map((r) => r.authorization)).to.include(BASIC);
      expect(asked.flatMap((r) => r.scopes)).to.deep.equal(['repository:tokened/app:pull']);
    });

    it('a token service the registry names on another host gets no credentials, and only our pull scope', async () => {
      attacker.resetHits();
      const opts = {
        insecureRegistries: [hostile.host, tokenHost(), attacker.host], username: USER.user, password: USER.password,
        registries: [hostile.host], tokenHosts: [tokenHost()],
      };
      const err = await withClient(opts, (c) => failure(c.resolveDigest({ registry: hostile.host, repository: 'tokened/app' }, '1.0', deadline())));
      expect(err.code).to.equal('REGISTRY_UNAUTHORIZED');
      const asked = attacker.requests();
      expect(asked.length, 'the attacker\'s token service was asked (anonymously)').to.be.greaterThan(0);
      expect(asked.map((r) => r.authorization).filter(Boolean), 'credentials sent to the attacker\'s token service').to.deep.equal([]);
      expect([...new Set(asked.flatMap((r) => r.scopes))], 'scope requested').to.deep.equal(['repository:tokened/app:pull']);
    });
  });

  describe('the token-service rule', () => {
    const at = (s: string) => new URL(s);
    it('allows the registry\'s own host and port, listed token hosts and Docker Hub\'s own token service; nothing else', () => {
      expect(tokenServiceAllowed(at('https://ghcr.io/token'), 'ghcr.io', at('https://ghcr.io/v2/'), [])).to.equal(true);
      expect(tokenServiceAllowed(at('https://ghcr.io:443/token'), 'ghcr.io', at('https://ghcr.io/v2/'), [])).to.equal(true);
      expect(tokenServiceAllowed(at('https://ghcr.io:8443/token'), 'ghcr.io', at('https://ghcr.io/v2/'), [])).to.equal(false);
      expect(tokenServiceAllowed(at('https://evil.io/token'), 'ghcr.io', at('https://ghcr.io/v2/'), [])).to.equal(false);
      expect(tokenServiceAllowed(at('https://gitlab.com/jwt/auth'), 'registry.gitlab.com', at('https://registry.gitlab.com/v2/'), ['gitlab.com'])).to.equal(true);
      expect(tokenServiceAllowed(at('https://auth.docker.io/token'), 'docker.io', at('https://registry-1.docker.io/v2/'), [])).to.equal(true);
      expect(tokenServiceAllowed(at('https://auth.docker.io/token'), 'notary.docker.io', at('https://notary.docker.io/v2/'), [])).to.equal(true);
      expect(tokenServiceAllowed(at('https://auth.docker.io/token'), 'quay.io', at('https://quay.io/v2/'), [])).to.equal(false);
    });
  });
});
