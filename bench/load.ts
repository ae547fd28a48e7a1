/** In-process load generator: undici keep-alive pool, fixed concurrency, bounded by request count and time. */
import { Agent, request } from 'undici';

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  throughput: number;
  p50Ms: number;
  p99Ms: number;
}

export interface LoadOptions {
  url: string;
  ca: string | Buffer;
  body: string;
  requests: number;
  concurrency: number;
  /** Stop early after this long (default 120 s). */
  maxSeconds?: number;
  /** Checks each answer; false counts as an error. */
  check?: (status: number, text: string) => boolean;
  /** Called after every `every` requests (memory sampling). */
  progress?: { every: number; fn: (done: number) => void };
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const agent = new Agent({ connections: o.concurrency, keepAliveTimeout: 60_000, connect: { ca: o.ca } });
  const latencies = new Float64Array(o.requests);
  let next = 0;
  let done = 0;
  let errors = 0;
  const deadline = Date.now() + (o.maxSeconds ?? 120) * 1000;
  const started = performance.now();
  const worker = async () => {
    while (next < o.requests && Date.now() < deadline) {
      const i = next++;
      const t = performance.now();
      try {
        const res = await request(o.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: o.body, dispatcher: agent });
        const text = await res.body.text();
        if (o.check && !o.check(res.statusCode, text)) errors++;
      } catch {
        errors++;
      }
      latencies[i] = performance.now() - t;
      done++;
      if (o.progress && done % o.progress.every === 0) o.progress.fn(done);
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  await agent.close();
  const sorted = Array.from(latencies.subarray(0, done)).sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
  return { requests: done, errors, seconds, throughput: done / seconds, p50Ms: pct(0.5), p99Ms: pct(0.99) };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
