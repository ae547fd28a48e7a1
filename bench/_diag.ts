import { writeFileSync } from 'node:fs';
import { cosignConfig } from '../test/cache/world.js';
import { addRegistryObserver, type RegistryExchange } from '../src/registry/observer.js';
import { setup, podReview, deploymentReview } from './setup.js';
const b = await setup();
const images = b.world.signed.slice(0, 10);
let gen = 0;
const run = async (label: string, imgs: string[], direct: boolean) => {
  const host = direct ? new URL(b.registry.directUrl).host : b.registry.host;
  const ims = imgs.map((i) => i.replace(b.registry.host, host));
  writeFileSync(b.webhook.configFile, cosignConfig({ host } as any, b.world.key, { expirySeconds: 3600, extra: `# g ${++gen}` }));
  b.webhook.server.runtime.reload();
  const seen: RegistryExchange[] = [];
  const stop = addRegistryObserver((e) => seen.push({ ...e, end: performance.now() } as any));
  const t = performance.now();
  const body = ims.length === 1 ? podReview(ims) : deploymentReview(Array.from({ length: 30 }, (_, i) => ims[i % 10]!));
  const res = await b.webhook.post(undefined, { raw: body });
  const ms = performance.now() - t;
  stop();
  const sum = seen.reduce((s, e) => s + e.durationMs, 0);
  console.log(label, direct ? 'direct' : 'front', res.status, ms.toFixed(1), 'ms; exchanges', seen.length, 'sum dur', sum.toFixed(1), 'max', Math.max(...seen.map(e=>e.durationMs)).toFixed(1));
  if (process.env.V) for (const e of seen) console.log('   ', ((e as any).end - e.durationMs - t).toFixed(1), e.durationMs.toFixed(1), e.method, e.url.replace(/^.*\/v2\//, '').slice(0, 60));
};
for (let i = 0; i < Number(process.env.N ?? 4); i++) {
  await run('one', [images[i]!], false);
  await run('fan', images, false);
  await run('one', [images[i]!], true);
  await run('fan', images, true);
}
await b.close();
process.exit(0);
