/**
 * The validating webhook (POST /validate) against the real HTTPS webhook and a real registry with cosign-signed
 * images: the same decision as the mutating pass on the final object, never a patch; a tag the mutating pass verified
 * and pinned is a cache hit there (no registry request); a verified image left unpinned under a `mutate` rule is refused.
 */
import { expect } from 'chai';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { applyPatch, review, workload } from '../support/reviews.js';
import { startWebhook, type TestWebhook } from '../support/webhook.js';
import { cosignConfig, pushSignedWorld, type SignedWorld } from '../cache/world.js';

describe('validating pass (POST /validate)', function () {
  this.timeout(60_000);
  let registry: TestRegistry;
  let world: SignedWorld;
  let hook: TestWebhook;
  const validate = (body: unknown) => hook.post(body, { path: '/validate' });

  before(async () => {
    registry = await startRegistry();
    world = await pushSignedWorld(registry, 2, 1);
    hook = await startWebhook(cosignConfig(registry, world.key, { expirySeconds: 60 }));
  });
  after(async () => {
    await hook?.close();
    await registry?.stop();
  });

  it('the object the mutating pass pinned is admitted from the cache: no registry request, no patch', async () => {
    const object = workload('Pod', { containers: [world.signed[0]!] });
    const mutated = await hook.post(review('Pod', object));
    expect(mutated.json.response.allowed).to.equal(true);
    const final = applyPatch(object, mutated.json.response.patch);
    const before = registry.requestCount();
    const res = await validate(review('Pod', final));
    expect(res.json.response.allowed, JSON.stringify(res.json.response)).to.equal(true);
    expect(res.json.response.patch).to.equal(undefined);
    expect(registry.requestCount() - before, 'registry requests in the validating pass').to.equal(0);
    expect(await hook.server.metrics.value('imprimatur_validating_requests_total', { outcome: 'admitted' })).to.equal(1);
  });

  it('an image the mutating pass never saw is verified there, and denied when unsigned', async () => {
    const before = registry.requestCount();
    const res = await validate(review('Pod', workload('Pod', { containers: [world.unsigned[0]!] })));
    expect(registry.requestCount() - before).to.be.greaterThan(0);
    expect(res.json.response.allowed).to.equal(false);
    expect(res.json.response.status.message).to.contain(`image "${world.unsigned[0]}"`).and.match(/no signatures found/);
  });

  it('a verified tag that is still unpinned under a mutate rule is refused (NOT_PINNED), never patched', async () => {
    const res = await validate(review('Pod', workload('Pod', { containers: [world.signed[1]!] })));
    expect(res.json.response.allowed).to.equal(false);
    expect(res.json.response.patch).to.equal(undefined);
    expect(res.json.response.status.message).to.contain(`image "${world.signed[1]}"`).and.contain('not pinned');
  });

  it('an insecureValidateOnly rule never pins, so its verified tag passes the validating pass', async () => {
    const text = cosignConfig(registry, world.key).replace('    with:\n', '    with:\n      mode: insecureValidateOnly\n');
    const other = await startWebhook(text);
    try {
      const res = await other.post(review('Pod', workload('Pod', { containers: [world.signed[0]!] })), { path: '/validate' });
      expect(res.json.response.allowed, JSON.stringify(res.json.response)).to.equal(true);
    } finally {
      await other.close();
    }
  });

  it('answers malformed requests on /validate like /mutate (405, 415)', async () => {
    expect((await hook.post(undefined, { method: 'GET', path: '/validate' })).status).to.equal(405);
    expect((await hook.post(undefined, { path: '/validate', contentType: 'text/plain', raw: 'x' })).status).to.equal(415);
  });
});
