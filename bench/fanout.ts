/**
 * Fan-out: a Deployment with 30 containers of 10 distinct images, cold cache (each iteration runs on a new
 * config generation), vs. a Pod with one of those images, also cold. Registry requests are counted by the
 * registry's front.
 */
import { writeFileSync } from 'node:fs';
import { cosignConfig } from '../test/cache/world.js';
import { median } from './load.js';
import { admitted, deploymentReview, podReview, type BenchWorld } from './setup.js';

export interface FanoutResult {
  iterations: number;
  containers: number;
  distinctImages: number;
  registryRequests: number;
  registryRequestsOneImage: number;
  expectedRegistryRequests: number;
  latencyMs: number;
  oneImageLatencyMs: number;
  latencyRatio: number;
}

export async function fanout(b: BenchWorld, iterations: number): Promise<FanoutResult> {
  const images = b.world.signed.slice(0, 10);
  const containers = Array.from({ length: 30 }, (_, i) => images[i % 10]!);
  const deployment = deploymentReview(containers);
  let generation = 0;
  const cold = () => {
    writeFileSync(b.webhook.configFile, cosignConfig(b.registry, b.world.key, { expirySeconds: 3600, extra: `# generation ${++generation}` }));
    const r = b.webhook.server.runtime.reload();
    if (!r.changed) throw new Error(`reload failed: ${r.error?.message}`);
  };
  const timed = async (body: string) => {
    cold();
    const before = b.registry.requestCount();
    const t = performance.now();
    const res = await b.webhook.post(undefined, { raw: body });
    const ms = performance.now() - t;
    if (!admitted(res.status, res.text)) throw new Error(`not admitted: ${res.text.slice(0, 300)}`);
    return { ms, requests: b.registry.requestCount() - before };
  };
  await timed(podReview([images[0]!])); // warm connections
  const fan: Array<{ ms: number; requests: number }> = [];
  const one: Array<{ ms: number; requests: number }> = [];
  for (let i = 0; i < iterations; i++) {
    one.push(await timed(podReview([images[i % 10]!])));
    fan.push(await timed(deployment));
  }
  const registryRequestsOneImage = median(one.map((x) => x.requests));
  const latencyMs = median(fan.map((x) => x.ms));
  const oneImageLatencyMs = median(one.map((x) => x.ms));
  return {
    iterations, containers: 30, distinctImages: 10,
    registryRequests: Math.max(...fan.map((x) => x.requests)),
    registryRequestsOneImage,
    expectedRegistryRequests: 10 * registryRequestsOneImage,
    latencyMs, oneImageLatencyMs, latencyRatio: latencyMs / oneImageLatencyMs,
  };
}
