import { expect } from 'chai';
import { startWebhook, type TestWebhook } from '../support/webhook.js';
import { review, workload } from '../support/reviews.js';
import { cosignKeyValidator, STATIC_VALIDATORS, staticPolicy } from '../support/configs.js';
import { generateTestKey } from '../harness/cosign-signing.js';

const CONFIG = (features = '') => `${staticPolicy(`  - pattern: "allowed.example.com/*"
    validator: allow
`)}${features}`;

const KINDS = ['Pod', 'Deployment', 'ReplicaSet', 'DaemonSet', 'StatefulSet', 'ReplicationController', 'Job', 'CronJob'];

describe('webhook over real HTTPS with static validators', () => {
  let hook: TestWebhook;
  before(async () => { hook = await startWebhook(CONFIG()); });
  after(async () => { await hook.close(); });

  for (const kind of KINDS) {
    it(`${kind}: admits allowed images and denies others, naming image, rule, validator and reason`, async () => {
      const ok = review(kind, workload(kind, { containers: ['registry.k8s.io/pause:3.9'] }));
      const res = await hook.post(ok);
      expect(res.status).to.equal(200);
      expect(res.json.apiVersion).to.equal('admission.k8s.io/v1');
      expect(res.json.kind).to.equal('AdmissionReview');
      expect(res.json.response.uid).to.equal((ok.request as any).uid);
      expect(res.json.response.allowed).to.equal(true);
      expect(res.json.response.patch).to.equal(undefined);

      const bad = review(kind, workload(kind, { containers: ['registry.k8s.io/pause:3.9', 'nginx:1.25'] }));
      const denied = await hook.post(bad);
      expect(denied.json.response.allowed).to.equal(false);
      expect(denied.json.response.status.code).to.equal(403);
      const msg: string = denied.json.response.status.message;
      expect(msg).to.contain('image "nginx:1.25"');
      expect(msg).to.contain('rule "*:*"');
      expect(msg).to.contain('validator "deny"');
      expect(msg).to.contain('denied by static validator "deny"');
      expect(msg).to.not.contain('pause');
      expect(msg).to.contain(kind);
    });
  }

  it('checks init and ephemeral containers too', async () => {
    for (const c of [{ initContainers: ['busybox'] }, { ephemeralContainers: ['evil.io/debug:1'] }]) {
      const res = await hook.post(review('Pod', workload('Pod', { containers: ['registry.k8s.io/pause:3.9'], ...c })));
      expect(res.json.response.allowed, JSON.stringify(c)).to.equal(false);
    }
  });

  it('checks the pods/ephemeralcontainers subresource (EphemeralContainers kind of Kubernetes < 1.22)', async () => {
    const obj = { apiVersion: 'v1', kind: 'EphemeralContainers', metadata: { name: 'p', namespace: 'team-a' }, ephemeralContainers: [{ name: 'debug', image: 'busybox:1' }] };
    const res = await hook.post(review('Pod', obj, { operation: 'UPDATE', subResource: 'ephemeralcontainers', kindOverride: 'EphemeralContainers', oldObject: obj }));
    expect(res.json.response.allowed).to.equal(false);
    expect(res.json.response.status.message).to.contain('busybox:1');
  });

  it('checks the pods/ephemeralcontainers subresource when it sends a Pod (Kubernetes ≥ 1.22)', async () => {
    const pod = workload('Pod', { containers: ['registry.k8s.io/pause:3.9'], ephemeralContainers: ['busybox:1'] });
    const res = await hook.post(review('Pod', pod, { operation: 'UPDATE', subResource: 'ephemeralcontainers', oldObject: workload('Pod', { containers: ['registry.k8s.io/pause:3.9'] }) }));
    expect(res.json.response.allowed).to.equal(false);
  });

  it('admits other kinds untouched with a warning', async () => {
    const res = await hook.post(review('ConfigMap', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: {} }));
    expect(res.json.response.allowed).to.equal(true);
    expect(res.json.response.warnings[0]).to.match(/does not validate kind ConfigMap/);
  });

  it('allows DELETE and UPDATEs of objects being deleted (finalizer removal) without validating', async () => {
    const obj = workload('Pod', { containers: ['nginx'] }, 'dying', { deletionTimestamp: '2026-11-27T10:00:00Z', finalizers: [] });
    const res = await hook.post(review('Pod', obj, { operation: 'UPDATE', oldObject: obj }));
    expect(res.json.response.allowed).to.equal(true);
    const del = await hook.post(review('Pod', null, { operation: 'DELETE', oldObject: obj }));
    expect(del.json.response.allowed).to.equal(true);
  });

  it('validates an UPDATE of an object being deleted whose images change', async () => {
    const old = workload('Deployment', { containers: ['registry.k8s.io/pause:3.9'] }, 'dying', { deletionTimestamp: '2026-11-27T10:00:00Z', finalizers: ['x/y'] });
    const changed = workload('Deployment', { containers: ['nginx:1.25'] }, 'dying', { deletionTimestamp: '2026-11-27T10:00:00Z', finalizers: ['x/y'] });
    const res = await hook.post(review('Deployment', changed, { operation: 'UPDATE', oldObject: old }));
    expect(res.json.response.allowed).to.equal(false);
    expect(res.json.response.status.message).to.contain('image "nginx:1.25"');
  });

  it('validates images on UPDATE when automaticUnchangedApproval is off', async () => {
    const old = workload('Deployment', { containers: ['nginx:1.25'] });
    const res = await hook.post(review('Deployment', old, { operation: 'UPDATE', oldObject: old }));
    expect(res.json.response.allowed).to.equal(false);
  });

  it('denies an invalid image reference with a clear reason', async () => {
    const res = await hook.post(review('Pod', workload('Pod', { containers: ['Invalid,Image'] })));
    expect(res.json.response.allowed).to.equal(false);
    expect(res.json.response.status.message).to.contain('Invalid,Image');
  });

  it('de-duplicates images: one decision per distinct image', async () => {
    const res = await hook.post(review('Deployment', workload('Deployment', { containers: Array(8).fill('nginx:1.25') })));
    const msg: string = res.json.response.status.message;
    expect(msg.match(/image "nginx:1.25"/g)).to.have.length(1);
  });

  it('bounds the denial message: 60 denied images are named until about 4000 characters, the rest counted', async () => {
    const images = Array.from({ length: 60 }, (_, i) => `registry.example.com/team-${i}/some-rather-long-application-name:1.0.${i}`);
    // 60 distinct images: above the default limits.imagesPerRequest (32)
    const many = await startWebhook(`${CONFIG()}limits:\n  imagesPerRequest: 100\n`);
    let res;
    try {
      res = await many.post(review('Deployment', workload('Deployment', { containers: images })));
    } finally {
      await many.close();
    }
    const msg: string = res.json.response.status.message;
    expect(msg.length).to.be.below(4200);
    const named = msg.match(/image "registry\.example\.com\/team-\d+\//g)!.length;
    expect(named).to.be.greaterThan(10);
    expect(msg).to.match(new RegExp(`; and ${60 - named} more denied image\\(s\\) \\(see the webhook's log\\)$`));
  });

  it('rejects a malformed workload (container without image) with 400 inside a well-formed review', async () => {
    const obj = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' }, spec: { containers: [{ name: 'a' }] } };
    const res = await hook.post(review('Pod', obj));
    expect(res.status).to.equal(200);
    expect(res.json.response.allowed).to.equal(false);
    expect(res.json.response.status.code).to.equal(400);
    expect(res.json.response.status.message).to.contain('has no image');
  });

  for (const kind of ['Pod', 'Deployment', 'CronJob']) {
    it(`denies a ${kind} without any container with code 400 and the reason (as Connaisseur), instead of admitting it unchecked`, async () => {
      const res = await hook.post(review(kind, workload(kind, { containers: [] })));
      expect(res.status).to.equal(200);
      expect(res.json.response.allowed).to.equal(false);
      expect(res.json.response.status.code).to.equal(400);
      expect(res.json.response.status.message).to.match(/it has no containers \(.*containers is empty or missing\)/);
    });
  }

  it('ignores what a CREATE carries as oldObject (Connaisseur sends "None" there in its test data)', async () => {
    const r = review('Pod', workload('Pod', { containers: ['registry.k8s.io/pause:3.9'] }));
    (r.request as Record<string, unknown>).oldObject = 'None';
    const res = await hook.post(r);
    expect(res.json.response.allowed).to.equal(true);
    const upd = review('Pod', workload('Pod', { containers: ['registry.k8s.io/pause:3.9'] }), { operation: 'UPDATE' });
    (upd.request as Record<string, unknown>).oldObject = 'None';
    expect((await hook.post(upd)).status, 'an UPDATE needs a real old object').to.equal(400);
  });

  describe('bad requests get a 4xx with a message, never a crash', () => {
    it('405 for GET /mutate', async () => {
      const res = await hook.post(undefined, { method: 'GET' });
      expect(res.status).to.equal(405);
      expect(res.json.error).to.match(/POST/);
    });
    it('415 for a non-JSON content type', async () => {
      const res = await hook.post(undefined, { contentType: 'text/plain', raw: 'hello' });
      expect(res.status).to.equal(415);
      expect(res.json.error).to.match(/application\/json/);
    });
    it('400 for invalid JSON', async () => {
      const res = await hook.post(undefined, { raw: '{"apiVersion": ' });
      expect(res.status).to.equal(400);
      expect(res.json.error).to.match(/not valid JSON/);
    });
    it('400 for a missing request', async () => {
      const res = await hook.post({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' });
      expect(res.status).to.equal(400);
      expect(res.json.error).to.match(/no "request"/);
    });
    it('400 for a missing uid', async () => {
      const r = review('Pod', workload('Pod', { containers: ['nginx'] }));
      delete (r.request as any).uid;
      const res = await hook.post(r);
      expect(res.status).to.equal(400);
      expect(res.json.error).to.match(/uid/);
    });
    it('answers admission.k8s.io/v1beta1 in v1beta1 (as Connaisseur; a webhook configuration may list it)', async () => {
      for (const [image, allowed] of [['registry.k8s.io/pause:3.9', true], ['nginx', false]] as const) {
        const r = review('Pod', workload('Pod', { containers: [image] }));
        r.apiVersion = 'admission.k8s.io/v1beta1';
        const res = await hook.post(r);
        expect(res.status).to.equal(200);
        expect(res.json.apiVersion).to.equal('admission.k8s.io/v1beta1');
        expect(res.json.kind).to.equal('AdmissionReview');
        expect(res.json.response.uid).to.equal((r.request as { uid: string }).uid);
        expect(res.json.response.allowed).to.equal(allowed);
      }
    });
    it('400 for another apiVersion, naming the ones answered', async () => {
      const r = review('Pod', workload('Pod', { containers: ['nginx'] }));
      r.apiVersion = 'admission.k8s.io/v2';
      const res = await hook.post(r);
      expect(res.status).to.equal(400);
      expect(res.json.error).to.match(/send admission\.k8s\.io\/v1 or admission\.k8s\.io\/v1beta1/);
    });
    it('400 for a body over 3 MiB', async () => {
      const big = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', pad: 'x'.repeat(3 * 1024 * 1024 + 10) });
      const res = await hook.post(undefined, { raw: big });
      expect(res.status).to.equal(400);
      expect(res.json.error).to.match(/larger than the limit/);
    });
    it('404 elsewhere; /health and /ready answer', async () => {
      expect((await hook.post({}, { path: '/nope' })).status).to.equal(404);
      expect((await hook.post(undefined, { path: '/health', method: 'GET' })).json).to.deep.equal({ status: 'ok' });
      expect((await hook.post(undefined, { path: '/ready', method: 'GET' })).json).to.deep.equal({ status: 'ready' });
    });
  });
});

describe('webhook features', () => {
  it('detection mode admits would-be denials with warnings naming each image and reason', async () => {
    const hook = await startWebhook(CONFIG('features:\n  detectionMode: true\n'));
    try {
      const res = await hook.post(review('Pod', workload('Pod', { containers: ['nginx:1.25', 'redis:7', 'registry.k8s.io/pause:3.9'] })));
      expect(res.json.response.allowed).to.equal(true);
      const warnings: string[] = res.json.response.warnings;
      expect(warnings).to.have.length(2);
      expect(warnings.join('\n')).to.contain('nginx:1.25').and.contain('redis:7').and.contain('denied by static validator "deny"');
    } finally {
      await hook.close();
    }
  });

  it('podsOnly admits non-Pod workloads with a warning and still checks Pods', async () => {
    const hook = await startWebhook(CONFIG('features:\n  resourceValidationMode: podsOnly\n'));
    try {
      const dep = await hook.post(review('Deployment', workload('Deployment', { containers: ['nginx'] })));
      expect(dep.json.response.allowed).to.equal(true);
      expect(dep.json.response.warnings[0]).to.match(/podsOnly/);
      expect(dep.json.response.patch).to.equal(undefined);
      const pod = await hook.post(review('Pod', workload('Pod', { containers: ['nginx'] })));
      expect(pod.json.response.allowed).to.equal(false);
    } finally {
      await hook.close();
    }
  });

  it('automaticUnchangedApproval skips signature verification of images already in oldObject, and validates new ones', async () => {
    // `sig.invalid/*` goes to a cosign validator whose registry does not exist: a verification would fail.
    const hook = await startWebhook(`${STATIC_VALIDATORS}${cosignKeyValidator('sig', generateTestKey().publicPem)}policy:
  - pattern: "*:*"
    validator: deny
  - pattern: "sig.invalid/*"
    validator: sig
features:
  automaticUnchangedApproval: true
`);
    try {
      const old = workload('Deployment', { containers: ['sig.invalid/app:1'] });
      const same = await hook.post(review('Deployment', workload('Deployment', { containers: ['sig.invalid/app:1'] }), { operation: 'UPDATE', oldObject: old }));
      expect(same.json.response.allowed, JSON.stringify(same.json.response)).to.equal(true);
      const changed = await hook.post(review('Deployment', workload('Deployment', { containers: ['sig.invalid/app:1', 'sig.invalid/app:2'] }), { operation: 'UPDATE', oldObject: old }));
      expect(changed.json.response.allowed).to.equal(false);
      expect(changed.json.response.status.message).to.contain('sig.invalid/app:2').and.not.contain('sig.invalid/app:1');
      const created = await hook.post(review('Deployment', old));
      expect(created.json.response.allowed, 'CREATE is always validated').to.equal(false);
    } finally {
      await hook.close();
    }
  });

  it('automaticUnchangedApproval never skips a static deny (Connaisseur runs static validators first)', async () => {
    const hook = await startWebhook(CONFIG('features:\n  automaticUnchangedApproval: true\n'));
    try {
      const old = workload('Deployment', { containers: ['nginx:1.25'] });
      const same = await hook.post(review('Deployment', workload('Deployment', { containers: ['nginx:1.25'] }), { operation: 'UPDATE', oldObject: old }));
      expect(same.json.response.allowed).to.equal(false);
      expect(same.json.response.status.message).to.contain('image "nginx:1.25" (rule "*:*", validator "deny"): denied by static validator "deny"');
    } finally {
      await hook.close();
    }
  });

  it('automaticUnchangedApproval never skips a static validator: a deny rule keeps denying an image that already runs (as Connaisseur)', async () => {
    const hook = await startWebhook(CONFIG('features:\n  automaticUnchangedApproval: true\n'));
    try {
      const old = workload('Deployment', { containers: ['nginx:1.25', 'registry.k8s.io/pause:3.9'] });
      const res = await hook.post(review('Deployment', workload('Deployment', { containers: ['nginx:1.25', 'registry.k8s.io/pause:3.9'] }), { operation: 'UPDATE', oldObject: old }));
      expect(res.json.response.allowed).to.equal(false);
      expect(res.json.response.status.message).to.contain('image "nginx:1.25" (rule "*:*", validator "deny")');
    } finally {
      await hook.close();
    }
  });
});

describe('an unexpected failure inside the handler (fault injected through the child-approval hook)', () => {
  const failingHook = { setup: (rt: { ownerImages?: unknown }) => { rt.ownerImages = () => { throw new Error('injected fault'); }; } };

  it('fails closed: a well-formed AdmissionReview denying with code 500 and the reason', async () => {
    const hook = await startWebhook(CONFIG(), failingHook as never);
    try {
      const res = await hook.post(review('Pod', workload('Pod', { containers: ['registry.k8s.io/pause:3.9'] })));
      expect(res.status).to.equal(200);
      expect(res.json.response.allowed).to.equal(false);
      expect(res.json.response.status).to.deep.include({ code: 500 });
      expect(res.json.response.status.message).to.contain('injected fault');
    } finally {
      await hook.close();
    }
  });

  it('in detection mode admits with a warning instead (detection mode never blocks)', async () => {
    const hook = await startWebhook(CONFIG('features:\n  detectionMode: true\n'), failingHook as never);
    try {
      const res = await hook.post(review('Pod', workload('Pod', { containers: ['nginx:1.25'] })));
      expect(res.json.response.allowed).to.equal(true);
      expect(res.json.response.warnings[0]).to.match(/^detection mode: Imprimatur could not decide this request: injected fault/);
    } finally {
      await hook.close();
    }
  });
});
