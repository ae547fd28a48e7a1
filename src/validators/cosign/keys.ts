/**
 * Public keys of key-based trust roots: parsing (at load time) and signature verification with the
 * schemes cosign uses for each key type.
 */
import { createPublicKey, constants, verify, type KeyObject } from 'node:crypto';

export type KeyAlgorithm = 'ecdsa-p256' | 'ecdsa-p384' | 'rsa' | 'ed25519';

export interface TrustedKey {
  algorithm: KeyAlgorithm;
  key: KeyObject;
  /** DER SubjectPublicKeyInfo (what a Sigstore bundle's trust material holds). */
  spki: Buffer;
  /** Human description for records, e.g. `ECDSA P-256`, `RSA 3072`. */
  description: string;
}

export type KeyParseResult = { ok: true; key: TrustedKey } | { ok: false; message: string };

const CURVES: Record<string, { algorithm: KeyAlgorithm; description: string }> = {
  prime256v1: { algorithm: 'ecdsa-p256', description: 'ECDSA P-256' },
  secp384r1: { algorithm: 'ecdsa-p384', description: 'ECDSA P-384' },
};

const MIN_RSA_BITS = 2048;

/** Parses a PEM `PUBLIC KEY` (cosign.pub). Private keys, certificates and weak keys are refused. */
export function parsePublicKey(pem: string): KeyParseResult {
  const text = pem.trim();
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    return { ok: false, message: 'is a private key; paste the public key (the cosign.pub file) instead, and treat this private key as leaked' };
  }
  if (!text.startsWith('-----BEGIN PUBLIC KEY-----') || !text.endsWith('-----END PUBLIC KEY-----')) {
    return { ok: false, message: 'is not a PEM public key; expected a block from "-----BEGIN PUBLIC KEY-----" to "-----END PUBLIC KEY-----" (the cosign.pub file)' };
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: text, format: 'pem' });
  } catch (err) {
    return { ok: false, message: `cannot be parsed as a PEM public key (${(err as Error).message}); paste the cosign.pub file unchanged` };
  }
  const spki = key.export({ type: 'spki', format: 'der' });
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve ?? 'unknown';
      const known = CURVES[curve];
      if (!known) return { ok: false, message: `uses the unsupported elliptic curve ${curve}; use an ECDSA P-256 or P-384, RSA (2048 bits or more) or Ed25519 key` };
      return { ok: true, key: { ...known, key, spki } };
    }
    case 'rsa': {
      const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
      if (bits < MIN_RSA_BITS) return { ok: false, message: `is an RSA key of ${bits} bits, which is too weak; use an RSA key of at least ${MIN_RSA_BITS} bits` };
      return { ok: true, key: { algorithm: 'rsa', key, spki, description: `RSA ${bits}` } };
    }
    case 'ed25519':
      return { ok: true, key: { algorithm: 'ed25519', key, spki, description: 'Ed25519' } };
    default:
      return { ok: false, message: `is a ${key.asymmetricKeyType ?? 'unknown'} key, which cosign signatures do not use; use an ECDSA P-256 or P-384, RSA (2048 bits or more) or Ed25519 key` };
  }
}

interface Scheme {
  name: string;
  check(data: Buffer, key: KeyObject, signature: Buffer): boolean;
}

const ecdsa = (hash: string): Scheme => ({
  name: `ecdsa-${hash}`,
  check: (data, key, sig) => verify(hash, data, { key, dsaEncoding: 'der' }, sig),
});

/**
 * The schemes cosign (sigstore/sigstore `LoadVerifier`) signs with per key type:
 * ECDSA with ASN.1 DER signatures over SHA-256 (P-384 keys: SHA-384 by newer releases, SHA-256 by
 * older ones), RSA PKCS#1 v1.5 or PSS with SHA-256, and pure Ed25519.
 */
const SCHEMES: Record<KeyAlgorithm, Scheme[]> = {
  'ecdsa-p256': [ecdsa('sha256')],
  'ecdsa-p384': [ecdsa('sha384'), ecdsa('sha256')],
  rsa: [
    { name: 'rsa-pkcs1v15-sha256', check: (d, key, s) => verify('sha256', d, { key, padding: constants.RSA_PKCS1_PADDING }, s) },
    { name: 'rsa-pss-sha256', check: (d, key, s) => verify('sha256', d, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, s) },
  ],
  ed25519: [{ name: 'ed25519', check: (d, key, s) => verify(null, d, key, s) }],
};

/** Verifies `signature` over `data`; returns the scheme that matched, or undefined. Never throws. */
export function verifyWithKey(trusted: TrustedKey, data: Buffer, signature: Buffer): string | undefined {
  for (const scheme of SCHEMES[trusted.algorithm]) {
    try {
      if (scheme.check(data, trusted.key, signature)) return scheme.name;
    } catch {
      // malformed signature bytes: not a match
    }
  }
  return undefined;
}
