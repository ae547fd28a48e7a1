/**
 * Verifying the signature of a signed X.509 structure (a CMS signer's attributes, an OCSP response, a CRL) by its
 * signature algorithm identifier: RSA PKCS#1 v1.5, RSASSA-PSS and ECDSA (DER signature) with SHA-2.
 */
import { constants, verify, type KeyObject } from 'node:crypto';

const SIGNATURES: Record<string, { hash?: string; scheme: 'rsa' | 'pss' | 'ecdsa' }> = {
  '1.2.840.113549.1.1.1': { scheme: 'rsa' },
  '1.2.840.113549.1.1.11': { hash: 'sha256', scheme: 'rsa' },
  '1.2.840.113549.1.1.12': { hash: 'sha384', scheme: 'rsa' },
  '1.2.840.113549.1.1.13': { hash: 'sha512', scheme: 'rsa' },
  '1.2.840.113549.1.1.10': { scheme: 'pss' },
  '1.2.840.10045.4.3.2': { hash: 'sha256', scheme: 'ecdsa' },
  '1.2.840.10045.4.3.3': { hash: 'sha384', scheme: 'ecdsa' },
  '1.2.840.10045.4.3.4': { hash: 'sha512', scheme: 'ecdsa' },
};

/** Hash algorithm OIDs (SHA-2) → Node's names. */
export const HASH_ALGORITHMS: Record<string, string> = {
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

/** Whether the signature algorithm is one this module verifies. */
export function isSupportedSignatureAlgorithm(oid: string): boolean {
  return oid in SIGNATURES;
}

/**
 * Verifies `signature` over `data` with `key` by the algorithm `oid`. `hashForBareRsa`: the hash of algorithms that
 * do not name one (rsaEncryption, RSASSA-PSS without parameters read: CMS takes the digest algorithm's). Returns
 * false for a signature that does not verify; throws Error for an unsupported algorithm.
 */
export function verifySigned(oid: string, key: KeyObject, data: Buffer, signature: Buffer, hashForBareRsa = 'sha256'): boolean {
  const spec = SIGNATURES[oid];
  if (!spec) throw new Error(`signature algorithm ${oid} is not supported`);
  const hash = spec.hash ?? hashForBareRsa;
  try {
    if (spec.scheme === 'ecdsa') return verify(hash, data, { key, dsaEncoding: 'der' }, signature);
    if (spec.scheme === 'pss') return verify(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, signature);
    return verify(hash, data, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
  } catch {
    return false; // a key of the wrong type for the algorithm, a malformed signature
  }
}
