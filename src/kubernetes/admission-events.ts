/** Which admission decisions become Kubernetes Events, and about which object. */
import type { HandledReview } from '../admission/handler.js';
import type { AdmissionReview } from '../admission/review.js';
import type { DenialEventInput, EventRecorder } from './events.js';
import type { Runtime } from '../server/runtime.js';

/**
 * A denial (by either pass) → `ImprimaturDenied`; a would-be denial admitted by detection (mutating pass) →
 * `ImprimaturWouldDeny`; anything else (admissions, dry runs, requests without a namespace) → none.
 */
export function denialEvent(result: HandledReview, review: AdmissionReview): DenialEventInput | undefined {
  const req = review.request;
  const event = result.event;
  if (!event || req.dryRun || !req.namespace || event.decision !== 'reject') return undefined;
  // The validating pass repeats the mutating pass's verdict; only its own denials (e.g. an image a later mutating
  // webhook injected) are news. A would-be denial was already recorded by the mutating pass.
  if (result.phase === 'validate' && event.admitted) return undefined;
  const meta = (req.object?.metadata ?? req.oldObject?.metadata ?? {}) as { name?: string; generateName?: string; uid?: string };
  const oldUid = (req.oldObject?.metadata as { uid?: string } | undefined)?.uid;
  const group = req.kind.group ?? '';
  const kind = req.kind.kind === 'EphemeralContainers' ? 'Pod' : req.kind.kind;
  return {
    object: {
      apiVersion: group ? `${group}/${req.kind.version ?? 'v1'}` : (req.kind.version ?? 'v1'),
      kind,
      namespace: req.namespace,
      name: req.name || meta.name || (meta.generateName ? `${meta.generateName}(generated)` : '(unnamed)'),
      // Only an UPDATE names an object that exists; a CREATE's uid would be the denied object's, never stored.
      ...(req.operation === 'UPDATE' && oldUid ? { uid: oldUid } : {}),
    },
    reason: event.admitted ? 'ImprimaturWouldDeny' : 'ImprimaturDenied',
    message: event.message,
  };
}

/** Records an Event for every denial the runtime decides (chained after any observer already installed). */
export function attachDenialEvents(runtime: Runtime, recorder: EventRecorder): void {
  const previous = runtime.onDecision;
  runtime.onDecision = (result, review) => {
    previous?.(result, review);
    const input = denialEvent(result, review);
    if (input) recorder.record(input);
  };
}
