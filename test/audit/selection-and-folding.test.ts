/** The audit's namespace selection (the chart's namespaceSelectors) and owner folding, on edge cases. */
import { expect } from 'chai';
import { foldOwners, type InventoryObject } from '../../src/audit/inventory.js';
import { defaultSelection, namespaceCoverage } from '../../src/audit/namespaces.js';

describe('audit: namespace selection', () => {
  const named = (name: string, labels: Record<string, string> = {}) => ({ 'kubernetes.io/metadata.name': name, ...labels });
  const sel = defaultSelection('imprimatur', { excluded: ['monitoring'] });

  it('covers ordinary namespaces in enforcement, `detect`-labelled ones in detection', () => {
    expect(namespaceCoverage('shop', named('shop'), sel)).to.deep.equal({ covered: true, mode: 'enforce' });
    expect(namespaceCoverage('stage', named('stage', { 'imprimatur.dev/webhook': 'detect' }), sel)).to.deep.equal({ covered: true, mode: 'detect' });
    expect(namespaceCoverage('x', named('x', { 'imprimatur.dev/webhook': 'validate' }), sel)).to.deep.equal({ covered: true, mode: 'enforce' });
  });

  it('never covers kube-system, the release namespace, excludedNamespaces or `ignore`-labelled namespaces', () => {
    expect(namespaceCoverage('kube-system', named('kube-system'), sel)).to.deep.equal({ covered: false, reason: 'kube-system is never sent to the webhook' });
    expect(namespaceCoverage('imprimatur', named('imprimatur'), sel)).to.include({ covered: false });
    expect(namespaceCoverage('monitoring', named('monitoring', { 'imprimatur.dev/webhook': 'detect' }), sel)).to.include({ covered: false });
    expect(namespaceCoverage('lab', named('lab', { 'imprimatur.dev/webhook': 'ignore' }), sel)).to.deep.equal({ covered: false, reason: 'labelled imprimatur.dev/webhook=ignore' });
  });

  it('mirrors the API server on 1.20: without the metadata.name label the exclusion does not apply, and says so', () => {
    const c = namespaceCoverage('kube-system', {}, sel);
    expect(c).to.include({ covered: true, mode: 'enforce' });
    expect((c as { note: string }).note).to.match(/has no label kubernetes\.io\/metadata\.name/);
  });

  it('namespacedValidation validate: only `validate` (enforce) and `detect` (detection)', () => {
    const v = defaultSelection('imprimatur', { validation: 'validate' });
    expect(namespaceCoverage('a', named('a'), v)).to.include({ covered: false });
    expect(namespaceCoverage('b', named('b', { 'imprimatur.dev/webhook': 'validate' }), v)).to.deep.equal({ covered: true, mode: 'enforce' });
    expect(namespaceCoverage('c', named('c', { 'imprimatur.dev/webhook': 'detect' }), v)).to.deep.equal({ covered: true, mode: 'detect' });
  });

  it('allowNamespaceDetection false: `detect` is enforced', () => {
    const off = defaultSelection('imprimatur', { allowDetection: false });
    expect(namespaceCoverage('s', named('s', { 'imprimatur.dev/webhook': 'detect' }), off)).to.deep.equal({ covered: true, mode: 'enforce' });
  });
});

describe('audit: owner folding', () => {
  const o = (kind: string, name: string, uid: string, images: string[], owner?: [string, string, string], namespace = 'ns'): InventoryObject => ({
    apiVersion: 'v1', kind, namespace, name, uid, images,
    ...(owner ? { controller: { apiVersion: 'apps/v1', kind: owner[0], name: owner[1], uid: owner[2] } } : {}),
  });

  it('folds Pod → ReplicaSet → Deployment whatever the listing order, owner images first', () => {
    const workloads = foldOwners([
      o('Pod', 'web-1-a', 'p1', ['app@sha256:1'], ['ReplicaSet', 'web-1', 'rs1']),
      o('ReplicaSet', 'web-1', 'rs1', ['app@sha256:1'], ['Deployment', 'web', 'd1']),
      o('Deployment', 'web', 'd1', ['app:1']),
    ]);
    expect(workloads).to.have.length(1);
    expect(workloads[0]).to.include({ kind: 'Deployment', name: 'web', uid: 'd1' });
    expect([...workloads[0]!.images.entries()]).to.deep.equal([['app:1', ['Deployment/web']], ['app@sha256:1', ['ReplicaSet/web-1', 'Pod/web-1-a']]]);
    expect(workloads[0]!.folded).to.deep.equal(['ReplicaSet/web-1', 'Pod/web-1-a']);
  });

  it('an owner that is not listed (a custom controller, or gone) ends the chain', () => {
    const workloads = foldOwners([o('ReplicaSet', 'r', 'rs', ['a'], ['Rollout', 'ro', 'x']), o('Pod', 'p', 'p', ['a'], ['ReplicaSet', 'r', 'rs'])]);
    expect(workloads.map((w) => `${w.kind}/${w.name}`)).to.deep.equal(['ReplicaSet/r']);
  });

  it('matches owners by UID: a same-named newer owner does not adopt an orphan of the old one', () => {
    const workloads = foldOwners([o('Deployment', 'web', 'new', ['a']), o('Pod', 'web-x', 'p', ['b'], ['Deployment', 'web', 'old'])]);
    expect(workloads.map((w) => `${w.kind}/${w.name}`)).to.deep.equal(['Deployment/web', 'Pod/web-x']);
  });

  it('never folds across namespaces, and survives an ownership cycle', () => {
    const cross = foldOwners([o('Deployment', 'd', 'd', ['a'], undefined, 'one'), o('Pod', 'p', 'p', ['a'], ['Deployment', 'd', 'd'], 'two')]);
    expect(cross).to.have.length(2);
    const cycle = foldOwners([o('ReplicaSet', 'a', 'a', ['x'], ['ReplicaSet', 'b', 'b']), o('ReplicaSet', 'b', 'b', ['y'], ['ReplicaSet', 'a', 'a'])]);
    expect(cycle.flatMap((w) => [...w.images.keys()]).sort()).to.deep.equal(['x', 'y']);
  });
});
