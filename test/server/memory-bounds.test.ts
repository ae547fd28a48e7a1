/**
 * Issue 11, item 8: bounds on what one admission request can make the webhook hold. The real HTTPS webhook and a
 * real docker-registry with cosign-signed images; the registry's front answers the `.sig` manifests with hostile
 * bodies. The process-wide figure (peak RSS under a hostile registry against the chart's limit) is the benchmark
 * `npm run bench:attack`.
 */
import { expect } from 'chai';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { review, workload } from '../support/reviews.js';
import { startWebhook, type TestWebhook } from '../support/webhook.js';
import { cosignConfig, pushSignedWorld, type SignedWorld } from '../cache/world.js';
import { processBytes } from '../../src/registry/byte-budget.js';

const SIG = /\.sig$/;

describe('memory bounds per request (hostile registry answers)', function () {
  this.timeout(60_000);
  let registry: TestRegistry;
  let world: SignedWorld;
  const hooks: TestWebhook[] = [];
  const pod = (images: string[]) => review('Pod', workload('Pod', { containers: images }));
  const webhook = async (extra: string) => {
    const h = await startWebhook(cosignConfig(registry, world.key, { expirySeconds: 0, extra }));
    hooks.push(h);
    return h;
  };

  before(async function () {
    this.timeout(120_000);
    registry = await startRegistry();
    world = await pushSignedWorld(registry, 4, 0);
  });
  afterEach(() => registry.front.setFault(undefined));
  after(async () => {
    for (const h of hooks.splice(0)) await h.close();
    await registry?.stop();
  });

  it('a request with more distinct images than limits.imagesPerRequest is denied before any registry request', async () => {
    const hook = await webhook('limits:\n  imagesPerRequest: 3\n');
    const before = registry.requestCount();
    const res = await hook.post(pod([...world.signed, world.signed[0]!])); // 4 distinct, 5 containers
    expect(res.json.response.allowed).to.equal(false);
    expect(res.json.response.status.message).to.equal('Imprimatur denied Pod team-a/demo has 4 distinct images; at most 3 are verified in one request (limits.imagesPerRequest)');
    expect(registry.requestCount() - before).to.equal(0);
    const three = await hook.post(pod(world.signed.slice(0, 3)));
    expect(three.json.response.allowed, 'three distinct images are verified').to.equal(true);
  });

  it('in detection mode the same request is admitted with the reason as a warning', async () => {
    const hook = await webhook('limits:\n  imagesPerRequest: 3\n');
    const detecting = await startWebhook(cosignConfig(registry, world.key, { expirySeconds: 0, extra: 'limits:\n  imagesPerRequest: 3\n' }).replace('features:\n', 'features:\n  detectionMode: true\n'));
    hooks.push(detecting);
    const res = await detecting.post(pod(world.signed));
    expect(res.json.response.allowed).to.equal(true);
    expect(res.json.response.warnings).to.deep.equal(['detection mode: would deny: Pod team-a/demo has 4 distinct images; at most 3 are verified in one request (limits.imagesPerRequest)']);
    expect((await hook.post(pod(world.signed))).json.response.allowed).to.equal(false);
  });

  it('registry data past limits.bytesPerRequestMiB fails the verification with the limit named (and is released)', async () => {
    const hook = await webhook('limits:\n  bytesPerRequestMiB: 1\n');
    // a 3 MiB "signature manifest" (under the 4 MiB manifest cap)
    registry.front.setFault({ kind: 'body', body: Buffer.from(JSON.stringify({ schemaVersion: 2, pad: 'x'.repeat(3 * 1024 * 1024) })), contentType: 'application/vnd.oci.image.manifest.v1+json' }, SIG);
    const res = await hook.post(pod([world.signed[0]!]));
    expect(res.json.response.allowed).to.equal(false);
    expect(res.json.response.status.message).to.contain(`image "${world.signed[0]}"`).and.contain('the registry data for this admission request exceeded 1 MiB');
    expect(processBytes.inUse, 'every reservation released').to.equal(0);
    registry.front.setFault(undefined);
    expect((await hook.post(pod([world.signed[0]!]))).json.response.allowed, 'not cached: the next request verifies').to.equal(true);
  });

  it('a JSON document built to explode when parsed is refused before parsing', async () => {
    const hook = await webhook('');
    // ~3 MiB of empty objects: ~80 MiB of heap if parsed
    const bomb = Buffer.from(`{"schemaVersion":2,"layers":[${Array(1_000_000).fill('{}').join(',')}]}`);
    registry.front.setFault({ kind: 'body', body: bomb, contentType: 'application/vnd.oci.image.manifest.v1+json' }, SIG);
    const heapBefore = process.memoryUsage().heapUsed;
    const res = await hook.post(pod([world.signed[1]!]));
    expect(res.json.response.allowed).to.equal(false);
    expect(res.json.response.status.message, res.json.response.status.message).to.match(/with a JSON document of about 1000\d{3} values; more than 100000 is refused/);
    expect(process.memoryUsage().heapUsed - heapBefore, 'heap growth while refusing it').to.be.below(40 * 1024 * 1024);
    expect(processBytes.inUse).to.equal(0);
  });
});
