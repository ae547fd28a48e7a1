/** The result stores: the bounded in-memory LRU, and Redis (real redis-server) shared by replicas with fallback. */
import { expect } from 'chai';
import { MemoryStore } from '../../src/cache/memory.js';
import { RedisStore } from '../../src/cache/redis.js';
import { createResultStore } from '../../src/cache/index.js';
import { IntegrityKey } from '../../src/integrity/key.js';

/** The integrity key every replica of these tests shares. */
const KEY = IntegrityKey.random();
import type { CachedResult } from '../../src/cache/types.js';
import { silentLogger } from '../../src/log.js';
import { startRedis, type TestRedis } from '../harness/redis.js';
import { capturingLogger } from './log-capture.js';

const admitted = (digest: string): CachedResult => ({ ok: true, digest, details: { summary: `signed ${digest}` } });
const denied: CachedResult = { ok: false, code: 'SIGNATURE_NOT_FOUND', message: 'no signature found for x', details: { summary: 'none' } };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const D1 = `sha256:${'1'.repeat(64)}`;

async function until(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(20);
  }
}

describe('cache: in-memory store', () => {
  it('returns what was stored until it expires', async () => {
    const s = new MemoryStore();
    await s.set('a', admitted(D1), 0.2);
    expect(await s.get('a')).to.deep.equal(admitted(D1));
    await sleep(300);
    expect(await s.get('a')).to.equal(undefined);
  });

  it('keeps denials with code and message, and stores nothing for ttl 0', async () => {
    const s = new MemoryStore();
    await s.set('d', denied, 30);
    await s.set('z', denied, 0);
    expect(await s.get('d')).to.deep.equal(denied);
    expect(await s.get('z')).to.equal(undefined);
  });

  it('is bounded: the least recently used entry goes first', async () => {
    const s = new MemoryStore(3);
    for (const k of ['a', 'b', 'c']) await s.set(k, admitted(D1), 30);
    await s.get('a');
    await s.set('d', admitted(D1), 30);
    expect(s.size).to.equal(3);
    expect(await s.get('b')).to.equal(undefined);
    expect(await s.get('a')).to.not.equal(undefined);
  });

  it('createResultStore without REDIS_URL is the memory store', () => {
    expect(createResultStore({}, silentLogger, { key: KEY }).kind).to.equal('memory');
    expect(() => createResultStore({ REDIS_URL: 'http://x' }, silentLogger, { key: KEY })).to.throw(/redis:\/\/ or rediss:\/\//);
  });
});

describe('cache: Redis store (real redis-server)', function () {
  this.timeout(30_000);
  let redis: TestRedis;
  const open: RedisStore[] = [];
  const store = (o: Partial<ConstructorParameters<typeof RedisStore>[0]> = {}) => {
    const s = new RedisStore({ url: redis.url, logger: silentLogger, key: KEY, ...o });
    open.push(s);
    return s;
  };
  const ready = (s: RedisStore) => until(() => s.healthy);

  before(async () => {
    redis = await startRedis({ password: 's3cret pass' });
  });
  after(async () => {
    await Promise.all(open.map((s) => s.close()));
    await redis.stop();
  });

  it('shares results between replicas (two stores, separate memory) with the password from the URL', async () => {
    const a = store();
    const b = store();
    await Promise.all([ready(a), ready(b)]);
    await a.set('shared-key', admitted(D1), 30);
    expect(await b.get('shared-key')).to.deep.equal(admitted(D1));
    expect(redis.cli('DBSIZE')).to.equal('1');
    const ttl = Number(redis.cli('PTTL', 'imprimatur:v2:shared-key'));
    expect(ttl).to.be.within(25_000, 30_000);
  });

  it('expires entries in Redis and in memory', async () => {
    const a = store();
    const b = store();
    await Promise.all([ready(a), ready(b)]);
    await a.set('short', denied, 0.3);
    expect(await b.get('short')).to.deep.equal(denied);
    await sleep(450);
    expect(await a.get('short')).to.equal(undefined);
    expect(await b.get('short')).to.equal(undefined);
  });

  it('falls back to memory when Redis is killed, warns once per outage, and recovers', async () => {
    const { logger, messages } = capturingLogger();
    const a = store({ logger, backoffMs: 200 });
    await ready(a);
    await redis.kill();
    const started = Date.now();
    for (let i = 0; i < 20; i++) {
      await a.set(`down-${i}`, admitted(D1), 30);
      expect(await a.get(`down-${i}`)).to.deep.equal(admitted(D1)); // served from memory
      expect(await a.get(`missing-${i}`)).to.equal(undefined);
    }
    expect(Date.now() - started, '40 lookups with Redis down stay bounded').to.be.below(5000);
    const warnings = messages().filter((m) => m.startsWith('Redis is unavailable'));
    expect(warnings).to.have.length(1);

    await redis.start();
    await until(() => a.healthy, 10_000);
    expect(messages().filter((m) => m.startsWith('Redis is reachable again'))).to.have.length(1);
    const b = store();
    await ready(b);
    await a.set('after-recovery', admitted(D1), 30);
    expect(await b.get('after-recovery')).to.deep.equal(admitted(D1));

    await redis.kill();
    await until(() => !a.healthy);
    await a.get('second-outage');
    await redis.start();
    await until(() => a.healthy, 10_000);
    expect(messages().filter((m) => m.startsWith('Redis is unavailable')), 'one warning per outage').to.have.length(2);
  });

  it('a frozen (slow) Redis costs at most the command timeout, then is skipped', async () => {
    const a = store({ commandTimeoutMs: 80, backoffMs: 5000 });
    await ready(a);
    redis.freeze();
    try {
      let t = Date.now();
      expect(await a.get('frozen-1')).to.equal(undefined);
      expect(Date.now() - t).to.be.below(1000);
      t = Date.now();
      for (let i = 0; i < 50; i++) await a.get(`frozen-more-${i}`);
      expect(Date.now() - t, 'skipped during backoff').to.be.below(200);
    } finally {
      redis.thaw();
    }
  });
});

describe('cache: Redis over TLS (rediss://, CA file)', function () {
  this.timeout(30_000);
  it('connects with the CA, and refuses (falls back) without it', async () => {
    const redis = await startRedis({ tls: true, password: 'pw' });
    const good = new RedisStore({ url: redis.url, ca: redis.certificates!.caPem, logger: silentLogger, key: KEY });
    const { logger, messages } = capturingLogger();
    const bad = new RedisStore({ url: redis.url, logger, key: KEY });
    try {
      await until(() => good.healthy);
      await good.set('tls', admitted(D1), 30);
      expect(redis.cli('EXISTS', 'imprimatur:v2:tls')).to.equal('1');
      await until(() => messages().some((m) => m.startsWith('Redis is unavailable')));
      expect(bad.healthy).to.equal(false);
      expect(await bad.get('tls')).to.equal(undefined);
    } finally {
      await good.close();
      await bad.close();
      await redis.stop();
    }
  });
});
