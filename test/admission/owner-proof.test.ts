/** Owner proofs and the integrity key they are made with: every bound field matters, nothing else verifies. */
import { expect } from 'chai';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IntegrityKey, localKey, readKeyFile } from '../../src/integrity/key.js';
import { OwnerProofs, foreignProofAnnotations, proofAnnotation, type ProofSubject } from '../../src/admission/owner-proof.js';
import { annotationPatch } from '../../src/admission/patch.js';
import { makeTempDir } from '../harness/temp-dirs.js';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const subject: ProofSubject = {
  namespace: 'team-a', group: 'apps', kind: 'Deployment', name: 'web', generation: 'a'.repeat(64),
  images: [`ghcr.io/acme/app:1@${D1}`, 'registry.k8s.io/pause:3.9'], verified: [`ghcr.io/acme/app:1@${D1}`],
};

describe('owner proofs', () => {
  const key = IntegrityKey.random();
  const proofs = new OwnerProofs(key);
  const value = proofs.issue(subject);
  const { verified: _v, ...owner } = subject;

  it('vouches for exactly the verified images of the owner it was issued for', () => {
    const check = proofs.check(value, owner);
    expect(check).to.deep.equal({ ok: true, verified: new Set([`ghcr.io/acme/app:1@${D1}`]) });
    expect(JSON.parse(value)).to.include({ v: 1, config: 'a'.repeat(12) });
  });

  it('is deterministic (an unchanged owner gets the same annotation, so updates do not flap)', () => {
    expect(proofs.issue({ ...subject, images: [...subject.images].reverse() })).to.equal(value);
  });

  const changes: Array<[string, Partial<ProofSubject>]> = [
    ['another namespace', { namespace: 'team-b' }],
    ['another name (a copy on another object)', { name: 'web2' }],
    ['another kind', { kind: 'StatefulSet' }],
    ['another API group', { group: 'evil.example.com' }],
    ['another configuration', { generation: 'b'.repeat(64) }],
    ['an image changed after admission', { images: [`ghcr.io/acme/app:1@${D2}`, 'registry.k8s.io/pause:3.9'] }],
    ['an image added after admission', { images: [...subject.images, 'evil.io/x:1'] }],
  ];
  for (const [what, change] of changes) {
    it(`does not verify for ${what}`, () => {
      const check = proofs.check(value, { ...owner, ...change });
      expect(check.ok).to.equal(false);
    });
  }

  it('says when the configuration changed since the proof was issued', () => {
    expect(proofs.check(value, { ...owner, generation: 'b'.repeat(64) })).to.deep.equal({ ok: false, reason: 'the proof was issued under another configuration' });
  });

  it('does not verify with another key, or with a list of images edited into the annotation', () => {
    expect(new OwnerProofs(IntegrityKey.random()).check(value, owner).ok).to.equal(false);
    const edited = JSON.parse(value);
    edited.images.push('registry.k8s.io/pause:3.9');
    expect(proofs.check(JSON.stringify(edited), owner).ok).to.equal(false);
  });

  it('a MAC made for the shared cache never verifies as an owner proof (per-purpose keys)', () => {
    const parts = ['imprimatur owner proof', 1, 'team-a', 'apps', 'Deployment', 'web', subject.generation, [...subject.images].sort(), subject.verified];
    const forged = JSON.stringify({ ...JSON.parse(value), mac: key.mac('cache-entry', parts) });
    expect(proofs.check(forged, owner).ok).to.equal(false);
  });

  for (const junk of [undefined, 42, '', 'not json', 'null', '{"v":2}', JSON.stringify({ v: 1, images: [1], mac: 'x' }), 'x'.repeat(70_000)]) {
    it(`refuses a malformed annotation: ${JSON.stringify(junk)?.slice(0, 40)}`, () => {
      expect(proofs.check(junk, owner).ok).to.equal(false);
    });
  }

  it('has one annotation key per kind, and a Deployment sheds the ReplicaSet one', () => {
    expect(proofAnnotation('ReplicaSet')).to.equal('imprimatur.dev/verified-replicaset');
    expect(foreignProofAnnotations('Deployment')).to.deep.equal(['imprimatur.dev/verified-replicaset']);
    expect(foreignProofAnnotations('ReplicaSet')).to.deep.equal([]);
  });
});

describe('annotation patches', () => {
  const k = 'imprimatur.dev/verified-deployment';
  it('creates metadata.annotations when missing, adds or replaces a key, removes only present keys', () => {
    expect(annotationPatch({ metadata: {} }, { [k]: 'v' }, [k])).to.deep.equal([{ op: 'add', path: '/metadata/annotations', value: { [k]: 'v' } }]);
    expect(annotationPatch({ metadata: { annotations: { a: 'b' } } }, { [k]: 'v' }, [k])).to.deep.equal([{ op: 'add', path: '/metadata/annotations/imprimatur.dev~1verified-deployment', value: 'v' }]);
    expect(annotationPatch({ metadata: { annotations: { [k]: 'v' } } }, { [k]: 'v' }, [k]), 'unchanged: no op').to.deep.equal([]);
    expect(annotationPatch({ metadata: { annotations: { [k]: 'old' } } }, {}, [k])).to.deep.equal([{ op: 'remove', path: '/metadata/annotations/imprimatur.dev~1verified-deployment' }]);
    expect(annotationPatch({ metadata: {} }, {}, [k])).to.deep.equal([]);
  });
});

describe('integrity key', () => {
  it('reads a key file (whitespace trimmed) and refuses one shorter than 32 bytes, naming the file', () => {
    const dir = makeTempDir('key');
    writeFileSync(join(dir, 'ok'), `${'k'.repeat(40)}\n`);
    writeFileSync(join(dir, 'short'), 'too-short\n');
    expect(readKeyFile(join(dir, 'ok')).source).to.equal(join(dir, 'ok'));
    expect(() => readKeyFile(join(dir, 'short'))).to.throw(/short has 9 bytes; it needs at least 32/);
    expect(() => readKeyFile(join(dir, 'missing'))).to.throw(/missing does not exist/);
  });

  it('a local key is created once (mode 0600) and the same key is read back', () => {
    const dir = makeTempDir('local-key');
    const a = localKey(dir);
    const b = localKey(dir);
    expect(a.mac('owner-proof', ['x'])).to.equal(b.mac('owner-proof', ['x']));
    expect(statSync(join(dir, 'keys', 'integrity.key')).mode & 0o777).to.equal(0o600);
  });

  it('keys from the same file agree; per-purpose MACs differ', () => {
    const dir = makeTempDir('key2');
    writeFileSync(join(dir, 'k'), 'z'.repeat(48));
    const a = readKeyFile(join(dir, 'k'));
    const b = readKeyFile(join(dir, 'k'));
    expect(a.verify('cache-entry', [1, 2], b.mac('cache-entry', [1, 2]))).to.equal(true);
    expect(a.mac('cache-entry', [1])).to.not.equal(a.mac('owner-proof', [1]));
    expect(a.verify('cache-entry', [1, 2], 'A'.repeat(43))).to.equal(false);
  });
});
