/** Decisions produced by the admission handler; consumed by the HTTP layer, logs, alerting and metrics. */
import type { RuleEnforcement } from '../config/types.js';
import type { Enforcement, EnforcementSource } from './enforcement.js';

export type ImageOutcome = 'admitted' | 'denied' | 'skipped';

/** The decision for one distinct image of a request. */
export interface ImageDecision {
  /** The image as written in the workload. */
  image: string;
  /** Normalised reference (absent when the reference is invalid). */
  normalized?: string;
  /** Pattern of the winning policy rule. */
  rule?: string;
  /** Name of the validator the rule selected. */
  validator?: string;
  validatorType?: string;
  /** The rule's mode: `mutate` pins the verified digest, `insecureValidateOnly` never patches. */
  mode?: 'mutate' | 'insecureValidateOnly';
  /** The rule's own `with.enforcement`, when it sets one. */
  ruleEnforcement?: RuleEnforcement;
  /** What a failure of this image does after precedence (global → namespace → rule): block, or warn and alert. */
  enforcement?: Enforcement;
  /** Which setting decided `enforcement`. */
  enforcementSource?: EnforcementSource;
  outcome: ImageOutcome;
  /** Human sentence: why admitted / denied / skipped. */
  reason: string;
  /** Error code when denied (e.g. `NO_MATCHING_RULE`, `SIGNATURE_INVALID`). */
  code?: string;
  /** Verified digest (`sha256:…`) when a signature validator verified the image. */
  digest?: string;
  /** Why validation was skipped (`unchanged`, `child`, `cache`). */
  skippedBecause?: string;
  /** Validator's verification record (for explain / alerts). */
  details?: Record<string, unknown>;
}

/** Everything known about one AdmissionReview after deciding it. */
export interface AdmissionEvent {
  uid: string;
  /**
   * The policy's verdict: `reject` when the request is denied, or would be denied were detection mode off.
   * It picks the alert receivers (`admitRequest` / `rejectRequest`).
   */
  decision: 'admit' | 'reject';
  /** What the API server was told: true for every admission, including detection mode's would-be denials. */
  admitted: boolean;
  /** True when the verdict is `reject` but detection mode admitted the request (with a warning). */
  detectionMode: boolean;
  /**
   * The API server asked for a dry run (`kubectl … --dry-run=server`): nothing is persisted. Alerts still go out,
   * marked `dry_run`, so a probe shows what the SOC would receive; Kubernetes Events are not written.
   */
  dryRun: boolean;
  operation: string;
  kind: string;
  namespace: string;
  name: string;
  user: string;
  /** Human summary (the denial message, or a short admit sentence). */
  message: string;
  results: ImageDecision[];
  warnings: string[];
  timestamp: Date;
  /** Which webhook decided: the mutating one (`mutate`) or the validating re-check of the final object (`validate`). */
  phase?: 'mutate' | 'validate';
}

/** Outcome of sending alerts for one event (see src/alerting). */
export interface AlertDispatchResult {
  /** Receivers with failIfAlertSendingFails that could not be notified; non-empty → the request is denied. */
  blockingFailures: string[];
}

/** Implemented by src/alerting. The admission handler calls it once per decided request. */
export interface AlertDispatcher {
  /**
   * Queues alerts for the event. Resolves once every receiver with failIfAlertSendingFails=true for this
   * decision has been notified (or failed, or the signal aborted); never waits for the others.
   */
  dispatch(event: AdmissionEvent, signal: AbortSignal): Promise<AlertDispatchResult>;
  close(): Promise<void>;
}
