/**
 * Issue 11, item 6: the shared Redis cache is not trusted. Whoever can write to Redis could mark an image verified and
 * choose its pinned digest; every entry is therefore authenticated with the replicas' integrity key. Real redis-server,
 * real registry with cosign-signed images, the real HTTPS webhook.
 */
import { expect } from 'chai';
import { RedisStore } from '../../src/cache/redis.js';
import { IntegrityKey } from '../../src/integrity/key.js';
import { startRedis, type TestRedis } from '../harness/redis.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { review, workload } from '../support/reviews.js';
import { startWebhook, type TestWebhook } from '../support/webhook.js';
import { capturingLogger } from './log-capture.js';
import { cosignConfig, pushSignedWorld, type SignedWorld } from './world.js';

const FORGED_DIGEST = `sha256:${'e'.repeat(64)}`;
const INTEGRITY_LOG = /^a shared-cache entry failed authentication and was ignored/;

describe('cache: Redis entries are authenticated (integrity key)', function () {
  this.timeout(60_000);
  let redis: TestRedis;
  let registry: TestRegistry;
  let world: SignedWorld;
  const closers: Array<() => Promise<void>> = [];
  const pod = (image: string) => review('Pod', workload('Pod', { containers: [image] }));

  before(async function () {
    this.timeout(120_000);
    [redis, registry] = await Promise.all([startRedis({ password: 'redis pass' }), startRegistry()]);
    world = await pushSignedWorld(registry, 2, 1);
  });
  after(async () => {
    for (const c of closers.splice(0)) await c();
    await redis?.stop();
    await registry?.stop();
  });

  /** A replica: its own in-process LRU, the shared Redis, the given integrity key, a log to inspect. */
  async function replica(key: IntegrityKey): Promise<{ hook: TestWebhook; store: RedisStore; logs: () => string[]; failures: () => Promise<number> }> {
    const { logger, messages } = capturingLogger();
    let hook: TestWebhook | undefined;
    // wired as `serve` wires it: failures counted in imprimatur_cache_integrity_failures_total
    const store = new RedisStore({ url: redis.url, logger, key, onIntegrityFailure: () => hook?.server.metrics.cacheIntegrityFailure() });
    const end = Date.now() + 5000;
    while (!store.healthy && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    hook = await startWebhook(cosignConfig(registry, world.key, { expirySeconds: 300 }), { cache: store });
    const h = hook;
    closers.push(async () => { await h.close(); await store.close(); });
    return { hook: h, store, logs: messages, failures: () => h.server.metrics.value('imprimatur_cache_integrity_failures_total') };
  }

  /** The Redis keys (and values) Imprimatur wrote. */
  const entries = () => redis.cli('--scan', '--pattern', 'imprimatur:*').split('\n').filter(Boolean);

  it('a forged entry marking an unsigned image verified (with a digest of the attacker\'s choice) is ignored: denied, counted, logged once', async () => {
    redis.cli('FLUSHALL');
    const r = await replica(IntegrityKey.random());
    const before = new Set(entries());
    const first = await r.hook.post(pod(world.unsigned[0]!));
    expect(first.json.response.allowed).to.equal(false);
    const written = entries().filter((k) => !before.has(k));
    expect(written, 'the denial was cached in Redis').to.have.length(1);
    const key = written[0]!;
    // The attacker overwrites it: "verified, digest FORGED" — both in the plain format and with a made-up MAC.
    const payload = JSON.stringify({ r: { ok: true, digest: FORGED_DIGEST, details: { summary: 'forged' } }, e: Date.now() + 300_000 });
    for (const forged of [payload, `${'A'.repeat(43)}.${payload}`]) {
      redis.cli('SET', key, forged, 'PX', '300000');
      r.store.clearLocal();
      const res = await r.hook.post(pod(world.unsigned[0]!));
      expect(res.json.response.allowed, 'a forged cache entry must not admit an unsigned image').to.equal(false);
      expect(res.json.response.status.message).to.match(/no signatures found/).and.not.contain(FORGED_DIGEST);
    }
    expect(await r.failures()).to.equal(2);
    expect(r.logs().filter((m) => INTEGRITY_LOG.test(m)), 'logged once').to.have.length(1);
  });

  it('an authentic entry cannot be moved to another image\'s key', async () => {
    redis.cli('FLUSHALL');
    const r = await replica(IntegrityKey.random());
    expect((await r.hook.post(pod(world.signed[0]!))).json.response.allowed).to.equal(true);
    const signedKeys = entries();
    expect((await r.hook.post(pod(world.unsigned[0]!))).json.response.allowed).to.equal(false);
    const unsignedKey = entries().find((k) => !signedKeys.includes(k));
    expect(unsignedKey).to.be.a('string');
    // copy an authentic value of the signed image (the tag's or the pinned spelling's) onto the unsigned image's key
    redis.cli('SET', unsignedKey!, redis.cli('GET', signedKeys[0]!), 'PX', '300000');
    r.store.clearLocal();
    const res = await r.hook.post(pod(world.unsigned[0]!));
    expect(res.json.response.allowed).to.equal(false);
    expect(await r.failures()).to.be.greaterThan(0);
  });

  it('replicas sharing the integrity key share results (no registry request); a replica with another key verifies again', async () => {
    const shared = IntegrityKey.random();
    const a = await replica(shared);
    const b = await replica(shared);
    const other = await replica(IntegrityKey.random());
    expect((await a.hook.post(pod(world.signed[1]!))).json.response.allowed).to.equal(true);
    let before = registry.requestCount();
    expect((await b.hook.post(pod(world.signed[1]!))).json.response.allowed).to.equal(true);
    expect(registry.requestCount() - before, 'same key: a hit').to.equal(0);
    before = registry.requestCount();
    expect((await other.hook.post(pod(world.signed[1]!))).json.response.allowed).to.equal(true);
    expect(registry.requestCount() - before, 'another key: verified again').to.be.greaterThan(0);
    expect(await other.failures()).to.be.greaterThan(0);
  });

  it('writes entries as <HMAC>.<payload> under the v2 prefix', async () => {
    const values = entries().map((k) => redis.cli('GET', k));
    expect(entries().every((k) => k.startsWith('imprimatur:v2:'))).to.equal(true);
    for (const v of values) expect(v).to.match(/^[A-Za-z0-9_-]{43}\.\{"r":/);
  });
});
