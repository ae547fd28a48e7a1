/**
 * Every decision is logged exactly once, with why — also the decisions taken without validating an image
 * (operations and kinds not validated, objects being deleted, podsOnly, malformed objects, unchanged and child
 * approvals). Issue 12.12.
 */
import { generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import { captureLogger, type CapturedLog } from '../alerting/helpers.js';
import { cosignKeyValidator, STATIC_VALIDATORS } from '../support/configs.js';
import { review, workload } from '../support/reviews.js';
import { startWebhook, type TestWebhook } from '../support/webhook.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
const CONFIG = (features: string) =>
  `${STATIC_VALIDATORS}${cosignKeyValidator('acme', key)}policy:\n  - pattern: "*:*"\n    validator: deny\n  - pattern: "registry.k8s.io/*"\n    validator: allow\n  - pattern: "ghcr.io/acme/*"\n    validator: acme\n${features}`;

describe('every admission decision is logged once, with why', () => {
  let log: CapturedLog;
  let hook: TestWebhook;
  let ownerCalls = 0;
  const decisions = () => log.lines.filter((l) => l.msg === 'admission decision');

  async function decide(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const before = decisions().length;
    await hook.post(body);
    const after = decisions();
    expect(after.length - before, 'exactly one decision line per request').to.equal(1);
    return after.at(-1)!;
  }

  before(async () => {
    log = captureLogger();
    hook = await startWebhook(CONFIG('features:\n  automaticUnchangedApproval: true\n'), {
      logger: log.logger,
      setup: (runtime) => {
        runtime.ownerImages = async () => {
          ownerCalls++;
          return new Set([`ghcr.io/acme/app:2@${DIGEST}`]);
        };
      },
    });
  });
  after(async () => {
    await hook.close();
  });

  it('an operation that is not validated (DELETE)', async () => {
    const line = await decide(review('Pod', null, { operation: 'DELETE', oldObject: workload('Pod', { containers: ['nginx'] }) }));
    expect(line).to.include({ outcome: 'admitted', operation: 'DELETE', validated: false });
    expect(line.reason).to.match(/operation DELETE is not validated/);
  });

  it('an UPDATE of an object being deleted', async () => {
    const obj = workload('Pod', { containers: ['nginx'] }, 'dying', { deletionTimestamp: '2026-11-27T10:00:00Z' });
    const line = await decide(review('Pod', obj, { operation: 'UPDATE', oldObject: obj }));
    expect(line).to.include({ outcome: 'admitted', validated: false, name: 'dying' });
    expect(line.reason).to.match(/being deleted .*deletionTimestamp/);
  });

  it('a kind that is not validated', async () => {
    const line = await decide(review('ConfigMap', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'team-a' } }));
    expect(line).to.include({ outcome: 'warned', kind: 'ConfigMap', validated: false });
    expect(line.reason).to.equal('kind ConfigMap is not validated');
  });

  it('a malformed object (denied with code 400)', async () => {
    const line = await decide(review('Pod', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x', namespace: 'team-a' }, spec: { containers: [] } }));
    expect(line).to.include({ outcome: 'denied', validated: false });
    expect(line.reason).to.match(/has no containers/);
  });

  it('an unchanged image (automaticUnchangedApproval), with the reason per image', async () => {
    const old = workload('Deployment', { containers: ['ghcr.io/acme/app:1'] });
    const line = await decide(review('Deployment', workload('Deployment', { containers: ['ghcr.io/acme/app:1'] }), { operation: 'UPDATE', oldObject: old }));
    expect(line).to.include({ outcome: 'admitted', validated: false });
    expect(line.images).to.have.length(1);
    const image = (line.images as Array<Record<string, unknown>>)[0]!;
    expect(image).to.include({ image: 'ghcr.io/acme/app:1', outcome: 'skipped', skippedBecause: 'unchanged' });
    expect(image.reason).to.match(/image unchanged since the previous version of the object/);
  });

  it('a child approval (automaticChildApproval), with the reason per image', async () => {
    const child = workload('Pod', { containers: [`ghcr.io/acme/app:2@${DIGEST}`] }, 'web-1', {
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: 'u1', controller: true }],
    });
    const line = await decide(review('Pod', child));
    expect(line).to.include({ outcome: 'admitted', validated: false });
    expect((line.images as Array<Record<string, unknown>>)[0]).to.include({ outcome: 'skipped', skippedBecause: 'child' });
  });

  it('a validated decision names rule, validator and the denial reason', async () => {
    const line = await decide(review('Pod', workload('Pod', { containers: ['nginx:1.25', 'registry.k8s.io/pause:3.9'] })));
    expect(line).to.include({ outcome: 'denied', validated: true });
    expect(line.reason).to.match(/image "nginx:1\.25" \(rule "\*:\*", validator "deny"\)/);
    expect((line.images as Array<Record<string, unknown>>).map((i) => [i.image, i.outcome])).to.deep.equal([
      ['nginx:1.25', 'denied'],
      ['registry.k8s.io/pause:3.9', 'admitted'],
    ]);
  });

  it('podsOnly: a workload admitted unchecked is logged, and child approval is off (its owners were never validated)', async () => {
    const podsOnly = captureLogger();
    let calls = 0;
    const h = await startWebhook(CONFIG('features:\n  resourceValidationMode: podsOnly\n'), {
      logger: podsOnly.logger,
      setup: (runtime) => {
        runtime.ownerImages = async () => {
          calls++;
          return new Set([`ghcr.io/acme/app:2@${DIGEST}`]);
        };
      },
    });
    try {
      await h.post(review('Deployment', workload('Deployment', { containers: ['nginx'] })));
      const line = podsOnly.lines.find((l) => l.msg === 'admission decision')!;
      expect(line).to.include({ outcome: 'warned', kind: 'Deployment', validated: false });
      expect(line.reason).to.match(/podsOnly/);
      const child = workload('Pod', { containers: [`ghcr.io/acme/app:2@${DIGEST}`] }, 'web-1', {
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: 'u1', controller: true }],
      });
      const res = await h.post(review('Pod', child));
      expect(calls, 'the owner lookup is not even made').to.equal(0);
      expect(res.json.response.allowed, 'validated normally (and the signature check fails)').to.equal(false);
    } finally {
      await h.close();
    }
    expect(ownerCalls).to.be.greaterThan(0);
  });
});
