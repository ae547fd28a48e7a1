/** AdmissionReview → per-image decisions → allow / deny / allow-with-warning, JSONPatch and an event. */
import { setMaxListeners } from 'node:events';
import type { Logger } from '../log.js';
import type { Engine } from './engine.js';
import { detectionPrefix, resolveEnforcement, type NamespaceMode } from './enforcement.js';
import type { OwnerImages } from './child-approval.js';
import { foreignProofAnnotations, OWNER_GROUPS, proofAnnotation, type OwnerProofs } from './owner-proof.js';
import { annotationPatch, digestPatch, pinnedImage, type JsonPatchOp } from './patch.js';
import { processBytes, RequestBytes } from '../registry/byte-budget.js';
import { clampWarning, type AdmissionRequest, type AdmissionResponse, type AdmissionReview } from './review.js';
import type { AdmissionEvent, AlertDispatcher, ImageDecision } from './types.js';
import { containerImages, isSupportedKind, WorkloadShapeError, type ContainerImage } from './workload.js';
import { withoutWorkloadCredentials, type WorkloadCredentialsFactory } from '../pull-secrets/workload.js';
import { pullSecretRefs } from '../pull-secrets/refs.js';

/** The workload credentials of a webhook that cannot read the Kubernetes API. */
const NO_KUBERNETES_ACCESS = withoutWorkloadCredentials(
  'Imprimatur has no Kubernetes API access (no in-cluster service account and no --kubeconfig), so the workload\'s pull secrets could not be read',
);

export interface HandlerContext {
  engine: Engine;
  alerts?: AlertDispatcher;
  logger: Logger;
  now?: () => Date;
  /** Deadline override in ms (e.g. from the API server's `?timeout=`); the config's deadline is the upper bound. */
  deadlineMs?: number;
  /**
   * Images a child object may skip because its owner carries a valid owner proof for them (automatic child
   * approval). Returns those digest-pinned images, or undefined to validate normally.
   */
  ownerImages?: OwnerImages;
  /** Issues owner proofs on admitted controllers (mutating phase). Without it no proof is written. */
  proofs?: OwnerProofs;
  /**
   * `mutate` (default): decide, pin verified tags and write owner proofs. `validate`: the ValidatingWebhookConfiguration's
   * check of the final object after every mutating webhook ran — the same decision, never a patch, alerts only for denials.
   */
  phase?: AdmissionPhase;
  /**
   * What the webhook entry that sent the request says about its namespace: `detect` for namespaces labelled
   * `imprimatur.dev/webhook=detect` (the chart registers a second entry for them, paths `/mutate/detect` and `/validate/detect`).
   */
  namespaceMode?: NamespaceMode;
  /**
   * Reads the workload's pull secrets for validators with `auth.fromWorkload: true` (src/pull-secrets). Without it such
   * validators use their own credentials only, and a registry's refusal says why.
   */
  pullSecrets?: WorkloadCredentialsFactory;
}

export type AdmissionPhase = 'mutate' | 'validate';

export interface HandledReview {
  response: AdmissionResponse;
  event?: AdmissionEvent;
  phase: AdmissionPhase;
}

const allow = (uid: string, warnings: string[] = []): AdmissionResponse => ({ uid, allowed: true, ...(warnings.length ? { warnings: warnings.map((w) => clampWarning(w)) } : {}) });

export async function handleAdmissionReview(review: AdmissionReview, ctx: HandlerContext): Promise<HandledReview> {
  const started = Date.now();
  const phase = ctx.phase ?? 'mutate';
  const req = review.request;
  const kind = req.kind.kind;
  const { features } = ctx.engine.config;
  const where = `${kind} ${req.namespace ? `${req.namespace}/` : ''}${req.name || objectName(req.object) || '(generated name)'}`;

  /** A decision taken without validating any image: logged like every other decision, with why. */
  const unvalidated = (response: AdmissionResponse, why: string): HandledReview => {
    logDecision(ctx, req, phase, response, [], started, why);
    return { response, phase };
  };

  if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') {
    return unvalidated(allow(req.uid), `operation ${req.operation} is not validated (only CREATE and UPDATE)`);
  }
  // An object being deleted (e.g. a finalizer removed) passes unchanged — but only while its images stay what they
  // were: a deleting object whose pod template changes is validated like any other UPDATE.
  if (req.operation === 'UPDATE' && hasDeletionTimestamp(req.oldObject) && imagesUnchanged(kind, req.object, req.oldObject)) {
    return unvalidated(allow(req.uid), 'the object is being deleted (the old object has metadata.deletionTimestamp) and its images are unchanged, so it is not validated');
  }
  if (!isSupportedKind(kind)) {
    return unvalidated(allow(req.uid, [`Imprimatur does not validate kind ${kind}; it was admitted unchanged`]), `kind ${kind} is not validated`);
  }
  if (features.resourceValidationMode === 'podsOnly' && kind !== 'Pod' && kind !== 'EphemeralContainers') {
    return unvalidated(
      allow(req.uid, [`Imprimatur validates only Pods (resourceValidationMode: podsOnly); ${where} was admitted unchanged`]),
      'resourceValidationMode is podsOnly and this is not a Pod',
    );
  }

  let containers: ContainerImage[];
  try {
    containers = containerImages(kind, req.object);
  } catch (err) {
    if (!(err instanceof WorkloadShapeError)) throw err;
    const message = `Imprimatur cannot read ${where}: ${err.message}`;
    return unvalidated({ uid: req.uid, allowed: false, status: { code: 400, message } }, message);
  }
  if (containers.length === 0) {
    // As Connaisseur: an object of a validated kind without any container is malformed (the API server would
    // refuse it anyway); denying it keeps an empty object from being taken as verified.
    const message = `Imprimatur cannot read ${where}: it has no containers (${containerListName(kind)} is empty or missing)`;
    return unvalidated({ uid: req.uid, allowed: false, status: { code: 400, message } }, message);
  }

  const deadlineMs = Math.min(ctx.engine.config.requestTimeoutMs, ctx.deadlineMs ?? Infinity);
  // One deadline for the whole request (a plain timer: cheaper than AbortSignal.timeout, and cleared when done).
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), Math.max(1, deadlineMs));
  try {
    return await decide(ctx, { req, containers, signal: deadline.signal, deadlineMs, where, started, phase });
  } finally {
    clearTimeout(timer);
  }
}

/** One request being decided: its containers, its deadline, and how it is named in messages. */
interface RequestScope {
  req: AdmissionRequest;
  containers: ContainerImage[];
  signal: AbortSignal;
  deadlineMs: number;
  /** `Kind namespace/name`, for messages. */
  where: string;
  started: number;
  phase: AdmissionPhase;
}

async function decide(ctx: HandlerContext, { req, containers, signal, deadlineMs, where, started, phase }: RequestScope): Promise<HandledReview> {
  // Every image of the request (and coalesced verifications) listens to this one signal.
  setMaxListeners(100, signal);
  const kind = req.kind.kind;
  const { features } = ctx.engine.config;
  const now = ctx.now ?? (() => new Date());
  const distinct = [...new Set(containers.map((c) => c.image))];
  const { limits } = ctx.engine.config;
  if (distinct.length > limits.imagesPerRequest) {
    // Refused before any verification: a request cannot make the webhook fetch signature data for unbounded images.
    const reason = `${where} has ${distinct.length} distinct images; at most ${limits.imagesPerRequest} are verified in one request (limits.imagesPerRequest)`;
    ctx.logger.warn({ uid: req.uid, phase, kind, images: distinct.length, limit: limits.imagesPerRequest }, 'too many distinct images in one request');
    if (features.detectionMode || ctx.namespaceMode === 'detect') {
      return { response: allow(req.uid, [`detection mode: would deny: ${reason}`]), phase };
    }
    return { response: { uid: req.uid, allowed: false, status: { code: 403, reason: 'Forbidden', message: `Imprimatur denied ${reason}` } }, phase };
  }
  // This request's share of the process's byte budget for registry data (src/registry/byte-budget.ts).
  const bytes = new RequestBytes(processBytes, limits.bytesPerRequest);

  const unchanged = features.automaticUnchangedApproval && req.operation === 'UPDATE' ? previousImages(kind, req.oldObject) : new Set<string>();
  // With podsOnly the owners are never validated, so nothing they carry proves anything: no child approval (as Connaisseur).
  const childApproval = features.automaticChildApproval && features.resourceValidationMode === 'all' && ctx.ownerImages;
  const owned = childApproval ? await ctx.ownerImages!(req, ctx.engine.generation, signal).catch(() => undefined) : undefined;
  // The final object's pull secrets (in the validating pass too: a later webhook may have changed them), read once on
  // first use by a validator with auth.fromWorkload.
  const workload = ctx.engine.usesWorkloadCredentials
    ? (ctx.pullSecrets ?? NO_KUBERNETES_ACCESS)(pullSecretRefs(kind, req.object, req.namespace ?? ''), where)
    : undefined;

  const decided: ImageDecision[] = await Promise.all(
    distinct.map(async (image): Promise<ImageDecision> => {
      if (owned?.has(image)) return { image, outcome: 'skipped', skippedBecause: 'child', reason: 'image verified on the owning controller (automaticChildApproval)' };
      const validation = { signal, deadline: Date.now() + deadlineMs, logger: ctx.logger, now, bytes, workload };
      const skip = unchanged.has(image) ? UNCHANGED : undefined;
      const { decision } = await ctx.engine.check(image, validation, skip);
      return decision;
    }),
  );
  // Staged enforcement, per image: global detection, then the namespace's mode, then the rule's.
  const results = decided.map((d): ImageDecision => {
    const { enforcement, source } = resolveEnforcement(features.detectionMode, ctx.namespaceMode, d.ruleEnforcement);
    return { ...d, enforcement, enforcementSource: source };
  });

  if (phase === 'validate') results.forEach((r, i) => { results[i] = requirePinned(r); });
  const denied = results.filter((r) => r.outcome === 'denied');
  const blocking = denied.filter((r) => r.enforcement === 'enforce');
  const detected = denied.filter((r) => r.enforcement === 'detect');
  // Detection for the whole request (global or namespace) never blocks, not even for a failed alert.
  const neverBlocks = features.detectionMode || ctx.namespaceMode === 'detect';
  const warnings: string[] = detected.map((d) => `${detectionPrefix(d.enforcementSource!)}: would deny ${describeDenial(d)}`);
  // An image admitted with reservations (e.g. a Notation check its verification level only logs) says so once, on the
  // mutating pass.
  if (phase === 'mutate') warnings.push(...results.flatMap(admittedWithReservations));
  let message: string;
  let allowed: boolean;
  if (blocking.length > 0) {
    message = `Imprimatur denied ${where}: ${joinBounded(blocking.map(describeDenial), MAX_DENIAL_REASONS)}`;
    allowed = false;
  } else if (detected.length > 0) {
    message = `Imprimatur would deny ${where}: ${joinBounded(detected.map(describeDenial), MAX_DENIAL_REASONS)}`;
    allowed = true;
  } else {
    allowed = true;
    message = `Imprimatur admitted ${where}: ${results.length} image(s) verified or approved`;
  }

  const event: AdmissionEvent = {
    uid: req.uid,
    // The policy's verdict picks the receivers: detection's would-be denials go to rejectRequest (as in Connaisseur),
    // whichever level (global, namespace, rule) put them in detection.
    decision: denied.length > 0 ? 'reject' : 'admit',
    admitted: allowed,
    detectionMode: allowed && denied.length > 0,
    dryRun: req.dryRun === true,
    operation: req.operation,
    kind,
    namespace: req.namespace ?? '',
    name: req.name || objectName(req.object) || '',
    user: req.userInfo?.username ?? '',
    message,
    results,
    warnings,
    timestamp: now(),
    phase,
  };

  // The validating pass sees the objects the mutating pass already reported on: it only reports denials.
  if (ctx.alerts && (phase === 'mutate' || denied.length > 0)) {
    const { blockingFailures } = await ctx.alerts.dispatch(event, signal);
    if (blockingFailures.length > 0) {
      const text = `alert could not be sent to ${blockingFailures.join(', ')} (failIfAlertSendingFails is set)`;
      if (allowed && !neverBlocks && !event.detectionMode) {
        allowed = false;
        message = `Imprimatur denied ${where}: ${text}`;
        event.decision = 'reject';
        event.admitted = false;
        event.message = message;
      } else if (allowed) {
        warnings.push(`detection mode: ${text}`);
      }
    }
  }

  const response: AdmissionResponse = allowed ? allow(req.uid, warnings) : { uid: req.uid, allowed: false, status: { code: 403, reason: 'Forbidden', message } };
  if (allowed && phase === 'mutate') {
    const ops = mutations(ctx, req, containers, results, denied.length === 0);
    if (ops.length > 0) {
      response.patchType = 'JSONPatch';
      response.patch = Buffer.from(JSON.stringify(ops)).toString('base64');
    }
  }

  logDecision(ctx, req, phase, response, results, started, !allowed || denied.length > 0 ? message : undefined);
  return { response, event, phase };
}

/** The one log line of every decision: who, what, the outcome, each image (or why none was validated). */
function logDecision(
  ctx: HandlerContext,
  req: AdmissionRequest,
  phase: AdmissionPhase,
  response: AdmissionResponse,
  results: ImageDecision[],
  started: number,
  reason: string | undefined,
): void {
  ctx.logger.info(
    {
      uid: req.uid, phase, namespace: req.namespace ?? '', kind: req.kind.kind, name: req.name || objectName(req.object) || '', operation: req.operation,
      user: req.userInfo?.username ?? '',
      outcome: response.allowed ? (response.warnings?.length ? 'warned' : 'admitted') : 'denied',
      ...(response.allowed && results.some((r) => r.outcome === 'denied') ? { detectionMode: true } : {}),
      ...(reason !== undefined ? { reason } : {}),
      validated: results.some((r) => r.outcome !== 'skipped'),
      // Which enforcement applied: the namespace's mode (the webhook entry that sent the request) and, per image,
      // the resolved enforcement and the setting that decided it (global, namespace, rule, default).
      namespaceMode: ctx.namespaceMode ?? 'enforce',
      images: results.map((r) => ({
        image: r.image, rule: r.rule, validator: r.validator, outcome: r.outcome, reason: r.reason, digest: r.digest,
        skippedBecause: r.skippedBecause, enforcement: r.enforcement, enforcementSource: r.enforcementSource,
      })),
      durationMs: Date.now() - started,
    },
    'admission decision',
  );
}

function containerListName(kind: string): string {
  if (kind === 'EphemeralContainers') return 'ephemeralContainers';
  return kind === 'Pod' ? 'spec.containers' : kind === 'CronJob' ? 'spec.jobTemplate.spec.template.spec.containers' : 'spec.template.spec.containers';
}

/** Longest list of per-image reasons in a denial; the rest are counted (every image is in the log and the alerts). */
const MAX_DENIAL_REASONS = 4000;

function joinBounded(parts: string[], max: number): string {
  let text = '';
  for (let i = 0; i < parts.length; i++) {
    const next = text ? `${text}; ${parts[i]}` : parts[i]!;
    if (next.length > max && text) return `${text}; and ${parts.length - i} more denied image(s) (see the webhook's log)`;
    text = next;
  }
  return text;
}

/**
 * The patch of an admitted object: verified tags pinned to their digests, and — on a controller whose every image was
 * admitted without a denial — an owner proof for the images Imprimatur verified (or, on any other controller, the
 * removal of a proof it carries).
 */
function mutations(ctx: HandlerContext, req: AdmissionRequest, containers: ContainerImage[], results: ImageDecision[], noDenial: boolean): JsonPatchOp[] {
  const digests = new Map<string, string>();
  for (const r of results) {
    if (r.outcome === 'admitted' && r.digest && r.mode === 'mutate') digests.set(r.image, r.digest);
  }
  const ops = digestPatch(containers, digests);
  const kind = req.kind.kind;
  const group = OWNER_GROUPS[kind];
  if (!ctx.proofs || group === undefined || (req.kind.group ?? '') !== group) return ops;

  // What the object holds once patched, and which of those images Imprimatur verified itself (or, for a
  // ReplicaSet/Job, its own owner's proof vouched for): only digest-pinned references to the verified digest.
  const final = containers.map((c) => (digests.has(c.image) ? pinnedImage(c.image, digests.get(c.image)!) : c.image));
  const verified = new Set<string>();
  for (const r of results) {
    if (r.outcome === 'admitted' && r.digest && r.image.endsWith(`@${r.digest}`)) verified.add(r.image);
    else if (r.outcome === 'admitted' && r.digest && r.mode === 'mutate' && !r.image.includes('@')) verified.add(pinnedImage(r.image, r.digest));
    else if (r.outcome === 'skipped' && r.skippedBecause === 'child') verified.add(r.image);
  }
  const name = req.name || objectName(req.object);
  const key = proofAnnotation(kind);
  const set: Record<string, string> = {};
  const deleting = hasDeletionTimestamp(req.oldObject) || hasDeletionTimestamp(req.object);
  if (noDenial && !deleting && name && req.namespace && verified.size > 0) {
    set[key] = ctx.proofs.issue({ namespace: req.namespace, group, kind, name, generation: ctx.engine.generation, images: final, verified: [...verified] });
  }
  return [...ops, ...annotationPatch(req.object, set, [key, ...foreignProofAnnotations(kind)])];
}

/**
 * In the validating pass, an image verified under a `mutate` rule must be digest-pinned: if it is not, a webhook that ran
 * after Imprimatur's mutating webhook added or changed it, and the runtime would pull the tag, not what was verified.
 */
function requirePinned(r: ImageDecision): ImageDecision {
  if (r.outcome !== 'admitted' || r.mode !== 'mutate' || !r.digest || r.image.includes('@')) return r;
  return {
    ...r,
    outcome: 'denied',
    code: 'NOT_PINNED',
    reason: `verified as ${r.digest}, but not pinned to it: a webhook that ran after Imprimatur's mutating webhook added or changed this image, so the runtime would pull the tag, not what was verified; pin it by digest or let Imprimatur be reinvoked (webhook reinvocationPolicy: IfNeeded)`,
  };
}

const UNCHANGED = { because: 'unchanged', reason: 'image unchanged since the previous version of the object' } as const;

function describeDenial(d: ImageDecision): string {
  const where = d.rule ? ` (rule "${d.rule}", validator "${d.validator}")` : '';
  return `image "${d.image}"${where}: ${d.reason}`;
}

function hasDeletionTimestamp(obj: Record<string, unknown> | null | undefined): boolean {
  const meta = obj?.metadata as Record<string, unknown> | undefined;
  return typeof meta?.deletionTimestamp === 'string' && meta.deletionTimestamp !== '';
}

function objectName(obj: Record<string, unknown> | null | undefined): string | undefined {
  const meta = obj?.metadata as Record<string, unknown> | undefined;
  return typeof meta?.name === 'string' ? meta.name : undefined;
}

/** True when every image of `object` already appears in `old` (both readable). */
function imagesUnchanged(kind: string, object: Record<string, unknown> | null | undefined, old: Record<string, unknown> | null | undefined): boolean {
  try {
    const before = new Set(containerImages(kind, old).map((c) => c.image));
    return containerImages(kind, object).every((c) => before.has(c.image));
  } catch {
    return false;
  }
}

function previousImages(kind: string, old: Record<string, unknown> | null | undefined): Set<string> {
  try {
    return new Set(containerImages(kind, old).map((c) => c.image));
  } catch {
    return new Set();
  }
}

/** The validator's warnings for an admitted image (`details.warnings`, e.g. logged Notation checks), naming the image. */
function admittedWithReservations(d: ImageDecision): string[] {
  const list = d.outcome === 'admitted' ? d.details?.warnings : undefined;
  return Array.isArray(list) ? list.filter((w): w is string => typeof w === 'string').map((w) => `image "${d.image}": ${w}`) : [];
}
