/**
 * The verification cache end to end: the real HTTPS webhook, a real docker-registry with cosign-signed
 * images (counting front), a real redis-server for the shared store.
 */
import { writeFileSync } from 'node:fs';
import { expect } from 'chai';
import type { HandledReview } from '../../src/admission/handler.js';
import { RedisStore } from '../../src/cache/redis.js';
import { IntegrityKey } from '../../src/integrity/key.js';
import { silentLogger } from '../../src/log.js';
import { startRedis, type TestRedis } from '../harness/redis.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { review, workload } from '../support/reviews.js';
import { startWebhook, type TestWebhook } from '../support/webhook.js';
import { cosignConfig, pushSignedWorld, type ConfigOptions, type SignedWorld } from './world.js';

describe('cache: verification results through the webhook', function () {
  this.timeout(60_000);
  let registry: TestRegistry;
  let world: SignedWorld;
  const hooks: Array<() => Promise<void>> = [];
  const pod = (...images: string[]) => review('Pod', workload('Pod', { containers: images }));

  async function webhook(o: ConfigOptions = {}, extra: Parameters<typeof startWebhook>[1] = {}) {
    const w = await startWebhook(cosignConfig(registry, world.key, o), extra);
    hooks.push(() => w.close());
    const decisions: HandledReview[] = [];
    w.server.runtime.onDecision = ((prev) => (r: HandledReview, rv: Parameters<NonNullable<typeof prev>>[1]) => {
      prev?.(r, rv);
      decisions.push(r);
    })(w.server.runtime.onDecision);
    return { w, decisions };
  }
  /** Registry requests made while `fn` runs. */
  async function counted<T>(fn: () => Promise<T>): Promise<{ value: T; requests: number }> {
    const before = registry.requestCount();
    const value = await fn();
    return { value, requests: registry.requestCount() - before };
  }
  const reloadWith = (w: TestWebhook, text: string) => {
    writeFileSync(w.configFile, text);
    const r = w.server.runtime.reload();
    expect(r.error).to.equal(undefined);
    expect(r.changed).to.equal(true);
  };

  before(async () => {
    registry = await startRegistry();
    world = await pushSignedWorld(registry, 3, 1);
  });
  after(async () => {
    for (const h of hooks.splice(0)) await h();
    await registry.stop();
  });

  it('a hit makes no registry request and gives the same decision (digest, patch, reason), marked as a cache hit', async () => {
    const { w, decisions } = await webhook();
    const first = await counted(() => w.post(pod(world.signed[0]!)));
    expect(first.value.json.response.allowed).to.equal(true);
    expect(first.requests).to.be.greaterThan(0);
    const second = await counted(() => w.post(pod(world.signed[0]!)));
    expect(second.requests).to.equal(0);
    expect(second.value.json.response.patch).to.equal(first.value.json.response.patch);
    const [a, b] = decisions.map((d) => d.event!.results[0]!);
    expect(b!.outcome).to.equal('admitted');
    expect(b!.digest).to.equal(a!.digest).and.match(/^sha256:/);
    expect(b!.reason).to.equal(a!.reason);
    expect(b!.details?.cache).to.equal('hit');
    expect(a!.details?.cache).to.equal(undefined);
    expect(await w.server.metrics.value('imprimatur_cache_requests_total', { result: 'hit' })).to.equal(1);
  });

  it('N concurrent identical verifications (across and within requests) share one verification', async () => {
    const { w } = await webhook({ extra: '# probe' });
    const one = await counted(() => w.post(pod(world.signed[1]!)));
    reloadWith(w, cosignConfig(registry, world.key, { extra: '# concurrent' })); // new generation: cold cache
    const many = await counted(() =>
      Promise.all([
        ...Array.from({ length: 10 }, () => w.post(pod(world.signed[1]!))),
        w.post(pod(world.signed[1]!, world.signed[1]!, world.signed[1]!)),
      ]),
    );
    expect(many.value.every((r) => r.json.response.allowed === true)).to.equal(true);
    expect(many.requests, 'one verification worth of registry requests').to.equal(one.requests);
  });

  it('entries expire after features.cache.expirySeconds; 0 turns the cache off', async () => {
    const { w } = await webhook({ expirySeconds: 1 });
    const first = await counted(() => w.post(pod(world.signed[2]!)));
    expect((await counted(() => w.post(pod(world.signed[2]!)))).requests).to.equal(0);
    await new Promise((r) => setTimeout(r, 1200));
    expect((await counted(() => w.post(pod(world.signed[2]!)))).requests).to.equal(first.requests);

    const off = (await webhook({ expirySeconds: 0 })).w;
    const a = await counted(() => off.post(pod(world.signed[2]!)));
    const b = await counted(() => off.post(pod(world.signed[2]!)));
    expect(b.requests).to.equal(a.requests).and.be.greaterThan(0);
    expect(b.value.json.response.allowed).to.equal(true);
  });

  it('denials are cached with their code and message, unless cacheErrors is false', async () => {
    const on = await webhook({ cacheErrors: true });
    const d1 = await counted(() => on.w.post(pod(world.unsigned[0]!)));
    const d2 = await counted(() => on.w.post(pod(world.unsigned[0]!)));
    expect(d1.value.json.response.allowed).to.equal(false);
    expect(d2.requests).to.equal(0);
    expect(d2.value.json.response.status.message).to.equal(d1.value.json.response.status.message);
    const [r1, r2] = on.decisions.map((d) => d.event!.results[0]!);
    expect(r2!.code).to.equal(r1!.code).and.be.a('string');
    expect(r2!.details?.cache).to.equal('hit');

    const off = await webhook({ cacheErrors: false });
    const e1 = await counted(() => off.w.post(pod(world.unsigned[0]!)));
    const e2 = await counted(() => off.w.post(pod(world.unsigned[0]!)));
    expect(e2.requests).to.equal(e1.requests).and.be.greaterThan(0);
    expect(e2.value.json.response.allowed).to.equal(false);
  });

  it('a config reload invalidates the cache; a failed reload keeps it', async () => {
    const { w } = await webhook();
    const first = await counted(() => w.post(pod(world.signed[0]!)));
    writeFileSync(w.configFile, 'validators: [');
    expect(w.server.runtime.reload().error).to.not.equal(undefined);
    expect((await counted(() => w.post(pod(world.signed[0]!)))).requests, 'broken config: old generation, warm').to.equal(0);
    reloadWith(w, cosignConfig(registry, world.key, { extra: '# changed' }));
    expect((await counted(() => w.post(pod(world.signed[0]!)))).requests).to.equal(first.requests);
    expect(await w.server.metrics.value('imprimatur_config_reloads_total', { result: 'failure' })).to.equal(1);
    expect(await w.server.metrics.value('imprimatur_config_reloads_total', { result: 'success' })).to.equal(1);
  });

  it('registry outages are not cached: the image verifies again once the registry is back', async () => {
    const { w } = await webhook({ extra: '# outage' });
    await registry.stop();
    try {
      const down = await w.post(pod(world.signed[0]!));
      expect(down.json.response.allowed).to.equal(false);
      expect(down.json.response.status.message).to.match(/unreachable|refused/i);
    } finally {
      await registry.restart();
    }
    const up = await w.post(pod(world.signed[0]!));
    expect(up.json.response.allowed).to.equal(true);
  });

  describe('with Redis shared by two replicas', () => {
    let redis: TestRedis;
    const stores: RedisStore[] = [];
    const key = IntegrityKey.random(); // the replicas share the chart's integrity key
    before(async () => {
      redis = await startRedis();
    });
    after(async () => {
      await Promise.all(stores.map((s) => s.close()));
      await redis.stop();
    });
    const replica = async () => {
      const store = new RedisStore({ url: redis.url, logger: silentLogger, backoffMs: 200, key });
      stores.push(store);
      const end = Date.now() + 5000;
      while (!store.healthy && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      return (await webhook({ extra: '# redis' }, { cache: store })).w;
    };

    it('one replica verifies, the other answers from Redis; Redis killed → memory fallback, no failed admission; recovery', async () => {
      const a = await replica();
      const b = await replica();
      const first = await counted(() => a.post(pod(world.signed[0]!)));
      expect(first.requests).to.be.greaterThan(0);
      const shared = await counted(() => b.post(pod(world.signed[0]!)));
      expect(shared.requests).to.equal(0);
      expect(shared.value.json.response.patch).to.equal(first.value.json.response.patch);

      await redis.kill();
      const during = await Promise.all([a.post(pod(world.signed[0]!)), b.post(pod(world.signed[1]!)), b.post(pod(world.unsigned[0]!))]);
      expect(during.map((r) => r.json.response.allowed)).to.deep.equal([true, true, false]);
      expect((await counted(() => b.post(pod(world.signed[1]!)))).requests, 'memory fallback serves hits').to.equal(0);

      await redis.start();
      const end = Date.now() + 10_000;
      while (!stores.every((s) => s.healthy) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      expect(stores.every((s) => s.healthy)).to.equal(true);
      const fresh = await counted(() => a.post(pod(world.signed[2]!)));
      expect(fresh.requests).to.be.greaterThan(0);
      expect((await counted(() => b.post(pod(world.signed[2]!)))).requests, 'shared again after recovery').to.equal(0);
    });
  });
});
