import { ImprimaturError } from '../../errors.js';

/** Error codes of the notaryv1 validator (every denial carries one of them). */
export const NOTARY_ERRORS = {
  noTrustData: 'NOTARY_NO_TRUST_DATA',
  rootUntrusted: 'NOTARY_ROOT_UNTRUSTED',
  badSignature: 'NOTARY_BAD_SIGNATURE',
  expired: 'NOTARY_EXPIRED',
  inconsistent: 'NOTARY_INCONSISTENT_METADATA',
  badMetadata: 'NOTARY_BAD_METADATA',
  tagNotSigned: 'NOTARY_TAG_NOT_SIGNED',
  delegationMissing: 'NOTARY_DELEGATION_MISSING',
  digestMismatch: 'NOTARY_DIGEST_MISMATCH',
  conflictingDigests: 'NOTARY_CONFLICTING_DIGESTS',
  unreachable: 'NOTARY_UNREACHABLE',
  timeout: 'NOTARY_TIMEOUT',
  unauthorized: 'NOTARY_UNAUTHORIZED',
  tooLarge: 'NOTARY_RESPONSE_TOO_LARGE',
  trustRootUnknown: 'NOTARY_TRUST_ROOT_UNKNOWN',
} as const;

export type NotaryErrorCode = (typeof NOTARY_ERRORS)[keyof typeof NOTARY_ERRORS];

export function notaryError(code: NotaryErrorCode, message: string, details?: Record<string, unknown>, cause?: unknown): ImprimaturError {
  return new ImprimaturError(code, message, details, cause === undefined ? undefined : { cause });
}
