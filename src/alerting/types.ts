/** Typed view of the `alerting` section after validation and defaults (see schema.ts for the document form). */

export type AlertDecision = 'admit' | 'reject';

/** What happened to one alert for one receiver; passed to the `onOutcome` hook (metrics). */
export type AlertOutcome = 'sent' | 'failed' | 'dropped' | 'suppressed' | 'empty';

export type OutcomeHook = (receiver: string, outcome: AlertOutcome) => void;

/** One parsed `customHeaders` line, with `${VAR}` references already expanded. The value is secret: never log it. */
export interface AlertHeader {
  name: string;
  value: string;
}

export interface ReceiverConfig {
  /** Stable, log- and metrics-safe name: `name` from the document, else the document path (`rejectRequest.receivers[0]`). */
  name: string;
  /** Path of the receiver in the document, e.g. `alerting.rejectRequest.receivers[0]`. */
  path: string;
  decision: AlertDecision;
  template: string;
  /** Absolute path of the template file that was found. */
  templateFile: string;
  receiverUrl: string;
  /** `scheme://host[:port]` of receiverUrl: the only part of the URL that is logged (paths can hold secrets, e.g. Slack webhooks). */
  receiverOrigin: string;
  priority: number;
  headers: AlertHeader[];
  payloadFields?: Record<string, unknown>;
  failIfAlertSendingFails: boolean;
  /** 0 = no deduplication. */
  dedupeSeconds: number;
}

export interface AlertingConfig {
  clusterIdentifier: string;
  /** Directories searched for `<template>.json.hbs` / `<template>.json`, in order (the user's templateDirectory first). */
  templateDirs: string[];
  receivers: ReceiverConfig[];
}

/** One image of the request as seen by templates (`{{#each results}}`). Absent values are null. */
export interface AlertImageResult {
  image: string;
  rule: string | null;
  validator: string | null;
  outcome: string;
  reason: string;
  digest: string | null;
  /** Required attestations (cosign rule option `attestations`), in rule order; empty when the rule has none or they were not reached. */
  attestations: AlertAttestationResult[];
}

/** One required attestation of an image as seen by templates. Absent values are null. */
export interface AlertAttestationResult {
  predicateType: string;
  satisfied: boolean;
  /** `ATTESTATION_MISSING`, `ATTESTATION_SIGNATURE_INVALID`, `ATTESTATION_POLICY_FAILED`, or null when satisfied. */
  code: string | null;
  /** One line: found or not, signature verified or not, policy true or false (with the expression). */
  summary: string;
  found: number | null;
  /** Trust roots that verified an attestation of this type. */
  verifiedBy: string[];
  /** The CEL policy, and what it gave: `true`, `false`, `error`, `not evaluated`. */
  policy: string | null;
  policyResult: string | null;
}

/** Everything a template can use. Documented in docs/alerting.md (keep both in sync). */
export interface AlertVariables {
  alert_message: string;
  message: string;
  priority: number;
  priority_name: string;
  pod_id: string;
  connaisseur_pod_id: string;
  cluster: string;
  namespace: string;
  request_id: string;
  images: string;
  image_list: string[];
  timestamp: string;
  /** The policy's verdict; `reject` also for detection mode's would-be denials (they go to rejectRequest receivers). */
  decision: AlertDecision;
  /** What the API server was told. */
  admitted: boolean;
  /** The request was admitted only because detection mode is on (decision `reject`, admitted `true`). */
  detection_mode: boolean;
  /** The request was a dry run (`--dry-run=server`): nothing was created or changed. */
  dry_run: boolean;
  operation: string;
  kind: string;
  name: string;
  user: string;
  results: AlertImageResult[];
  suppressed_count: number;
  receiver: string;
}
