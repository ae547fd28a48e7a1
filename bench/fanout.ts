/**
 * Fan-out: a Deployment with 30 containers of 10 distinct images vs. a Pod with one of those images, both with
 * a cold verification cache (each request runs on a new config generation, loaded by the webhook's file watcher
 * before the clock starts).
 *
 * - The webhook is its own process from dist/ (bench/webhook-process.ts); the benchmark process only sends the
 *   request over one keep-alive connection (the same one for both sides) and waits.
 * - Timing iterations talk to the docker-registry directly (config + image references on `directHost`), so the
 *   registry front — a Node proxy living in the benchmark process — adds no hop and no CPU to either side.
 * - Counting iterations go through the registry's counting front (`registryRequests*`, exact) and are not timed;
 *   the webhook's own `imprimatur_registry_requests_total` is recorded for every iteration as a cross-check.
 * - CPU time of the webhook (its /metrics) and of the docker-registry process (/proc) per request: with 10× the
 *   registry work on 2 cores, (webhook + registry CPU) / cores is a floor for the fan-out latency.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { cosignConfig } from '../test/cache/world.js';
import { median } from './load.js';
import { admitted, deploymentReview, podReview, type BenchWorld } from './setup.js';
import { processCpuMs } from './process-cpu.js';

export interface FanoutResult {
  iterations: number;
  containers: number;
  distinctImages: number;
  /** Through the counting front (max over the counting iterations). */
  registryRequests: number;
  registryRequestsOneImage: number;
  expectedRegistryRequests: number;
  /** The webhook's own count (imprimatur_registry_requests_total) in the timed iterations (medians). */
  webhookCountedRequests: number;
  webhookCountedRequestsOneImage: number;
  latencyMs: number;
  oneImageLatencyMs: number;
  latencyRatio: number;
  /** Median CPU ms per request: webhook process, docker-registry process. */
  webhookCpuMs: number;
  registryCpuMs: number;
  oneImageWebhookCpuMs: number;
  oneImageRegistryCpuMs: number;
  /** (webhook + registry CPU) / cores for the fan-out, over the one-image latency: the ratio a perfectly parallel run on this machine could reach at best. */
  cpuFloorRatio: number;
}

/** CPU ms (user + system) of the docker-registry started by this process (test/harness/registry.ts), or undefined. */
function registryCpu(): (() => number) | undefined {
  const pid = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).find((d) => {
    try {
      return readFileSync(`/proc/${d}/cmdline`, 'utf8').startsWith('docker-registry\0') && readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]!.split(' ')[1] === String(process.pid);
    } catch {
      return false;
    }
  });
  if (!pid) return undefined;
  return () => processCpuMs(Number(pid));
}

export async function fanout(b: BenchWorld, iterations: number): Promise<FanoutResult> {
  const p = b.proc;
  const regCpu = registryCpu() ?? (() => NaN);
  let generation = 0;
  const config = (host: string) => cosignConfig({ host } as Parameters<typeof cosignConfig>[0], b.world.key, { expirySeconds: 3600, extra: `# generation ${++generation}` });
  const imagesOn = (host: string) => b.world.signed.slice(0, 10).map((i) => i.replace(b.registry.host, host));
  const counters = async () => {
    const m = await p.metrics();
    return { requests: m.get('imprimatur_registry_requests_total') ?? 0, cpuMs: (m.get('imprimatur_process_cpu_seconds_total') ?? NaN) * 1000 };
  };
  const once = async (host: string, body: string) => {
    await p.reload(config(host));
    const c0 = await counters();
    const r0 = regCpu();
    const front0 = b.registry.requestCount();
    const t = performance.now();
    const res = await p.post(body);
    const ms = performance.now() - t;
    const r1 = regCpu();
    const c1 = await counters();
    if (!admitted(res.status, res.text)) throw new Error(`not admitted: ${res.text.slice(0, 300)}`);
    return { ms, front: b.registry.requestCount() - front0, counted: c1.requests - c0.requests, webhookCpuMs: c1.cpuMs - c0.cpuMs, registryCpuMs: r1 - r0 };
  };
  const bodies = (host: string) => {
    const images = imagesOn(host);
    return { one: (i: number) => podReview([images[i % 10]!]), fan: deploymentReview(Array.from({ length: 30 }, (_, i) => images[i % 10]!)) };
  };

  // counting (through the front, not timed)
  const counted = bodies(b.registry.host);
  const countOne: number[] = [];
  const countFan: number[] = [];
  for (let i = 0; i < 2; i++) {
    countOne.push((await once(b.registry.host, counted.one(i))).front);
    countFan.push((await once(b.registry.host, counted.fan)).front);
  }

  // timing (registry direct); one untimed round first so the webhook → registry path and the JIT are warm
  const direct = bodies(b.directHost);
  await once(b.directHost, direct.one(0));
  await once(b.directHost, direct.fan);
  const fan: Array<Awaited<ReturnType<typeof once>>> = [];
  const one: Array<Awaited<ReturnType<typeof once>>> = [];
  for (let i = 0; i < iterations; i++) {
    // alternate, so background noise hits both sides alike
    one.push(await once(b.directHost, direct.one(i)));
    fan.push(await once(b.directHost, direct.fan));
  }
  const registryRequestsOneImage = median(countOne);
  const latencyMs = median(fan.map((x) => x.ms));
  const oneImageLatencyMs = median(one.map((x) => x.ms));
  const webhookCpuMs = median(fan.map((x) => x.webhookCpuMs));
  const registryCpuMs = median(fan.map((x) => x.registryCpuMs));
  return {
    iterations, containers: 30, distinctImages: 10,
    registryRequests: Math.max(...countFan),
    registryRequestsOneImage,
    expectedRegistryRequests: 10 * registryRequestsOneImage,
    webhookCountedRequests: median(fan.map((x) => x.counted)),
    webhookCountedRequestsOneImage: median(one.map((x) => x.counted)),
    latencyMs, oneImageLatencyMs, latencyRatio: latencyMs / oneImageLatencyMs,
    webhookCpuMs, registryCpuMs,
    oneImageWebhookCpuMs: median(one.map((x) => x.webhookCpuMs)),
    oneImageRegistryCpuMs: median(one.map((x) => x.registryCpuMs)),
    cpuFloorRatio: (webhookCpuMs + registryCpuMs) / cpus().length / oneImageLatencyMs,
  };
}
