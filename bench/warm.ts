/** Warm path: a Pod with 3 cosign-verified images (cache hits) vs. a no-op express HTTPS handler, same machine, same run. */
import { startBaseline } from './baseline-server.js';
import { median, runLoad, type LoadResult } from './load.js';
import { admitted, podReview, type BenchWorld } from './setup.js';
import { localSelfSigned } from '../src/server/tls.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface WarmResult {
  requestsPerRound: number;
  concurrency: number;
  rounds: number;
  throughput: number;
  baselineThroughput: number;
  throughputRatio: number;
  p50Ms: number;
  p99Ms: number;
  baselineP50Ms: number;
  baselineP99Ms: number;
  errors: number;
}

export async function warm(b: BenchWorld, requests: number, concurrency: number, rounds = 3): Promise<WarmResult> {
  const body = podReview(b.world.signed.slice(0, 3));
  const baseline = await startBaseline(localSelfSigned(join(tmpdir(), 'imprimatur-test-tls')));
  try {
    const prime = await runLoad({ url: `${b.webhook.url}/mutate`, ca: b.ca, body, requests: 50, concurrency: 4, check: admitted });
    if (prime.errors) throw new Error('warm-up requests were not admitted: is the cosign setup broken?');
    await runLoad({ url: baseline.url, ca: b.ca, body, requests: 500, concurrency, check: admitted });
    const ours: LoadResult[] = [];
    const base: LoadResult[] = [];
    for (let r = 0; r < rounds; r++) {
      // alternate, so background noise hits both sides alike
      base.push(await runLoad({ url: baseline.url, ca: b.ca, body, requests, concurrency, check: admitted }));
      ours.push(await runLoad({ url: `${b.webhook.url}/mutate`, ca: b.ca, body, requests, concurrency, check: admitted }));
    }
    const throughput = median(ours.map((x) => x.throughput));
    const baselineThroughput = median(base.map((x) => x.throughput));
    return {
      requestsPerRound: requests, concurrency, rounds,
      throughput, baselineThroughput, throughputRatio: throughput / baselineThroughput,
      p50Ms: median(ours.map((x) => x.p50Ms)), p99Ms: median(ours.map((x) => x.p99Ms)),
      baselineP50Ms: median(base.map((x) => x.p50Ms)), baselineP99Ms: median(base.map((x) => x.p99Ms)),
      errors: ours.reduce((s, x) => s + x.errors, 0),
    };
  } finally {
    await baseline.close();
  }
}
