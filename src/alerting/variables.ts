/** Template variables for one admission event and one receiver (documented in docs/alerting.md). */
import type { AdmissionEvent } from '../admission/types.js';
import type { AttestationOutcome } from '../validators/types.js';
import type { AlertAttestationResult, AlertImageResult, AlertVariables } from './types.js';

/** Syslog / Falco severity names by priority 0–7 (Sysdig wants the name). */
const PRIORITY_NAMES = ['emergency', 'alert', 'critical', 'error', 'warning', 'notice', 'informational', 'debug'];

export function priorityName(priority: number): string {
  return PRIORITY_NAMES[Math.min(Math.max(Math.trunc(priority), 0), PRIORITY_NAMES.length - 1)]!;
}

/** Distinct images of the request in request order. */
export function eventImages(event: AdmissionEvent): string[] {
  return [...new Set(event.results.map((r) => r.image))];
}

export function alertMessage(event: AdmissionEvent, suppressedCount: number, dedupeSeconds: number): string {
  let text: string;
  if (event.detectionMode) {
    text = 'Imprimatur would reject a request (detection mode: it was admitted with a warning)';
  } else if (event.decision === 'reject') {
    text = 'Imprimatur rejected a request';
  } else {
    text = 'Imprimatur admitted a request';
  }
  if (event.dryRun) text += ' (dry run: nothing was created or changed)';
  if (event.message) text += `: ${event.message}`;
  if (suppressedCount > 0) {
    text += ` (${suppressedCount} identical alert${suppressedCount === 1 ? '' : 's'} suppressed in the previous ${dedupeSeconds}s)`;
  }
  return text;
}

export interface VariableContext {
  cluster: string;
  podId: string;
  priority: number;
  receiver: string;
  suppressedCount: number;
  dedupeSeconds: number;
}

/** The attestation entries of a verification record (validator-independent fields only). */
function attestationResults(value: unknown): AlertAttestationResult[] {
  if (!Array.isArray(value)) return [];
  return (value as AttestationOutcome[]).map((a) => {
    const policy = a.policy && typeof a.policy === 'object' ? (a.policy as { expression?: unknown; result?: unknown }) : undefined;
    return {
      predicateType: String(a.predicateType),
      satisfied: a.satisfied === true,
      code: typeof a.code === 'string' ? a.code : null,
      summary: String(a.summary),
      found: typeof a.found === 'number' ? a.found : null,
      verifiedBy: Array.isArray(a.verifiedBy) ? a.verifiedBy.map(String) : [],
      policy: typeof policy?.expression === 'string' ? policy.expression : null,
      policyResult: typeof policy?.result === 'string' ? policy.result : null,
    };
  });
}

export function buildVariables(event: AdmissionEvent, ctx: VariableContext): AlertVariables {
  const imageList = eventImages(event);
  const results: AlertImageResult[] = event.results.map((r) => ({
    image: r.image,
    rule: r.rule ?? null,
    validator: r.validator ?? null,
    outcome: r.outcome,
    reason: r.reason,
    digest: r.digest ?? null,
    attestations: attestationResults(r.details?.attestations),
  }));
  return {
    alert_message: alertMessage(event, ctx.suppressedCount, ctx.dedupeSeconds),
    message: event.message,
    priority: ctx.priority,
    priority_name: priorityName(ctx.priority),
    pod_id: ctx.podId,
    connaisseur_pod_id: ctx.podId,
    cluster: ctx.cluster,
    namespace: event.namespace,
    request_id: event.uid,
    images: imageList.join(', '),
    image_list: imageList,
    timestamp: event.timestamp.toISOString(),
    decision: event.decision,
    admitted: event.admitted,
    detection_mode: event.detectionMode,
    dry_run: event.dryRun,
    operation: event.operation,
    kind: event.kind,
    name: event.name,
    user: event.user,
    results,
    suppressed_count: ctx.suppressedCount,
    receiver: ctx.receiver,
  };
}
