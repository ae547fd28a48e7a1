/** GET /metrics after real requests to the real webhook (real registry, real alert receiver): the counters moved. */
import { expect } from 'chai';
import { register as globalRegistry } from 'prom-client';
import { startHttpReceiver, type HttpReceiver } from '../harness/http-receiver.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { review, workload } from '../support/reviews.js';
import { startWebhook, type TestWebhook } from '../support/webhook.js';
import { cosignConfig, pushSignedWorld, type SignedWorld } from '../cache/world.js';

/** The value of one sample line `name{labels} value` of the exposition text (0 when absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

describe('metrics: GET /metrics', function () {
  this.timeout(60_000);
  let registry: TestRegistry;
  let world: SignedWorld;
  let receiver: HttpReceiver;
  let w: TestWebhook;
  const pod = (...images: string[]) => review('Pod', workload('Pod', { containers: images }));
  const scrape = async () => {
    const res = await w.post(undefined, { method: 'GET', path: '/metrics' });
    expect(res.status).to.equal(200);
    return res.text;
  };

  before(async () => {
    registry = await startRegistry();
    world = await pushSignedWorld(registry, 1, 1);
    receiver = await startHttpReceiver();
    const alerting = `alerting:
  rejectRequest:
    receivers:
      - name: rx
        template: ecs-1-12-0
        receiverUrl: ${receiver.url}
`;
    w = await startWebhook(cosignConfig(registry, world.key, { extra: alerting }));
  });
  after(async () => {
    await w.close();
    await receiver.close();
    await registry.stop();
  });

  it('starts with zeroed series and uses its own registry, not prom-client\'s global one', async () => {
    const text = await scrape();
    expect(text).to.include('# TYPE imprimatur_admission_requests_total counter');
    expect(sample(text, 'imprimatur_admission_requests_total')).to.equal(0);
    expect(text).to.include('imprimatur_process_resident_memory_bytes');
    expect(await globalRegistry.metrics()).to.not.include('imprimatur_admission_requests_total');
  });

  it('counts admissions by outcome and kind, verifications, cache, registry requests, alerts, latency and reloads', async () => {
    expect((await w.post(pod(world.signed[0]!))).json.response.allowed).to.equal(true);
    expect((await w.post(pod(world.signed[0]!))).json.response.allowed).to.equal(true);
    expect((await w.post(pod(world.unsigned[0]!))).json.response.allowed).to.equal(false);
    expect((await w.post(pod('docker.io/library/nginx:1.25'))).json.response.allowed).to.equal(false);
    const cm = await w.post(review('ConfigMap', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'a' } }));
    expect(cm.json.response.warnings).to.have.length(1);
    expect((await w.post(undefined, { raw: '{not json' })).status).to.equal(400);
    await receiver.waitForRequests(2);
    w.server.runtime.reload(); // unchanged file: no reload counted
    const text = await scrape();

    expect(sample(text, 'imprimatur_admission_requests_total', { outcome: 'admitted', kind: 'Pod' })).to.equal(2);
    expect(sample(text, 'imprimatur_admission_requests_total', { outcome: 'denied', kind: 'Pod' })).to.equal(2);
    expect(sample(text, 'imprimatur_admission_requests_total', { outcome: 'warned', kind: 'ConfigMap' })).to.equal(1);
    expect(sample(text, 'imprimatur_admission_requests_total', { outcome: 'error' })).to.equal(1);
    expect(sample(text, 'imprimatur_admission_duration_seconds_count')).to.equal(6);

    expect(sample(text, 'imprimatur_verifications_total', { validator_type: 'cosign', validator: 'signed', result: 'admitted' })).to.equal(2);
    expect(sample(text, 'imprimatur_verifications_total', { validator_type: 'cosign', validator: 'signed', result: 'denied' })).to.equal(1);
    expect(sample(text, 'imprimatur_verifications_total', { validator_type: 'static', validator: 'default', result: 'denied' })).to.equal(1);
    expect(sample(text, 'imprimatur_cache_requests_total', { result: 'hit', store: 'memory' })).to.equal(1);
    expect(sample(text, 'imprimatur_cache_requests_total', { result: 'miss', store: 'memory' })).to.equal(2);
    expect(sample(text, 'imprimatur_skipped_validations_total', { reason: 'cache' })).to.equal(1);

    const registryRequests = sample(text, 'imprimatur_registry_requests_total');
    expect(registryRequests).to.be.greaterThan(0);
    expect(sample(text, 'imprimatur_registry_requests_total', { status: '200' })).to.be.greaterThan(0);
    expect(sample(text, 'imprimatur_registry_request_duration_seconds_count')).to.equal(registryRequests);

    expect(sample(text, 'imprimatur_alerts_total', { receiver: 'rx', outcome: 'sent' })).to.equal(2);
    expect(sample(text, 'imprimatur_config_reloads_total')).to.equal(0);
  });

  it('counts failed alerts and failed reloads', async () => {
    receiver.setDefault({ status: 500 });
    const before = sample(await scrape(), 'imprimatur_alerts_total', { receiver: 'rx', outcome: 'failed' });
    await w.post(pod(world.unsigned[0]!));
    const end = Date.now() + 15_000;
    let failed = before;
    while (failed === before && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 100));
      failed = sample(await scrape(), 'imprimatur_alerts_total', { receiver: 'rx', outcome: 'failed' });
    }
    expect(failed).to.equal(before + 1);
    receiver.setDefault({ status: 200 });

    const { writeFileSync } = await import('node:fs');
    writeFileSync(w.configFile, 'policy: {');
    w.server.runtime.reload();
    expect(sample(await scrape(), 'imprimatur_config_reloads_total', { result: 'failure' })).to.equal(1);
  });
});
