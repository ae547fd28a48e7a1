/**
 * Memory: RSS of the webhook process alone (built JS, own process: bench/webhook-process.ts) while the benchmark
 * process sends N warm requests (cache hits) to it. RSS comes from the webhook's own GET /metrics
 * (`imprimatur_process_resident_memory_bytes`, prom-client default metrics), sampled every N/10 requests, at the
 * halfway point and at the end; growth is end minus halfway. The benchmark process's own RSS (tsx, load generator,
 * registry front) is reported separately for comparison with earlier runs.
 */
import { cosignConfig } from '../test/cache/world.js';
import { runLoad } from './load.js';
import { admitted, podReview, type BenchWorld } from './setup.js';

export interface MemoryResult {
  requests: number;
  errors: number;
  /** Webhook process RSS at start (after the warm-up), halfway and end. */
  rssStartMiB: number;
  rssMiB: number;
  rssAtHalfMiB: number;
  lastHalfGrowthMiB: number;
  samplesMiB: number[];
  heapUsedMiB: number;
  /** RSS of the benchmark process (what this figure used to be). */
  benchProcessRssMiB: number;
}

const mib = (n: number) => Math.round((n / 1024 / 1024) * 10) / 10;

export async function memory(b: BenchWorld, requests: number, concurrency: number): Promise<MemoryResult> {
  const p = b.proc;
  // the fan-out left the webhook on a config for the registry's direct address: back to the bench config, then warm it
  await p.reload(cosignConfig(b.registry, b.world.key, { expirySeconds: 3600, extra: '# memory' }));
  const body = podReview(b.world.signed.slice(0, 3));
  const prime = await p.post(body);
  if (!admitted(prime.status, prime.text)) throw new Error(`warm-up request was not admitted: ${prime.text.slice(0, 300)}`);
  const rss = async () => mib((await p.metrics()).get('imprimatur_process_resident_memory_bytes') ?? NaN);
  const rssStart = await rss();
  const every = Math.max(1, Math.floor(requests / 10));
  const pending: Array<Promise<number>> = [];
  const r = await runLoad({
    url: `${p.url}/mutate`, ca: b.ca, body, requests, concurrency, maxSeconds: 300, check: admitted,
    progress: { every, fn: () => { pending.push(rss()); } },
  });
  const samples = await Promise.all(pending);
  const end = await rss();
  const half = samples[Math.floor(samples.length / 2) - 1] ?? end;
  const heap = (await p.metrics()).get('imprimatur_nodejs_heap_size_used_bytes') ?? NaN;
  return {
    requests: r.requests, errors: r.errors, rssStartMiB: rssStart, rssMiB: end, rssAtHalfMiB: half,
    lastHalfGrowthMiB: Math.round((end - half) * 10) / 10, samplesMiB: samples, heapUsedMiB: mib(heap),
    benchProcessRssMiB: mib(process.memoryUsage().rss),
  };
}
