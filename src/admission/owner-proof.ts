/**
 * Owner proofs: what automatic child approval trusts. When Imprimatur admits a controller (Deployment, ReplicaSet,
 * DaemonSet, StatefulSet, Job, CronJob) whose images it verified, its own patch writes an annotation on that
 * object naming the digest-pinned images it verified, with an HMAC (key derived from the webhook's integrity key)
 * over everything the proof depends on:
 *
 *   namespace, API group, kind, name, the configuration generation in force, every image of the object's pod
 *   template as admitted, and the verified ones.
 *
 * A child (Pod, ReplicaSet, Job) skips an image only when its controller owner, read from the API server, carries a
 * proof that verifies for that owner as it is now, under the configuration in force now, and lists that exact
 * image. Anyone can copy the annotation; it only ever vouches for digests Imprimatur itself verified for an object of
 * that namespace, kind and name with exactly those images, under this configuration (see docs/threat-model.md).
 *
 * Each kind has its own annotation key (`imprimatur.dev/verified-<kind>`): the Deployment controller copies a
 * Deployment's annotations onto its ReplicaSets (and `kubectl rollout undo` copies them back), so one shared key
 * would make the controller and the webhook overwrite each other forever.
 */
import type { IntegrityKey } from '../integrity/key.js';

/** Kinds that vouch for their children, and the only API group each is read from. */
export const OWNER_GROUPS: Readonly<Record<string, 'apps' | 'batch'>> = {
  Deployment: 'apps',
  ReplicaSet: 'apps',
  DaemonSet: 'apps',
  StatefulSet: 'apps',
  Job: 'batch',
  CronJob: 'batch',
};

/** The one version owners are read at: apps/v1 and batch/v1, nothing else. */
export const OWNER_API_VERSION = { apps: 'apps/v1', batch: 'batch/v1' } as const;

const ANNOTATION_PREFIX = 'imprimatur.dev/verified-';
const FORMAT_VERSION = 1;
/** Larger annotation values are not even parsed. */
const MAX_PROOF_CHARS = 64 * 1024;

export function proofAnnotation(kind: string): string {
  return `${ANNOTATION_PREFIX}${kind.toLowerCase()}`;
}

/** Proof annotations an object of `kind` must not carry because a controller would copy them back and forth. */
export function foreignProofAnnotations(kind: string): string[] {
  // Deployment → ReplicaSet: the controller copies the Deployment's annotations to the ReplicaSet; a rollback copies
  // the ReplicaSet's back. The ReplicaSet's own proof must therefore never stay on a Deployment.
  return kind === 'Deployment' ? [proofAnnotation('ReplicaSet')] : [];
}

/** What a proof is about. `images`: every image of the pod template; `verified`: those Imprimatur verified (pinned). */
export interface ProofSubject {
  namespace: string;
  group: string;
  kind: string;
  name: string;
  /** Hash of the configuration in force. */
  generation: string;
  images: readonly string[];
  verified: readonly string[];
}

interface ProofDocument {
  v: number;
  /** Short form of the configuration generation, for people reading the annotation. */
  config: string;
  images: string[];
  mac: string;
}

export type ProofCheck = { ok: true; verified: Set<string> } | { ok: false; reason: string };

export class OwnerProofs {
  constructor(private readonly key: IntegrityKey) {}

  /** The annotation value vouching for `subject.verified`. */
  issue(subject: ProofSubject): string {
    const verified = sorted(subject.verified);
    const doc: ProofDocument = { v: FORMAT_VERSION, config: subject.generation.slice(0, 12), images: verified, mac: this.key.mac('owner-proof', material(subject, verified)) };
    return JSON.stringify(doc);
  }

  /**
   * Checks the annotation value found on an owner against the owner as read now (`subject.images` from its pod
   * template, the generation in force). On success, the images it vouches for.
   */
  check(value: unknown, subject: Omit<ProofSubject, 'verified'>): ProofCheck {
    if (typeof value !== 'string') return { ok: false, reason: 'the owner carries no proof' };
    if (value.length > MAX_PROOF_CHARS) return { ok: false, reason: 'the proof annotation is too large' };
    let doc: Partial<ProofDocument>;
    try {
      doc = JSON.parse(value) as Partial<ProofDocument>;
    } catch {
      return { ok: false, reason: 'the proof annotation is not JSON' };
    }
    if (doc === null || typeof doc !== 'object' || doc.v !== FORMAT_VERSION || !Array.isArray(doc.images) || !doc.images.every((i) => typeof i === 'string')) {
      return { ok: false, reason: 'the proof annotation is malformed' };
    }
    const verified = sorted(doc.images);
    if (!this.key.verify('owner-proof', material({ ...subject, verified }, verified), doc.mac)) {
      const stale = doc.config !== subject.generation.slice(0, 12);
      return { ok: false, reason: stale ? 'the proof was issued under another configuration' : 'the proof does not match the owner (images, name or key differ)' };
    }
    return { ok: true, verified: new Set(verified) };
  }
}

function material(s: ProofSubject, verified: string[]): unknown[] {
  return ['imprimatur owner proof', FORMAT_VERSION, s.namespace, s.group, s.kind, s.name, s.generation, sorted(s.images), verified];
}

function sorted(list: readonly string[]): string[] {
  return [...new Set(list)].sort();
}
