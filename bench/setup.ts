/** What every benchmark needs: a real registry with signed images, the webhook on it, the TLS material. */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localSelfSigned } from '../src/server/tls.js';
import { startRegistry, type TestRegistry } from '../test/harness/registry.js';
import { review, workload } from '../test/support/reviews.js';
import { startWebhook, type TestWebhook } from '../test/support/webhook.js';
import { cosignConfig, pushSignedWorld, type SignedWorld } from '../test/cache/world.js';
import { startWebhookProcess, type WebhookProcess } from './webhook-process.js';

export interface BenchWorld {
  registry: TestRegistry;
  world: SignedWorld;
  /** In-process webhook (warm-path comparison with the in-process baseline handler). */
  webhook: TestWebhook;
  /** The webhook as its own process from dist/ (fan-out latency, memory). */
  proc: WebhookProcess;
  /** `127.0.0.1:port` of the docker-registry itself, bypassing the counting front (timing without the proxy hop). */
  directHost: string;
  ca: string;
  close(): Promise<void>;
}

export async function setup(): Promise<BenchWorld> {
  const registry = await startRegistry();
  const world = await pushSignedWorld(registry, 10, 1);
  const webhook = await startWebhook(cosignConfig(registry, world.key, { expirySeconds: 3600 }));
  const tls = localSelfSigned(join(tmpdir(), 'imprimatur-test-tls'));
  const proc = await startWebhookProcess(cosignConfig(registry, world.key, { expirySeconds: 3600 }), tls);
  const ca = tls.cert;
  return {
    registry, world, webhook, proc, ca, directHost: new URL(registry.directUrl).host,
    async close() {
      await proc.close();
      await webhook.close();
      await registry.stop();
    },
  };
}

export function podReview(images: string[]): string {
  return JSON.stringify(review('Pod', workload('Pod', { containers: images })));
}

export function deploymentReview(images: string[]): string {
  return JSON.stringify(review('Deployment', workload('Deployment', { containers: images })));
}

/** True for a well-formed AdmissionReview answer with allowed: true. */
export function admitted(status: number, text: string): boolean {
  return status === 200 && (JSON.parse(text) as { response?: { allowed?: boolean } }).response?.allowed === true;
}
