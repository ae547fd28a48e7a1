/** An open-loop load generator for the stress suite: a fixed rate of requests, bounded in count and time, loopback only. */
import { Agent, request } from 'undici';

export interface Sample {
  /** ms since the start of the load. */
  at: number;
  latencyMs: number;
  kind: string;
  /** undefined when the answer was not a well-formed AdmissionReview. */
  allowed?: boolean;
  status: number;
  error?: string;
}

export interface OpenLoop {
  done: Promise<Sample[]>;
  elapsedMs(): number;
}

export function openLoop(o: {
  url: string;
  ca: string;
  ratePerSecond: number;
  seconds: number;
  /** Builds request i: its kind label and the AdmissionReview object. */
  next: (i: number) => { kind: string; review: { request: { uid: string } } };
}): OpenLoop {
  if (!o.url.startsWith('https://127.0.0.1:')) throw new Error('stress traffic goes to 127.0.0.1 only');
  const agent = new Agent({ connections: 32, keepAliveTimeout: 30_000, connect: { ca: o.ca } });
  const total = Math.round(o.ratePerSecond * o.seconds);
  const started = performance.now();
  const samples: Sample[] = [];
  const pending: Promise<void>[] = [];
  const one = async (i: number): Promise<void> => {
    const { kind, review } = o.next(i);
    const at = performance.now() - started;
    try {
      const res = await request(o.url, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(review), dispatcher: agent,
        headersTimeout: 30_000, bodyTimeout: 30_000,
      });
      const text = await res.body.text();
      let allowed: boolean | undefined;
      try {
        const json = JSON.parse(text) as { kind?: string; response?: { uid?: string; allowed?: unknown } };
        if (json.kind === 'AdmissionReview' && json.response?.uid === review.request.uid && typeof json.response.allowed === 'boolean') allowed = json.response.allowed;
      } catch {
        // not JSON: counted as malformed
      }
      samples.push({ at, latencyMs: performance.now() - started - at, kind, allowed, status: res.statusCode });
    } catch (err) {
      samples.push({ at, latencyMs: performance.now() - started - at, kind, status: 0, error: (err as Error).message });
    }
  };
  const done = (async () => {
    for (let i = 0; i < total; i++) {
      const due = (i * 1000) / o.ratePerSecond;
      const wait = due - (performance.now() - started);
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      pending.push(one(i));
    }
    await Promise.all(pending);
    await agent.close();
    return samples.sort((a, b) => a.at - b.at);
  })();
  return { done, elapsedMs: () => performance.now() - started };
}

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
}
