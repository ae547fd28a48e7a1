/** AdmissionReview → per-image decisions → allow / deny / allow-with-warning, JSONPatch and an event. */
import { setMaxListeners } from 'node:events';
import type { Logger } from '../log.js';
import type { Engine } from './engine.js';
import { detectionPrefix, resolveEnforcement, type NamespaceMode } from './enforcement.js';
import { digestPatch } from './patch.js';
import { clampWarning, type AdmissionRequest, type AdmissionResponse, type AdmissionReview } from './review.js';
import type { AdmissionEvent, AlertDispatcher, ImageDecision } from './types.js';
import { containerImages, isSupportedKind, WorkloadShapeError, type ContainerImage } from './workload.js';

export interface HandlerContext {
  engine: Engine;
  alerts?: AlertDispatcher;
  logger: Logger;
  now?: () => Date;
  /** Deadline override in ms (e.g. from the API server's `?timeout=`); the config's deadline is the upper bound. */
  deadlineMs?: number;
  /**
   * Images a child object may skip because its verified owner carries them (automatic child approval).
   * Returns the digest-pinned images the owner carries, or undefined to validate normally.
   */
  ownerImages?: (request: AdmissionRequest, signal: AbortSignal) => Promise<Set<string> | undefined>;
  /**
   * What the webhook entry that sent the request says about its namespace: `detect` for namespaces labelled
   * `imprimatur.dev/webhook=detect` (the chart registers a second entry for them, path `/mutate/detect`).
   */
  namespaceMode?: NamespaceMode;
}

export interface HandledReview {
  response: AdmissionResponse;
  event?: AdmissionEvent;
}

const allow = (uid: string, warnings: string[] = []): AdmissionResponse => ({ uid, allowed: true, ...(warnings.length ? { warnings: warnings.map((w) => clampWarning(w)) } : {}) });

export async function handleAdmissionReview(review: AdmissionReview, ctx: HandlerContext): Promise<HandledReview> {
  const started = Date.now();
  const req = review.request;
  const kind = req.kind.kind;
  const { features } = ctx.engine.config;
  const where = `${kind} ${req.namespace ? `${req.namespace}/` : ''}${req.name || objectName(req.object) || '(generated name)'}`;

  if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return { response: allow(req.uid) };
  if (req.operation === 'UPDATE' && hasDeletionTimestamp(req.oldObject)) return { response: allow(req.uid) };
  if (!isSupportedKind(kind)) {
    return { response: allow(req.uid, [`Imprimatur does not validate kind ${kind}; it was admitted unchanged`]) };
  }
  if (features.resourceValidationMode === 'podsOnly' && kind !== 'Pod' && kind !== 'EphemeralContainers') {
    return { response: allow(req.uid, [`Imprimatur validates only Pods (resourceValidationMode: podsOnly); ${where} was admitted unchanged`]) };
  }

  let containers: ContainerImage[];
  try {
    containers = containerImages(kind, req.object);
  } catch (err) {
    if (!(err instanceof WorkloadShapeError)) throw err;
    return { response: { uid: req.uid, allowed: false, status: { code: 400, message: `Imprimatur cannot read ${where}: ${err.message}` } } };
  }

  const deadlineMs = Math.min(ctx.engine.config.requestTimeoutMs, ctx.deadlineMs ?? Infinity);
  // One deadline for the whole request (a plain timer: cheaper than AbortSignal.timeout, and cleared when done).
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), Math.max(1, deadlineMs));
  try {
    return await decide(ctx, { req, containers, signal: deadline.signal, deadlineMs, where, started });
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
}

async function decide(ctx: HandlerContext, { req, containers, signal, deadlineMs, where, started }: RequestScope): Promise<HandledReview> {
  // Every image of the request (and coalesced verifications) listens to this one signal.
  setMaxListeners(100, signal);
  const kind = req.kind.kind;
  const { features } = ctx.engine.config;
  const now = ctx.now ?? (() => new Date());
  const distinct = [...new Set(containers.map((c) => c.image))];

  const unchanged = features.automaticUnchangedApproval && req.operation === 'UPDATE' ? previousImages(kind, req.oldObject) : new Set<string>();
  const owned = features.automaticChildApproval && ctx.ownerImages ? await ctx.ownerImages(req, signal).catch(() => undefined) : undefined;

  const decided: ImageDecision[] = await Promise.all(
    distinct.map(async (image): Promise<ImageDecision> => {
      if (unchanged.has(image)) return { image, outcome: 'skipped', skippedBecause: 'unchanged', reason: 'image unchanged since the previous version of the object' };
      if (owned?.has(image)) return { image, outcome: 'skipped', skippedBecause: 'child', reason: 'image verified on the owning controller' };
      const { decision } = await ctx.engine.check(image, { signal, deadline: Date.now() + deadlineMs, logger: ctx.logger, now });
      return decision;
    }),
  );
  // Staged enforcement, per image: global detection, then the namespace's mode, then the rule's.
  const results = decided.map((d): ImageDecision => {
    const { enforcement, source } = resolveEnforcement(features.detectionMode, ctx.namespaceMode, d.ruleEnforcement);
    return { ...d, enforcement, enforcementSource: source };
  });

  const denied = results.filter((r) => r.outcome === 'denied');
  const blocking = denied.filter((r) => r.enforcement === 'enforce');
  const detected = denied.filter((r) => r.enforcement === 'detect');
  // Detection for the whole request (global or namespace) never blocks, not even for a failed alert.
  const neverBlocks = features.detectionMode || ctx.namespaceMode === 'detect';
  const warnings: string[] = detected.map((d) => `${detectionPrefix(d.enforcementSource!)}: would deny ${describeDenial(d)}`);
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
    operation: req.operation,
    kind,
    namespace: req.namespace ?? '',
    name: req.name || objectName(req.object) || '',
    user: req.userInfo?.username ?? '',
    message,
    results,
    warnings,
    timestamp: now(),
  };

  if (ctx.alerts) {
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
  if (allowed) {
    const digests = new Map<string, string>();
    for (const r of results) {
      if (r.outcome === 'admitted' && r.digest && r.mode === 'mutate') digests.set(r.image, r.digest);
    }
    const ops = digestPatch(containers, digests);
    if (ops.length > 0) {
      response.patchType = 'JSONPatch';
      response.patch = Buffer.from(JSON.stringify(ops)).toString('base64');
    }
  }

  ctx.logger.info(
    {
      uid: req.uid, namespace: event.namespace, kind, name: event.name, operation: req.operation, user: event.user,
      outcome: allowed ? (warnings.length ? 'warned' : 'admitted') : 'denied',
      ...(event.detectionMode ? { detectionMode: true } : {}),
      // Which enforcement applied: the namespace's mode (the webhook entry that sent the request) and, per image,
      // the resolved enforcement and the setting that decided it (global, namespace, rule, default).
      namespaceMode: ctx.namespaceMode ?? 'enforce',
      images: results.map((r) => ({
        image: r.image, rule: r.rule, validator: r.validator, outcome: r.outcome, reason: r.reason, digest: r.digest,
        enforcement: r.enforcement, enforcementSource: r.enforcementSource,
      })),
      durationMs: Date.now() - started,
    },
    'admission decision',
  );
  return { response, event };
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

function previousImages(kind: string, old: Record<string, unknown> | null | undefined): Set<string> {
  try {
    return new Set(containerImages(kind, old).map((c) => c.image));
  } catch {
    return new Set();
  }
}
