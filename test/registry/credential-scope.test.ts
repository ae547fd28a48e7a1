/**
 * The per-verification credential choice of `auth.fromWorkload` validators (src/registry/credential-scope.ts), on real
 * registries: a Basic-auth registry behind a front that records every Authorization header, and a token-auth registry
 * with its real token service. The choice holds for the image's registry only, for the transport of a fromWorkload
 * validator only, and never bleeds between verifications running at the same time.
 */
import { expect } from 'chai';
import { createRegistryClient } from '../../src/registry/client.js';
import { withCredentialChoice } from '../../src/registry/credential-scope.js';
import type { RegistryClient, RegistryClientOptions } from '../../src/registry/types.js';
import { startHttpFront, type HttpFront } from '../harness/http-front.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { deadline, failure } from '../support/failures.js';

const ALICE = { user: 'alice', password: 'right' };
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('credentials chosen per verification (auth.fromWorkload)', function () {
  this.timeout(60_000);
  let htpasswd: TestRegistry;
  let token: TestRegistry;
  let front: HttpFront;
  const seen: Array<string | undefined> = [];
  const clients: RegistryClient[] = [];

  before(async () => {
    [htpasswd, token] = await Promise.all([startRegistry({ htpasswd: ALICE }), startRegistry({ token: true, htpasswd: ALICE })]);
    await htpasswd.pushRandomImage('team/app', '1.0');
    await token.pushRandomImage('team/api', '1.0');
    front = await startHttpFront({ upstream: htpasswd.directUrl, intercept: async (req, forward) => { seen.push(req.headers.authorization); return forward(); } });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await front?.stop();
    await htpasswd?.stop();
    await token?.stop();
  });

  const client = (opts: Partial<RegistryClientOptions> = {}): RegistryClient => {
    const c = createRegistryClient({ insecureRegistries: [front.host, token.host, token.tokenServer!.host], tokenHosts: [token.tokenServer!.host], ...opts });
    clients.push(c);
    return c;
  };
  const app = () => ({ registry: front.host, repository: 'team/app' });
  const api = () => ({ registry: token.host, repository: 'team/api' });

  it('the chosen credentials go to the image\'s registry; without a choice the validator\'s own are used', async () => {
    const c = client({ fromWorkload: true, username: 'central', password: 'nope', registries: [front.host] });
    seen.length = 0;
    await withCredentialChoice({ registry: front.host, credentials: { username: ALICE.user, password: ALICE.password } }, () => c.resolveDigest(app(), '1.0', deadline()));
    expect(seen).to.include(basic(ALICE.user, ALICE.password));
    expect(seen, 'the validator\'s own were not sent').to.not.include(basic('central', 'nope'));
    seen.length = 0;
    const err = await failure(c.resolveDigest(app(), '2.0', deadline()));
    expect(err.code).to.equal('REGISTRY_UNAUTHORIZED');
    expect(seen).to.include(basic('central', 'nope'));
    expect(seen).to.not.include(basic(ALICE.user, ALICE.password));
  });

  it('an anonymous choice sends nothing, not even the validator\'s own', async () => {
    const c = client({ fromWorkload: true, username: 'central', password: 'nope', registries: [front.host] });
    seen.length = 0;
    const err = await failure(withCredentialChoice({ registry: front.host }, () => c.resolveDigest(app(), '1.0', deadline())));
    expect(err.code).to.equal('REGISTRY_UNAUTHORIZED');
    expect(seen.filter((h) => h !== undefined)).to.deep.equal([]);
  });

  it('a choice for one registry is never sent to another', async () => {
    const c = client({ fromWorkload: true });
    seen.length = 0;
    const err = await failure(withCredentialChoice({ registry: token.host, credentials: { username: ALICE.user, password: ALICE.password } }, () => c.resolveDigest(app(), '1.0', deadline())));
    expect(err.code).to.equal('REGISTRY_UNAUTHORIZED');
    expect(seen.filter((h) => h !== undefined)).to.deep.equal([]);
  });

  it('a validator without fromWorkload ignores any choice', async () => {
    const c = client();
    seen.length = 0;
    await failure(withCredentialChoice({ registry: front.host, credentials: { username: ALICE.user, password: ALICE.password } }, () => c.resolveDigest(app(), '1.0', deadline())));
    expect(seen.filter((h) => h !== undefined)).to.deep.equal([]);
  });

  it('verifications running at the same time each send their own choice', async () => {
    const c = client({ fromWorkload: true });
    const runs = Array.from({ length: 8 }, (_, i) => i % 2 === 0
      ? withCredentialChoice({ registry: front.host, credentials: { username: ALICE.user, password: ALICE.password } }, () => c.resolveDigest(app(), '1.0', deadline()))
      : failure(withCredentialChoice({ registry: front.host, credentials: { username: ALICE.user, password: `wrong-${i}` } }, () => c.resolveDigest(app(), '1.0', deadline()))));
    const results = await Promise.all(runs);
    results.forEach((r, i) => {
      if (i % 2 === 0) expect(r, `run ${i}`).to.match(/^sha256:/);
      else expect((r as { code: string }).code, `run ${i}`).to.equal('REGISTRY_UNAUTHORIZED');
    });
  });

  it('a bearer token obtained with the right password is not served to the same user with a wrong one', async () => {
    const c = client({ fromWorkload: true });
    const digest = await withCredentialChoice({ registry: token.host, credentials: { username: ALICE.user, password: ALICE.password } }, () => c.resolveDigest(api(), '1.0', deadline()));
    expect(digest).to.match(/^sha256:/);
    const err = await failure(withCredentialChoice({ registry: token.host, credentials: { username: ALICE.user, password: 'wrong' } }, () => c.resolveDigest(api(), '1.0', deadline())));
    expect(err.code).to.equal('REGISTRY_UNAUTHORIZED');
    expect(err.message).to.contain('token service');
  });
});
