/** Which decided requests become Kubernetes Events, about which object (the mapping; the API side is in test/e2e). */
import { expect } from 'chai';
import type { HandledReview } from '../../src/admission/handler.js';
import type { AdmissionReview } from '../../src/admission/review.js';
import { denialEvent } from '../../src/kubernetes/admission-events.js';

function decided(o: { decision: 'admit' | 'reject'; admitted: boolean; phase?: 'mutate' | 'validate'; operation?: string; dryRun?: boolean; name?: string; generateName?: string }): [HandledReview, AdmissionReview] {
  const object = { metadata: { ...(o.name ? { name: o.name } : {}), ...(o.generateName ? { generateName: o.generateName } : {}), uid: 'new-uid' } };
  const review = {
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: {
      uid: 'r1', kind: { group: 'apps', version: 'v1', kind: 'Deployment' }, namespace: 'shop', name: o.name ?? '', operation: o.operation ?? 'CREATE',
      object, ...(o.operation === 'UPDATE' ? { oldObject: { metadata: { name: o.name, uid: 'stored-uid' } } } : {}), ...(o.dryRun ? { dryRun: true } : {}),
    },
  } as unknown as AdmissionReview;
  const result = {
    response: { uid: 'r1', allowed: o.admitted }, phase: o.phase ?? 'mutate',
    event: { uid: 'r1', decision: o.decision, admitted: o.admitted, detectionMode: o.decision === 'reject' && o.admitted, message: 'Imprimatur denied Deployment shop/web: …' },
  } as unknown as HandledReview;
  return [result, review];
}

describe('denial Events: which decisions, which object', () => {
  it('a denial → ImprimaturDenied about the workload; a CREATE carries no UID (the object was never stored)', () => {
    expect(denialEvent(...decided({ decision: 'reject', admitted: false, name: 'web' }))).to.deep.equal({
      object: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web' },
      reason: 'ImprimaturDenied', message: 'Imprimatur denied Deployment shop/web: …',
    });
  });

  it('an UPDATE names the stored object by its UID; a generated name is shown as such', () => {
    expect(denialEvent(...decided({ decision: 'reject', admitted: false, name: 'web', operation: 'UPDATE' }))!.object.uid).to.equal('stored-uid');
    expect(denialEvent(...decided({ decision: 'reject', admitted: false, generateName: 'web-5d8f-' }))!.object.name).to.equal('web-5d8f-(generated)');
  });

  it('detection: ImprimaturWouldDeny from the mutating pass only (the validating pass would repeat it)', () => {
    expect(denialEvent(...decided({ decision: 'reject', admitted: true, name: 'web' }))!.reason).to.equal('ImprimaturWouldDeny');
    expect(denialEvent(...decided({ decision: 'reject', admitted: true, name: 'web', phase: 'validate' }))).to.equal(undefined);
  });

  it('the validating pass\'s own denial (an image a later webhook injected) is an Event too', () => {
    expect(denialEvent(...decided({ decision: 'reject', admitted: false, name: 'web', phase: 'validate' }))!.reason).to.equal('ImprimaturDenied');
  });

  it('admissions and dry runs → none', () => {
    expect(denialEvent(...decided({ decision: 'admit', admitted: true, name: 'web' }))).to.equal(undefined);
    expect(denialEvent(...decided({ decision: 'reject', admitted: false, name: 'web', dryRun: true }))).to.equal(undefined);
  });
});
