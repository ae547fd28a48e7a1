/**
 * The VerificationRecord of a notation validation (for logs, `imprimatur explain` and alerts): the
 * level in force, what was found, and per trust root what each signature passed or failed, by check.
 */
import type { VerificationRecord } from '../types.js';
import type { Check } from './levels.js';
import type { CheckResult, CheckStatus } from './verify-signature.js';

export interface SignatureAttempt {
  /** e.g. `sha256:1234abcd… (JWS)`. */
  signature: string;
  verified: boolean;
  signer?: string;
  /** The enforced check that failed. */
  check?: string;
  reason?: string;
  hint?: string;
  /** Failures the level only logs. */
  logged?: Array<{ check: string; reason: string }>;
  /** Each check, in the Notary Project's order: passed, failed (enforced), logged (failed, only logged) or skipped. */
  checks?: Partial<Record<Check, CheckStatus>>;
  timestamp?: { genTime: string; tsa: string };
}

export interface NotationTrustRootRecord {
  name: string;
  verified: boolean;
  found: string;
  reason?: string;
  verifiedBy: string[];
  attempts: SignatureAttempt[];
  [key: string]: unknown;
}

export interface NotationRecord extends VerificationRecord {
  validator: string;
  image: string;
  digest?: string;
  verificationLevel: string;
  verifyTimestamp: string;
  actions?: Record<string, string>;
  policy?: { trustRoots: string[]; threshold: number; required: string[] };
  signatures?: { found: number; skipped: string[] };
  trustRoots: NotationTrustRootRecord[];
  /** Admitted although checks failed that the level only logs: one sentence per trust root (admission warnings). */
  warnings?: string[];
}

const STAGE = ['integrity', 'authenticity', 'expiry', 'authenticTimestamp', 'revocation'];

/** The failed attempt that got furthest through the checks (the most telling reason). */
export function bestFailure(attempts: SignatureAttempt[]): SignatureAttempt | undefined {
  const failed = attempts.filter((a) => !a.verified);
  return failed.sort((a, b) => STAGE.indexOf(b.check ?? '') - STAGE.indexOf(a.check ?? ''))[0];
}

export function describeAttempt(a: SignatureAttempt): string {
  const who = a.signer ? ` by "${a.signer}"` : '';
  return `signature ${a.signature}${who}: ${a.check ? `${a.check} check failed: ` : ''}${a.reason ?? 'not verified'}${a.hint ? ` (${a.hint})` : ''}`;
}

export function loggedResults(results: CheckResult[]): Array<{ check: string; reason: string }> {
  return results.map((r) => ({ check: r.check, reason: r.failure ?? '' }));
}
