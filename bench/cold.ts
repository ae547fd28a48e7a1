/**
 * Cold path: one cosign key-based verification (validator.validate, no result cache) against the local
 * docker-registry vs. the bare sequence of registry requests it makes, replayed one after the other with
 * the same HTTP client (createHttpTransport). Both sides use warm keep-alive connections.
 */
import { parseImageReference } from '../src/image/reference.js';
import { silentLogger } from '../src/log.js';
import { MANIFEST_ACCEPT } from '../src/registry/client.js';
import { createHttpTransport } from '../src/registry/http.js';
import { addRegistryObserver, type RegistryExchange } from '../src/registry/observer.js';
import { cosignValidatorType } from '../src/validators/cosign/index.js';
import { median } from './load.js';
import type { BenchWorld } from './setup.js';

export interface ColdResult {
  iterations: number;
  registryRequestsPerVerification: number;
  verificationMs: number;
  bareRequestsMs: number;
  ratio: number;
}

export async function cold(b: BenchWorld, iterations: number): Promise<ColdResult> {
  const config = { name: 'bench', type: 'cosign', trustRoots: [{ name: 'default', key: b.world.key.publicPem }] };
  const env = { path: 'validators[0]', file: 'bench', insecureRegistries: [b.registry.host], secretsDir: '/nonexistent', logger: silentLogger };
  const validator = cosignValidatorType.create(config, env);
  const transport = createHttpTransport({ insecureRegistries: [b.registry.host] });
  const image = parseImageReference(b.world.signed[0]!);
  const options = { trustRoot: 'default', mode: 'mutate' as const, verifyInTransparencyLog: false };
  const ctx = () => ({ signal: AbortSignal.timeout(10_000), deadline: Date.now() + 10_000, logger: silentLogger, now: () => new Date() });

  const seen: RegistryExchange[] = [];
  const stop = addRegistryObserver((e) => seen.push(e));
  await validator.validate(image, options, ctx());
  stop();
  const exchanges = seen.map((e) => ({ url: e.url, method: e.method }));
  const bare = async () => {
    for (const e of exchanges) {
      const res = await transport.get(e.url, { signal: AbortSignal.timeout(10_000), method: e.method, accept: e.url.includes('/manifests/') || e.url.includes('/referrers/') ? MANIFEST_ACCEPT : undefined, maxBytes: 4 * 1024 * 1024 });
      if (res.status >= 500) throw new Error(`bare request failed: ${res.status}`);
    }
  };
  await bare();
  const ours: number[] = [];
  const base: number[] = [];
  for (let i = 0; i < iterations; i++) {
    let t = performance.now();
    await bare();
    base.push(performance.now() - t);
    t = performance.now();
    await validator.validate(image, options, ctx());
    ours.push(performance.now() - t);
  }
  await validator.close?.();
  await transport.close();
  const verificationMs = median(ours);
  const bareRequestsMs = median(base);
  return { iterations, registryRequestsPerVerification: exchanges.length, verificationMs, bareRequestsMs, ratio: verificationMs / bareRequestsMs };
}
