import type { ImageReference } from '../image/types.js';
import type { RuleOptions, ValidatorConfig } from '../config/types.js';
import type { ConfigProblem } from '../errors.js';
import type { Logger } from '../log.js';
import type { RequestBytes } from '../registry/byte-budget.js';

/** Per-request context handed to a validator. */
export interface ValidationContext {
  /** Aborted when the admission deadline passes; pass it to every network call. */
  signal: AbortSignal;
  /** Absolute deadline (ms since epoch). */
  deadline: number;
  logger: Logger;
  /** Clock; injectable for expiry tests. */
  now: () => Date;
  /**
   * The admission request's share of the process's byte budget (src/registry/byte-budget.ts). The engine reserves
   * registry data against it through the `signal` it hands the validator: pass that signal itself to the registry
   * client (a derived signal still works, but its data is then only bounded per call).
   */
  bytes?: RequestBytes;
}

/**
 * What a validator found, for logs, `imprimatur explain` and alert templates.
 * `summary` is one human sentence; `trustRoots` lists, per trust root, what was tried and found.
 */
export interface VerificationRecord {
  summary: string;
  trustRoots?: Array<{ name: string; verified: boolean; found?: string; reason?: string; [key: string]: unknown }>;
  /**
   * Reservations about an admitted image (one sentence each): shown to the user as admission warnings and sent with
   * the alerts, e.g. Notation checks that the rule's verification level only logs.
   */
  warnings?: string[];
  /** Required attestations (rule option `attestations`), one entry each, in rule order. */
  attestations?: AttestationOutcome[];
  [key: string]: unknown;
}

/** What became of one required attestation (metrics, alerts, explain). */
export interface AttestationOutcome {
  /** Predicate type URI. */
  predicateType: string;
  satisfied: boolean;
  /** Why not, as a stable code (`ATTESTATION_MISSING`, `ATTESTATION_SIGNATURE_INVALID`, `ATTESTATION_POLICY_FAILED`). */
  code?: string;
  /** One line: found or not, signature verified or not, policy true or false (with the expression). */
  summary: string;
  [key: string]: unknown;
}

/** Successful validation. Signature validators return the verified digest (`sha256:…`). */
export interface ValidationOutcome {
  digest?: string;
  details: VerificationRecord;
}

/**
 * A configured validator instance. `validate` resolves on success and throws an
 * ImprimaturError (code + human sentence, and optional `details.record: VerificationRecord`)
 * when the image must be denied.
 */
export interface Validator {
  readonly name: string;
  readonly type: string;
  /** Whether results may be cached (false for static validators). */
  readonly cacheable: boolean;
  /**
   * False for validators that decide from configuration alone (static): their decision is always taken, never
   * skipped by automatic unchanged approval. Default true (the validator verifies signatures or attestations).
   */
  readonly verifiesSignatures?: boolean;
  validate(image: ImageReference, options: RuleOptions, ctx: ValidationContext): Promise<ValidationOutcome>;
  /** Releases connections etc. on config reload / shutdown. */
  close?(): Promise<void>;
}

/** Everything a validator type may need when it is created from config (at load time). */
export interface ValidatorEnvironment {
  /** Path of this validator in the document, e.g. `application.validators[2]`. */
  path: string;
  /** Config file path (for messages). */
  file: string;
  /** Registries allowed over plain HTTP (`host:port`). */
  insecureRegistries: string[];
  /** Directory holding mounted dockerconfigjson secrets: `<dir>/<secretName>/.dockerconfigjson`. */
  secretsDir: string;
  logger: Logger;
}

/** A kind of validator (`static`, `cosign`, `notaryv1`, …). Adding one touches one folder + one line in src/validators/index.ts. */
export interface ValidatorType {
  readonly type: string;
  /** JSON Schema of one `validators[]` entry of this type (including `name` and `type`). Unknown keys must be rejected. */
  readonly configSchema: Record<string, unknown>;
  /** JSON Schema properties this type accepts in a policy rule's `with` block (besides trustRoot and mode). */
  readonly ruleOptionsSchema?: Record<string, unknown>;
  /**
   * Load-time checks beyond the schema (parse keys, compile regexes, …).
   * Returns problems with paths below `env.path`; an empty list means valid.
   */
  check?(config: ValidatorConfig, env: ValidatorEnvironment): ConfigProblem[];
  /**
   * Load-time warnings for a valid config (it loads, but a word is due, e.g. a trust root that accepts any signer).
   * Paths below `env.path`. check-config and explain print them; serve logs them once per loaded config.
   */
  warnings?(config: ValidatorConfig, env: ValidatorEnvironment): ConfigProblem[];
  /** Load-time checks for a rule's `with` block against this validator's config. `path` is e.g. `application.policy[1].with`. */
  checkRuleOptions?(options: RuleOptions, config: ValidatorConfig, path: string): ConfigProblem[];
  create(config: ValidatorConfig, env: ValidatorEnvironment): Validator;
}
