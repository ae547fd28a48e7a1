/** Typed view of a loaded configuration. Raw validator sections are validated by each validator type. */
import type { ConfigProblem } from '../errors.js';

export type RuleMode = 'mutate' | 'insecureValidateOnly';

/** Staged enforcement of one rule: `detect` admits its failures with a warning and an alert (see src/admission/enforcement.ts). */
export type RuleEnforcement = 'enforce' | 'detect';

/** The `with` block of a policy rule, after defaults. Validator-specific keys stay in place. */
export interface RuleOptions {
  /** Trust root name, or `*` for all. Default `default`. */
  trustRoot: string;
  /** Digest pinning (Connaisseur's meaning): `mutate` pins tags to the verified digest, `insecureValidateOnly` never patches. */
  mode: RuleMode;
  /** Set only when the rule says so; unset means "enforce unless the namespace or the global switch says detect". */
  enforcement?: RuleEnforcement;
  [key: string]: unknown;
}

export interface PolicyRule {
  /** Pattern as written by the user. */
  pattern: string;
  /** Validator name (default `default`). */
  validator: string;
  with: RuleOptions;
  /** Position in the policy list and path in the document, for messages. */
  index: number;
  path: string;
}

/** One entry of `validators[]`; the type-specific keys are validated by the validator type. */
export interface ValidatorConfig {
  name: string;
  type: string;
  trustRoots?: Array<{ name: string; [key: string]: unknown }>;
  [key: string]: unknown;
}

export interface Features {
  detectionMode: boolean;
  automaticUnchangedApproval: boolean;
  automaticChildApproval: boolean;
  resourceValidationMode: 'all' | 'podsOnly';
  namespacedValidation: { mode: 'ignore' | 'validate' };
  cache: { expirySeconds: number; cacheErrors: boolean };
}

export interface Limits {
  imagesPerRequest: number;
  bytesPerRequest: number;
  bytesInFlight: number;
}

export interface AppConfig {
  /** Absolute path of the file the config was read from. */
  file: string;
  /** `application.` when the file is a Helm values file, `` for a bare application config. */
  prefix: string;
  validators: ValidatorConfig[];
  policy: PolicyRule[];
  features: Features;
  /** Registries (host[:port]) that may be reached over plain HTTP. */
  insecureRegistries: string[];
  /** Raw top-level `alerting` section (validated against the schema; interpreted by src/alerting). */
  alerting?: Record<string, unknown>;
  /** Log level from the config (Connaisseur's `logLevel`): debug, info, warn, error or fatal. */
  logLevel?: string;
  /** `json` (one line per entry) or `json-pretty` (Connaisseur's `logFormat`; indented, several lines per entry). */
  logFormat: 'json' | 'json-pretty';
  /**
   * Things that load but deserve a word: keys accepted for Connaisseur compatibility that have no effect here,
   * settings that only the pod can check (secrets, environment), rules that can never win. Printed by
   * check-config and logged once when the server loads the config.
   */
  warnings: ConfigProblem[];
  /** Admission deadline in milliseconds (below the webhook timeout). */
  requestTimeoutMs: number;
  /** Bounds against hostile registries and oversized requests (`limits:`), in images and bytes. */
  limits: Limits;
}
