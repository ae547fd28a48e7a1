/** What every benchmark needs: a real registry with signed images, the webhook on it, the TLS material. */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localSelfSigned } from '../src/server/tls.js';
import { startRegistry, type TestRegistry } from '../test/harness/registry.js';
import { review, workload } from '../test/support/reviews.js';
import { startWebhook, type TestWebhook } from '../test/support/webhook.js';
import { cosignConfig, pushSignedWorld, type SignedWorld } from '../test/cache/world.js';

export interface BenchWorld {
  registry: TestRegistry;
  world: SignedWorld;
  webhook: TestWebhook;
  ca: string;
  close(): Promise<void>;
}

export async function setup(): Promise<BenchWorld> {
  const registry = await startRegistry();
  const world = await pushSignedWorld(registry, 10, 1);
  const webhook = await startWebhook(cosignConfig(registry, world.key, { expirySeconds: 3600 }));
  const ca = localSelfSigned(join(tmpdir(), 'imprimatur-test-tls')).cert;
  return {
    registry, world, webhook, ca,
    async close() {
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
