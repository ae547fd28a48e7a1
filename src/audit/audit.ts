/**
 * One audit: what would the webhook, with this configuration, decide for everything that runs now? Lists the
 * covered namespaces and their workloads, verifies each distinct image once with the real validators (bounded
 * concurrency, the admission deadline per image), and applies staged enforcement per namespace and rule.
 */
import type { Engine } from '../admission/engine.js';
import { resolveEnforcement, type Enforcement, type EnforcementSource, type NamespaceMode } from '../admission/enforcement.js';
import type { ImageDecision } from '../admission/types.js';
import type { Logger } from '../log.js';
import type { ClusterSource } from './cluster.js';
import { AUDITED_KINDS, foldOwners, toInventoryObject, type InventoryObject, type Workload } from './inventory.js';
import { namespaceCoverage, type NamespaceSelection } from './namespaces.js';
import type { PullSecretRefs } from '../pull-secrets/refs.js';
import type { WorkloadCredentialsFactory } from '../pull-secrets/workload.js';

/** admit: verified or approved; warn: fails, but detection admits it with a warning; deny: the webhook would refuse it. */
export type Verdict = 'admit' | 'warn' | 'deny';

/** One image of one workload. */
export interface AuditFinding {
  namespace: string;
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  image: string;
  /** The objects carrying the image (`Kind/name`): the workload itself and/or folded children. */
  objects: string[];
  normalized?: string;
  rule?: string;
  validator?: string;
  validatorType?: string;
  verdict: Verdict;
  reason: string;
  code?: string;
  digest?: string;
  enforcement: Enforcement;
  enforcementSource: EnforcementSource;
}

export interface AuditedNamespace {
  name: string;
  covered: boolean;
  /** When covered: enforce or detect (label imprimatur.dev/webhook=detect). */
  mode?: NamespaceMode;
  /** When not covered: why. */
  reason?: string;
  /** A warning about the namespace's selection (e.g. the 1.20 metadata.name label). */
  note?: string;
}

export interface AuditSummary {
  /** Covered namespaces audited. */
  namespaces: number;
  workloads: number;
  /** Distinct images verified. */
  images: number;
  /** Findings (workload × image) by verdict. */
  admit: number;
  warn: number;
  deny: number;
  /** Workloads with at least one denied image. */
  workloadsDenied: number;
  /** Workloads with at least one image admitted only by detection (and none denied). */
  workloadsWarned: number;
}

export interface AuditResult {
  generatedAt: string;
  config: string;
  namespaces: AuditedNamespace[];
  findings: AuditFinding[];
  summary: AuditSummary;
  /** Objects that could not be read (malformed pod spec), with the reason. */
  skippedObjects: string[];
  /** Per distinct image, the decision (for metrics: which images stopped verifying). */
  decisions: Map<string, ImageDecision>;
}

export type AuditProgress =
  | { phase: 'namespaces'; total: number; covered: number }
  | { phase: 'objects'; kind: string; listed: number }
  | { phase: 'images'; done: number; total: number };

export interface AuditOptions {
  engine: Engine;
  cluster: ClusterSource;
  selection: NamespaceSelection;
  /** Only this namespace (`-n`); default every covered namespace. */
  namespace?: string;
  /** Verifications in flight at once (default 8). */
  concurrency?: number;
  logger: Logger;
  progress?: (p: AuditProgress) => void;
  now?: () => Date;
  /** Aborts the whole audit (shutdown). */
  signal?: AbortSignal;
  /**
   * Reads workloads' pull secrets for validators with `auth.fromWorkload`: such an image is verified once per distinct
   * set of pull secrets (namespace, imagePullSecrets, ServiceAccount) that runs it, as the webhook would for each.
   * Without it those validators use their own credentials only.
   */
  workloadCredentials?: WorkloadCredentialsFactory;
}

export async function runAudit(o: AuditOptions): Promise<AuditResult> {
  const now = o.now ?? (() => new Date());
  const namespaces: AuditedNamespace[] = (await o.cluster.namespaces(o.namespace)).map((ns) => {
    const c = namespaceCoverage(ns.name, ns.labels, o.selection);
    return c.covered ? { name: ns.name, covered: true, mode: c.mode, ...(c.note ? { note: c.note } : {}) } : { name: ns.name, covered: false, reason: c.reason };
  });
  namespaces.sort((a, b) => a.name.localeCompare(b.name));
  const covered = new Map(namespaces.filter((n) => n.covered).map((n) => [n.name, n.mode!]));
  o.progress?.({ phase: 'namespaces', total: namespaces.length, covered: covered.size });

  const objects: InventoryObject[] = [];
  const skippedObjects: string[] = [];
  if (covered.size > 0) {
    for (const kind of AUDITED_KINDS) {
      let listed = 0;
      for await (const item of o.cluster.objects(kind, o.namespace)) {
        o.signal?.throwIfAborted();
        if (!covered.has(item.metadata?.namespace ?? '')) continue;
        const reduced = toInventoryObject(item, kind.kind);
        if ('skipped' in reduced) skippedObjects.push(reduced.skipped);
        else objects.push(reduced);
        listed++;
      }
      o.progress?.({ phase: 'objects', kind: kind.kind, listed });
    }
  }
  const workloads = foldOwners(objects);

  const distinct = [...new Set(workloads.flatMap((w) => [...w.images.keys()]))].sort();
  // One verification per image — or, when its validator reads the workload's pull secrets, per image and set of pull
  // secrets (the engine's cache then shares results among sets holding the same credentials).
  const units = new Map<string, VerificationUnit>();
  const unitOf = new Map<Workload, Map<string, string>>();
  for (const w of workloads) {
    const keys = new Map<string, string>();
    for (const image of w.images.keys()) {
      const refs = o.engine.dependsOnWorkload(image) ? w.pullSecrets : undefined;
      const key = refs ? `${image}\u0000${contextKey(refs)}` : image;
      if (!units.has(key)) units.set(key, { image, ...(refs ? { refs, where: `${w.kind} ${w.namespace}/${w.name}` } : {}) });
      keys.set(image, key);
    }
    unitOf.set(w, keys);
  }
  const unitDecisions = await verifyAll(o, [...units.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)), now);
  // Per image, the decision (the first denial when several sets of pull secrets run it).
  const decisions = new Map<string, ImageDecision>();
  for (const [key, unit] of units) {
    const d = unitDecisions.get(key)!;
    const before = decisions.get(unit.image);
    if (!before || (before.outcome !== 'denied' && d.outcome === 'denied')) decisions.set(unit.image, d);
  }

  const { features } = o.engine.config;
  const findings: AuditFinding[] = [];
  for (const w of workloads) {
    const mode = covered.get(w.namespace);
    for (const [image, carriers] of w.images) {
      const d = unitDecisions.get(unitOf.get(w)!.get(image)!)!;
      const { enforcement, source } = resolveEnforcement(features.detectionMode, mode, d.ruleEnforcement);
      const verdict: Verdict = d.outcome !== 'denied' ? 'admit' : enforcement === 'detect' ? 'warn' : 'deny';
      findings.push({
        namespace: w.namespace, apiVersion: w.apiVersion, kind: w.kind, name: w.name, uid: w.uid, image, objects: carriers,
        ...(d.normalized ? { normalized: d.normalized } : {}),
        ...(d.rule ? { rule: d.rule, validator: d.validator, validatorType: d.validatorType } : {}),
        verdict, reason: d.reason,
        ...(d.code ? { code: d.code } : {}),
        ...(d.digest ? { digest: d.digest } : {}),
        enforcement, enforcementSource: source,
      });
    }
  }
  const count = (v: Verdict) => findings.filter((f) => f.verdict === v).length;
  // Each workload's worst verdict.
  const rank: Record<Verdict, number> = { admit: 0, warn: 1, deny: 2 };
  const worst = new Map<string, Verdict>();
  for (const f of findings) {
    const key = `${f.namespace}/${f.kind}/${f.name}`;
    const before = worst.get(key);
    if (before === undefined || rank[f.verdict] > rank[before]) worst.set(key, f.verdict);
  }
  return {
    generatedAt: now().toISOString(),
    config: o.engine.config.file,
    namespaces,
    findings,
    summary: {
      namespaces: covered.size,
      workloads: workloads.length,
      images: distinct.length,
      admit: count('admit'),
      warn: count('warn'),
      deny: count('deny'),
      workloadsDenied: [...worst.values()].filter((v) => v === 'deny').length,
      workloadsWarned: [...worst.values()].filter((v) => v === 'warn').length,
    },
    skippedObjects,
    decisions,
  };
}

/** One verification: an image, with the pull secrets of a workload that runs it when its validator reads them. */
interface VerificationUnit {
  image: string;
  refs?: PullSecretRefs;
  /** A workload with these pull secrets, for messages. */
  where?: string;
}

function contextKey(refs: PullSecretRefs): string {
  return JSON.stringify([refs.namespace, refs.podSecrets, refs.podSecrets.length ? '' : refs.serviceAccount, refs.hasPodSpec]);
}

/** Each unit verified once, `concurrency` at a time, each within the admission deadline. */
async function verifyAll(o: AuditOptions, units: Array<[string, VerificationUnit]>, now: () => Date): Promise<Map<string, ImageDecision>> {
  const decisions = new Map<string, ImageDecision>();
  const deadlineMs = o.engine.config.requestTimeoutMs;
  const limit = Math.max(1, o.concurrency ?? 8);
  let next = 0;
  let done = 0;
  o.progress?.({ phase: 'images', done, total: units.length });
  const worker = async (): Promise<void> => {
    while (next < units.length) {
      o.signal?.throwIfAborted();
      const [key, unit] = units[next++]!;
      const signal = o.signal ? AbortSignal.any([o.signal, AbortSignal.timeout(deadlineMs)]) : AbortSignal.timeout(deadlineMs);
      const workload = unit.refs && o.workloadCredentials ? o.workloadCredentials(unit.refs, unit.where!) : undefined;
      const { decision } = await o.engine.check(unit.image, { signal, deadline: Date.now() + deadlineMs, logger: o.logger, now, workload });
      decisions.set(key, decision);
      done++;
      o.progress?.({ phase: 'images', done, total: units.length });
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, units.length) }, worker));
  o.signal?.throwIfAborted();
  return decisions;
}
