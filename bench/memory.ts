/** Memory: RSS of this process (webhook + load generator) while sending N warm requests; growth over the last half. */
import { runLoad } from './load.js';
import { admitted, podReview, type BenchWorld } from './setup.js';

export interface MemoryResult {
  requests: number;
  errors: number;
  rssMiB: number;
  rssAtHalfMiB: number;
  lastHalfGrowthMiB: number;
  samplesMiB: number[];
  heapUsedMiB: number;
}

const mib = (n: number) => Math.round((n / 1024 / 1024) * 10) / 10;

export async function memory(b: BenchWorld, requests: number, concurrency: number): Promise<MemoryResult> {
  const body = podReview(b.world.signed.slice(0, 3));
  const samples: number[] = [];
  const every = Math.max(1, Math.floor(requests / 10));
  const r = await runLoad({
    url: `${b.webhook.url}/mutate`, ca: b.ca, body, requests, concurrency, maxSeconds: 300, check: admitted,
    progress: { every, fn: () => samples.push(mib(process.memoryUsage().rss)) },
  });
  const rss = mib(process.memoryUsage().rss);
  const half = samples[Math.floor(samples.length / 2) - 1] ?? rss;
  return {
    requests: r.requests, errors: r.errors, rssMiB: rss, rssAtHalfMiB: half,
    lastHalfGrowthMiB: Math.round((rss - half) * 10) / 10, samplesMiB: samples, heapUsedMiB: mib(process.memoryUsage().heapUsed),
  };
}
