import { expect } from 'chai';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { silentLogger } from '../../src/log.js';
import type { ValidatorConfig } from '../../src/config/types.js';
import { notaryV1ValidatorType } from '../../src/validators/notaryv1/index.js';
import type { Validator } from '../../src/validators/types.js';
import { startHttpFront, type HttpFront } from '../harness/http-front.js';
import { makeTestKey, NotaryCli, startNotaryServer, type NotaryServer, type TestKey } from '../harness/notary.js';
import { makeTempDir } from '../harness/temp-dirs.js';
import type { TokenServer } from '../harness/token-server.js';
import { ctx, denied, digest, ref, rule } from './helpers.js';

const GUN = 'docker.io/library/alpine';
const D319 = digest('d1');
const DEDGE = digest('d2');
const USER = 'alice';
const PASSWORD = 'correct horse battery staple';

describe('notaryv1 validator against a token-protected notary-server (Docker v2 token auth)', function () {
  this.timeout(120_000);
  let server: NotaryServer;
  let tokens: TokenServer;
  let root: TestKey;
  let secretsDir: string;
  const open: Validator[] = [];

  /** A validator for `host` (default: the notary-server) with the given `auth` block. */
  function validator(auth: ValidatorConfig['auth'] | undefined, host = server.host): Validator {
    const config: ValidatorConfig = {
      name: 'notary',
      type: 'notaryv1',
      host,
      cert: server.certs.caPem,
      ...(auth ? { auth } : {}),
      trustRoots: [{ name: 'default', key: root.publicPem }],
    };
    const v = notaryV1ValidatorType.create(config, { path: 'validators[0]', file: 'test.yaml', insecureRegistries: [], secretsDir, logger: silentLogger });
    open.push(v);
    return v;
  }

  before(async () => {
    server = await startNotaryServer('local', { tokenAuth: { user: USER, password: PASSWORD } });
    tokens = server.tokenServer!;
    // the real notary CLI publishes through the token flow (NOTARY_AUTH → push,pull token)
    const cli = new NotaryCli(server);
    root = makeTestKey(cli.dir, 'root');
    await cli.init(GUN, root);
    await cli.addHash(GUN, '3.19', D319);
    await cli.addHash(GUN, 'edge', DEDGE);

    secretsDir = makeTempDir('notary-secrets');
    mkdirSync(join(secretsDir, 'notary-creds'));
    writeFileSync(
      join(secretsDir, 'notary-creds', '.dockerconfigjson'),
      JSON.stringify({ auths: { [server.host]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } } }),
    );
    mkdirSync(join(secretsDir, 'other-host'));
    writeFileSync(
      join(secretsDir, 'other-host', '.dockerconfigjson'),
      JSON.stringify({ auths: { 'notary.example.com': { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } } }),
    );
  });
  after(async () => {
    await Promise.all(open.map((v) => v.close?.()));
    await server?.stop();
  });

  it('notary-server really demands a token: anonymous reads get 401 with a Bearer challenge naming the token service', async () => {
    const dispatcher = new Agent({ connect: { ca: server.certs.caPem } });
    try {
      const res = await request(`${server.url}/v2/${GUN}/_trust/tuf/root.json`, { dispatcher });
      await res.body.dump();
      expect(res.statusCode).to.equal(401);
      expect(res.headers['www-authenticate']).to.equal(
        `Bearer realm="${tokens.realm}",service="${tokens.service}",scope="repository:${GUN}:pull"`,
      );
    } finally {
      await dispatcher.close();
    }
  });

  it('admits a signed tag with auth.username/password and returns its digest', async () => {
    const before = tokens.hits();
    const out = await validator({ username: USER, password: PASSWORD, tokenHosts: [tokens.host] }).validate(ref(GUN, '3.19'), rule(), ctx());
    expect(out.digest).to.equal(D319);
    expect(out.details.trustRoots).to.deep.equal([{ name: 'default', verified: true, found: D319 }]);
    expect(tokens.hits() - before).to.equal(1);
  });

  it('admits a signed tag with auth.secretName (dockerconfigjson keyed by the Notary host)', async () => {
    const before = tokens.hits();
    const out = await validator({ secretName: 'notary-creds', tokenHosts: [tokens.host] }).validate(ref(GUN, 'edge'), rule(), ctx());
    expect(out.digest).to.equal(DEDGE);
    expect(tokens.hits() - before).to.equal(1);
  });

  it('denies without credentials, saying that Notary requires authentication', async () => {
    const before = tokens.hits();
    const e = await denied(validator(undefined).validate(ref(GUN, '3.19'), rule(), ctx()), 'NOTARY_UNAUTHORIZED');
    expect(e.message).to.contain(`from Notary ${server.host}`);
    expect(e.message).to.contain(`Notary ${server.host} requires authentication, but no credentials are configured for it`);
    expect(e.message).to.contain(`token service ${tokens.host} answered HTTP 401`);
    expect(e.message).to.match(/; set auth\.secretName \(or auth\.username and auth\.password\) on the validator$/);
    expect(e.message).not.to.contain('registry ');
    expect(tokens.hits() - before).to.equal(1); // asked anonymously, refused
  });

  it('denies when the secret has no entry for the Notary host (no credentials sent)', async () => {
    const e = await denied(validator({ secretName: 'other-host' }).validate(ref(GUN, '3.19'), rule(), ctx()), 'NOTARY_UNAUTHORIZED');
    expect(e.message).to.contain(`Notary ${server.host} requires authentication, but no credentials are configured for it`);
  });

  it('denies with a wrong password: the token service refuses the configured user', async () => {
    const before = tokens.requests().length;
    const e = await denied(validator({ username: USER, password: 'wrong', tokenHosts: [tokens.host] }).validate(ref(GUN, '3.19'), rule(), ctx()), 'NOTARY_UNAUTHORIZED');
    expect(e.message).to.contain(`Notary ${server.host} refused the credentials from the configured username "${USER}"`);
    expect(e.message).to.contain(`token service ${tokens.host} answered HTTP 401`);
    expect(e.message).not.to.contain(PASSWORD).and.not.to.contain('wrong');
    // asked once with the configured user, never anonymously or with other credentials (a connection reset on a
    // busy machine may repeat the same request: the transport retries those, at most 3 attempts)
    const asked = tokens.requests().slice(before);
    const configured = `Basic ${Buffer.from(`${USER}:wrong`).toString('base64')}`;
    expect(asked.length).to.be.within(1, 3);
    for (const r of asked) expect(r.authorization).to.equal(configured);
    expect(new Set(asked.map((r) => JSON.stringify(r.scopes))).size).to.equal(1);
  });

  describe('token reuse', () => {
    let front: HttpFront;
    const seen: Array<{ auth: string; status: number }> = [];

    before(async () => {
      // a counting proxy in front of notary-server: shows how many trust-data requests carried which credentials
      front = await startHttpFront({
        upstream: server.url,
        upstreamCa: server.certs.caPem,
        tls: { certPem: server.certs.certPem, keyPem: server.certs.keyPem },
        intercept: async (req, forward) => {
          const authorization = req.headers.authorization;
          const entry = { auth: typeof authorization === 'string' ? authorization.split(' ')[0]! : 'none', status: 0 };
          seen.push(entry); // in order of arrival
          const res = await forward();
          entry.status = res.status;
          return res;
        },
      });
    });
    after(async () => {
      await front?.stop();
    });

    it('fetches one token for several validations and reuses it for every trust-data request', async () => {
      const v = validator({ username: USER, password: PASSWORD, tokenHosts: [tokens.host] }, front.host);
      const before = tokens.hits();
      expect((await v.validate(ref(GUN, '3.19'), rule(), ctx())).digest).to.equal(D319);
      expect((await v.validate(ref(GUN, 'edge'), rule(), ctx())).digest).to.equal(DEDGE);
      expect((await v.validate(ref(GUN, '3.19'), rule(), ctx())).digest).to.equal(D319);
      await denied(v.validate(ref(GUN, 'nope'), rule(), ctx()), 'NOTARY_TAG_NOT_SIGNED');
      expect(tokens.hits() - before, 'calls to the token service').to.equal(1);
      // The first validation fetches root.json and timestamp.json in parallel: both go out anonymously and get the
      // 401 that names the token service (they share one token request). Every later request carries the token.
      expect(seen.slice(0, 2), JSON.stringify(seen)).to.deep.equal([{ auth: 'none', status: 401 }, { auth: 'none', status: 401 }]);
      const rest = seen.slice(2);
      expect(rest.length).to.be.greaterThan(8); // 2 retries + 4 validations × several metadata files each
      expect(rest.every((r) => r.auth === 'Bearer' && r.status === 200), JSON.stringify(seen)).to.equal(true);
    });
  });
});
