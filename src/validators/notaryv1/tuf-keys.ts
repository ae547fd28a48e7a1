import { createHash, createPublicKey, constants, verify, X509Certificate, type KeyObject } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';

/** A key as it appears in TUF metadata (`keys` of root.json or of a delegating targets role). */
export interface TufKey {
  keytype: string;
  keyval: { public: string; private?: unknown };
}

/** A TUF key turned into a usable public key. */
export interface ParsedTufKey {
  id: string;
  keytype: string;
  /** `ec`, `rsa` or `ed25519`. */
  kind: 'ec' | 'rsa' | 'ed25519';
  publicKey: KeyObject;
}

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
/** Upper bound on one encoded key (a certificate with a 4096-bit RSA key is ~2 KiB). */
const MAX_KEY_CHARS = 16 * 1024;

/** Key id as TUF/Notary computes it: sha256 of the canonical JSON of the key with `private: null`. */
export function tufKeyId(key: TufKey): string {
  return createHash('sha256')
    .update(canonicalJson({ keytype: key.keytype, keyval: { private: null, public: key.keyval.public } }))
    .digest('hex');
}

/** Parses one TUF key (`ecdsa`, `ecdsa-x509`, `rsa`, `rsa-x509`, `ed25519`). Throws a TypeError with a reason. */
export function parseTufKey(key: TufKey): ParsedTufKey {
  if (typeof key.keyval?.public !== 'string' || key.keyval.public.length > MAX_KEY_CHARS) {
    throw new TypeError('key has no usable public value');
  }
  const raw = Buffer.from(key.keyval.public, 'base64');
  let publicKey: KeyObject;
  switch (key.keytype) {
    case 'ecdsa':
    case 'rsa':
      publicKey = createPublicKey({ key: raw, format: 'der', type: 'spki' });
      break;
    case 'ecdsa-x509':
    case 'rsa-x509':
      publicKey = new X509Certificate(raw).publicKey;
      break;
    case 'ed25519':
      if (raw.length !== 32) throw new TypeError('ed25519 key is not 32 bytes');
      publicKey = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
      break;
    default:
      throw new TypeError(`unsupported key type "${key.keytype}"`);
  }
  const kind = publicKey.asymmetricKeyType;
  const expected = key.keytype.startsWith('ecdsa') ? 'ec' : key.keytype.startsWith('rsa') ? 'rsa' : 'ed25519';
  if (kind !== expected) throw new TypeError(`key type "${key.keytype}" holds a ${kind ?? 'unknown'} key`);
  return { id: tufKeyId(key), keytype: key.keytype, kind: expected, publicKey };
}

/** Whether two public keys are the same key (compared as DER SubjectPublicKeyInfo). */
export function samePublicKey(a: KeyObject, b: KeyObject): boolean {
  return a.export({ format: 'der', type: 'spki' }).equals(b.export({ format: 'der', type: 'spki' }));
}

/**
 * Verifies one signature over `message` (canonical JSON bytes). Methods: `ecdsa` (raw r‖s over
 * sha256), `rsapss` (sha256, salt length = hash length), `eddsa` (Ed25519). The method must fit the key.
 */
export function verifySignature(key: ParsedTufKey, method: string, message: Buffer, signature: Buffer): boolean {
  try {
    switch (method) {
      case 'ecdsa':
        return key.kind === 'ec' && verify('sha256', message, { key: key.publicKey, dsaEncoding: 'ieee-p1363' }, signature);
      case 'rsapss':
        return (
          key.kind === 'rsa' &&
          verify('sha256', message, { key: key.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, signature)
        );
      case 'eddsa':
        return key.kind === 'ed25519' && verify(null, message, key.publicKey, signature);
      default:
        return false;
    }
  } catch {
    return false;
  }
}
