/**
 * Warm path: a Pod with 3 cosign-verified images (cache hits) vs. a no-op express HTTPS handler. Both servers run as
 * their own processes (the webhook from dist/, with the chart's heap bound), the load generator in this one; the
 * sides alternate so background noise hits both alike. Besides throughput and latency, the servers' own CPU time per
 * request (from /proc) gives a figure that does not depend on how fast the load generator is.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBaseline } from './baseline-server.js';
import { median, runLoad, type LoadResult } from './load.js';
import { processCpuMs } from './process-cpu.js';
import { admitted, podReview, type BenchWorld } from './setup.js';
import { localSelfSigned } from '../src/server/tls.js';

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
  /** Server CPU per request (ms), webhook and baseline, and baseline / webhook (≥ 0.8 means ≤ 1.25× the work). */
  cpuPerRequestMs: number;
  baselineCpuPerRequestMs: number;
  cpuRatio: number;
  errors: number;
}

export async function warm(b: BenchWorld, requests: number, concurrency: number, rounds = 3): Promise<WarmResult> {
  const body = podReview(b.world.signed.slice(0, 3));
  const baseline = await startBaseline(localSelfSigned(join(tmpdir(), 'imprimatur-test-tls')));
  const ours = { url: `${b.proc.url}/mutate`, pid: b.proc.pid };
  try {
    const prime = await runLoad({ url: ours.url, ca: b.ca, body, requests: 500, concurrency: 4, check: admitted });
    if (prime.errors) throw new Error('warm-up requests were not admitted: is the cosign setup broken?');
    await runLoad({ url: baseline.url, ca: b.ca, body, requests: 500, concurrency, check: admitted });
    const measured = async (side: { url: string; pid: number }) => {
      const cpu = processCpuMs(side.pid);
      const r = await runLoad({ url: side.url, ca: b.ca, body, requests, concurrency, check: admitted });
      return { ...r, cpuPerRequest: (processCpuMs(side.pid) - cpu) / r.requests };
    };
    const mine: Array<LoadResult & { cpuPerRequest: number }> = [];
    const base: Array<LoadResult & { cpuPerRequest: number }> = [];
    for (let r = 0; r < rounds; r++) {
      base.push(await measured(baseline));
      mine.push(await measured(ours));
    }
    const throughput = median(mine.map((x) => x.throughput));
    const baselineThroughput = median(base.map((x) => x.throughput));
    const cpuPerRequestMs = median(mine.map((x) => x.cpuPerRequest));
    const baselineCpuPerRequestMs = median(base.map((x) => x.cpuPerRequest));
    return {
      requestsPerRound: requests, concurrency, rounds,
      throughput, baselineThroughput, throughputRatio: throughput / baselineThroughput,
      p50Ms: median(mine.map((x) => x.p50Ms)), p99Ms: median(mine.map((x) => x.p99Ms)),
      baselineP50Ms: median(base.map((x) => x.p50Ms)), baselineP99Ms: median(base.map((x) => x.p99Ms)),
      cpuPerRequestMs, baselineCpuPerRequestMs, cpuRatio: baselineCpuPerRequestMs / cpuPerRequestMs,
      errors: mine.reduce((s, x) => s + x.errors, 0),
    };
  } finally {
    await baseline.close();
  }
}
