/**
 * Load, fault and soak: a bounded open-loop load on the real webhook (127.0.0.1 only) while the registry,
 * Redis, the alert receiver and the config file fail and recover. STRESS_SECONDS (default 8) and
 * STRESS_RATE (default 50 req/s) size it; `npm run test:stress` runs 30 s at 200 req/s.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { RedisStore } from '../../src/cache/redis.js';
import { IntegrityKey } from '../../src/integrity/key.js';
import { silentLogger } from '../../src/log.js';
import { localSelfSigned } from '../../src/server/tls.js';
import { startHttpReceiver, type HttpReceiver } from '../harness/http-receiver.js';
import { startRedis, type TestRedis } from '../harness/redis.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { review, workload } from '../support/reviews.js';
import { startWebhook, type TestWebhook } from '../support/webhook.js';
import { cosignConfig, pushSignedWorld, type SignedWorld } from '../cache/world.js';
import { openLoop, percentile, type Sample } from './load-schedule.js';

const SECONDS = Number(process.env.STRESS_SECONDS ?? '') || 8;
const RATE = Number(process.env.STRESS_RATE ?? '') || 50;
const P99_MS = Number(process.env.STRESS_P99_MS ?? '') || 100;
/**
 * The latency bound is checked on the full load (`npm run test:stress`: 30 s, ~1200 warm samples) or when
 * STRESS_P99_MS is set. The short form inside `npm test` has ~80 warm samples, where p99 is one GC pause or TLS
 * handshake away from any bound, so there it is printed, not asserted: speed is measured by the benchmark and the
 * full stress run, not by a timed unit test. Correctness under faults is asserted in both forms.
 */
const ASSERT_P99 = SECONDS >= 30 || process.env.STRESS_P99_MS !== undefined;
/** After a fault ends, decisions must be right again within this long. */
const RECOVERY_MS = 3000;

interface Fault {
  name: string;
  /** Fractions of the run. */
  from: number;
  to: number;
  start(): Promise<void> | void;
  end(): Promise<void> | void;
  /** Whether signed images may be denied while it lasts (and for RECOVERY_MS after). */
  mayDenySigned: boolean;
  startedAt?: number;
  endedAt?: number;
}

describe(`stress: ${RATE} req/s for ${SECONDS} s with faults`, function () {
  this.timeout(SECONDS * 1000 + 120_000);
  let registry: TestRegistry;
  let redis: TestRedis;
  let receiver: HttpReceiver;
  let world: SignedWorld;
  let webhook: TestWebhook;
  let store: RedisStore;
  let alerting: string;

  before(async () => {
    registry = await startRegistry();
    world = await pushSignedWorld(registry, 3, 1);
    redis = await startRedis();
    receiver = await startHttpReceiver();
    alerting = `alerting:\n  rejectRequest:\n    receivers:\n      - name: hanging\n        template: ecs-1-12-0\n        receiverUrl: ${receiver.url}\n`;
    store = new RedisStore({ url: redis.url, logger: silentLogger, backoffMs: 500, key: IntegrityKey.random() });
    webhook = await startWebhook(cosignConfig(registry, world.key, { extra: alerting }), { cache: store });
  });
  after(async () => {
    await webhook?.close();
    await store?.close();
    await receiver?.close();
    await redis?.stop();
    await registry?.stop();
  });

  it('answers every request well-formed and correctly, never admits an unsigned image, recovers after each fault', async () => {
    const signedPod = (i: number) => review('Pod', workload('Pod', { containers: [world.signed[i % 3]!, world.signed[(i + 1) % 3]!] }));
    const unsignedPod = () => review('Pod', workload('Pod', { containers: [world.signed[0]!, world.unsigned[0]!] }));
    const reload = (text: string) => {
      writeFileSync(webhook.configFile, text);
      return webhook.server.runtime.reload();
    };
    let generation = 0;
    const faults: Fault[] = [
      { name: 'registry killed', from: 0.2, to: 0.32, start: () => registry.stop(), end: () => registry.restart(), mayDenySigned: false },
      { name: 'Redis killed', from: 0.36, to: 0.48, start: () => redis.kill(), end: () => redis.start(), mayDenySigned: false },
      { name: 'alert receiver hanging', from: 0.5, to: 0.62, start: () => receiver.setDefault({ status: 200, delayMs: 20_000 }), end: () => receiver.setDefault({ status: 200 }), mayDenySigned: false },
      {
        name: 'broken config, then a good one', from: 0.64, to: 0.72,
        start: () => { expect(reload('validators: [').error).to.not.equal(undefined); },
        end: () => { expect(reload(cosignConfig(registry, world.key, { extra: `${alerting}# good ${++generation}` })).changed).to.equal(true); },
        mayDenySigned: false,
      },
    ];

    // warm the cache (and Redis) before the measured load
    for (let i = 0; i < 3; i++) expect((await webhook.post(signedPod(i))).json.response.allowed).to.equal(true);
    await webhook.post(unsignedPod());

    const loop = openLoop({
      url: `${webhook.url}/mutate`,
      ca: localSelfSigned(join(tmpdir(), 'imprimatur-test-tls')).cert,
      ratePerSecond: RATE,
      seconds: SECONDS,
      next: (i) => (i % 5 === 4 ? { kind: 'unsigned', review: unsignedPod() as never } : { kind: 'signed', review: signedPod(i) as never }),
    });
    const injector = (async () => {
      const events = faults.flatMap((f) => [{ t: f.from, run: async () => { f.startedAt = loop.elapsedMs(); await f.start(); } }, { t: f.to, run: async () => { await f.end(); f.endedAt = loop.elapsedMs(); } }]).sort((a, b) => a.t - b.t);
      for (const e of events) {
        const wait = e.t * SECONDS * 1000 - loop.elapsedMs();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        await e.run();
      }
    })();
    const [samples] = await Promise.all([loop.done, injector]);

    const inFault = (s: Sample) => faults.find((f) => f.startedAt !== undefined && s.at >= f.startedAt && s.at <= (f.endedAt ?? Infinity) + RECOVERY_MS);
    const count = (pred: (s: Sample) => boolean) => samples.filter(pred).length;
    const warmWindow = samples.filter((s) => s.at < faults[0]!.from * SECONDS * 1000);
    const warmP99 = percentile(warmWindow.map((s) => s.latencyMs), 0.99);
    const rows = [
      ['requests sent', samples.length],
      ['signed admitted', count((s) => s.kind === 'signed' && s.allowed === true)],
      ['signed denied', count((s) => s.kind === 'signed' && s.allowed === false)],
      ['unsigned denied', count((s) => s.kind === 'unsigned' && s.allowed === false)],
      ['unsigned ADMITTED', count((s) => s.kind === 'unsigned' && s.allowed === true)],
      ['malformed / failed answers', count((s) => s.allowed === undefined)],
      ['p50 / p99 all (ms)', `${percentile(samples.map((s) => s.latencyMs), 0.5).toFixed(1)} / ${percentile(samples.map((s) => s.latencyMs), 0.99).toFixed(1)}`],
      ['p99 warm, before faults (ms)', warmP99.toFixed(1)],
      ...faults.map((f) => [`fault: ${f.name}`, `${((f.startedAt ?? NaN) / 1000).toFixed(1)}s → ${((f.endedAt ?? NaN) / 1000).toFixed(1)}s, ${count((s) => f.startedAt !== undefined && s.at >= f.startedAt && s.at <= (f.endedAt ?? Infinity))} requests during it`]),
    ];
    process.stdout.write(`\n      stress summary (${RATE} req/s, ${SECONDS} s, loopback)\n${rows.map(([k, v]) => `        ${String(k).padEnd(32)} ${v}`).join('\n')}\n`);

    expect(count((s) => s.allowed === undefined), 'every answer is a well-formed AdmissionReview').to.equal(0);
    expect(count((s) => s.kind === 'unsigned' && s.allowed === true), 'no unsigned image admitted at any moment').to.equal(0);
    const wrongSigned = samples.filter((s) => s.kind === 'signed' && s.allowed === false && !inFault(s)?.mayDenySigned);
    expect(wrongSigned.map((s) => `${(s.at / 1000).toFixed(2)}s`), 'signed images admitted outside faults and during cached faults').to.deep.equal([]);
    expect(samples.length).to.equal(Math.round(RATE * SECONDS));
    if (ASSERT_P99) expect(warmP99, `warm-path p99 under ${P99_MS} ms`).to.be.below(P99_MS);
    // after the last fault the webhook decides fresh (cold after the good config) and correctly
    const tail = samples.filter((s) => s.at > (faults.at(-1)!.endedAt ?? 0) + 500);
    expect(tail.length).to.be.greaterThan(0);
    expect(tail.every((s) => s.allowed === (s.kind === 'signed'))).to.equal(true);
    expect(await webhook.server.metrics.value('imprimatur_admission_requests_total')).to.be.at.least(samples.length);
  });
});
