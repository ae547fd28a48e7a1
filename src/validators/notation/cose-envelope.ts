/**
 * The COSE envelope: a COSE_Sign1_Tagged message (CBOR tag 18) whose protected header holds alg (1),
 * crit (2), content type (3) and the Notary attributes (times as tag-1 epoch dates), whose unprotected
 * header holds x5chain (33) and the timestamp countersignature, signed over the Sig_structure
 * ["Signature1", protected, h'', payload]. CBOR is read and written with cbor2.
 */
import { decode, encode, Tag } from 'cbor2';
import type { SignatureAlgorithm } from './certificates.js';
import { EnvelopeError, checkCertificates, checkHeaders, verifyPrimitive, type EnvelopeContent } from './envelope.js';

const COSE_ALGORITHMS = new Map<number, SignatureAlgorithm>([[-37, 'PS256'], [-38, 'PS384'], [-39, 'PS512'], [-7, 'ES256'], [-35, 'ES384'], [-36, 'ES512']]);
const ALG = 1;
const CRIT = 2;
const CONTENT_TYPE = 3;
const X5CHAIN = 33;
const REGISTERED = new Set<unknown>([ALG, CRIT, CONTENT_TYPE, 'io.cncf.notary.expiry', 'io.cncf.notary.signingTime', 'io.cncf.notary.signingScheme', 'io.cncf.notary.authenticSigningTime']);

/** Keep date tags (0, 1) as Tag objects so that the tag number can be checked. */
const DECODE_OPTIONS = { preferMap: true, rejectDuplicateKeys: true, tags: new Map([[0, (t: Tag) => t], [1, (t: Tag) => t]]) } as const;

function cbor(bytes: Uint8Array, what: string): unknown {
  try {
    return decode(bytes, DECODE_OPTIONS as unknown as Parameters<typeof decode>[1]);
  } catch (err) {
    throw new EnvelopeError(`${what} is not valid CBOR (${(err as Error).message})`);
  }
}

function isBytes(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array;
}

function time(header: Map<unknown, unknown>, label: string): Date | undefined {
  const v = header.get(label);
  if (v === undefined) return undefined;
  if (!(v instanceof Tag) || Number(v.tag) !== 1 || typeof v.contents !== 'number' || !Number.isFinite(v.contents)) {
    throw new EnvelopeError(`${label} is not an epoch date (CBOR tag 1)`);
  }
  return new Date(v.contents * 1000);
}

export function openCose(blob: Buffer): EnvelopeContent {
  const msg = cbor(blob, 'the COSE envelope');
  if (!(msg instanceof Tag) || Number(msg.tag) !== 18 || !Array.isArray(msg.contents) || msg.contents.length !== 4) {
    throw new EnvelopeError('the envelope is not a COSE_Sign1_Tagged message (CBOR tag 18 with 4 elements)');
  }
  const [protectedBytes, unprotected, payload, signature] = msg.contents as unknown[];
  if (!isBytes(protectedBytes) || protectedBytes.length === 0) throw new EnvelopeError('the protected header is missing');
  if (!(unprotected instanceof Map)) throw new EnvelopeError('the unprotected header is not a map');
  if (!isBytes(payload)) throw new EnvelopeError('the payload is missing (detached payloads are not supported)');
  if (!isBytes(signature) || signature.length === 0) throw new EnvelopeError('the signature is missing');
  const protectedHeader = cbor(protectedBytes, 'the protected header');
  if (!(protectedHeader instanceof Map)) throw new EnvelopeError('the protected header is not a map');
  const alg = COSE_ALGORITHMS.get(protectedHeader.get(ALG) as number);
  if (!alg) throw new EnvelopeError(`signature algorithm ${String(protectedHeader.get(ALG))} is not supported (PS256/384/512, ES256/384/512)`);
  const crit = protectedHeader.get(CRIT);
  if (crit !== undefined && !Array.isArray(crit)) throw new EnvelopeError('crit is not a list');
  const expiry = time(protectedHeader, 'io.cncf.notary.expiry');
  const checked = checkHeaders({
    alg,
    contentType: protectedHeader.get(CONTENT_TYPE),
    critical: (crit as unknown[] | undefined) ?? [],
    signingScheme: protectedHeader.get('io.cncf.notary.signingScheme'),
    signingTime: time(protectedHeader, 'io.cncf.notary.signingTime'),
    authenticSigningTime: time(protectedHeader, 'io.cncf.notary.authenticSigningTime'),
    expiry,
    extended: [...protectedHeader.keys()].filter((k) => !REGISTERED.has(k)),
  });
  const chain = unprotected.get(X5CHAIN) ?? protectedHeader.get(X5CHAIN);
  const ders = Array.isArray(chain) ? chain : isBytes(chain) ? [chain] : [];
  if (ders.length === 0 || !ders.every(isBytes)) throw new EnvelopeError('the certificate chain (x5chain) is missing or malformed');
  const certificates = checkCertificates(ders as Uint8Array[], alg);
  const toBeSigned = Buffer.from(encode(['Signature1', new Uint8Array(protectedBytes), new Uint8Array(0), new Uint8Array(payload)]));
  const sig = Buffer.from(signature);
  if (!verifyPrimitive(alg, certificates[0]!, toBeSigned, sig, 'digest')) {
    throw new EnvelopeError(`the signature does not verify with the key of signing certificate "${certificates[0]!.subject}" (the signature or the signed content was altered)`);
  }
  const ts = unprotected.get('io.cncf.notary.timestampSignature');
  if (ts !== undefined && !isBytes(ts)) throw new EnvelopeError('the timestamp signature is not a byte string');
  const agent = unprotected.get('io.cncf.notary.signingAgent');
  return {
    format: 'cose',
    payload: Buffer.from(payload),
    signingScheme: checked.scheme,
    signingTime: checked.signingTime,
    expiry,
    algorithm: alg,
    certificates,
    signature: sig,
    timestampToken: ts ? Buffer.from(ts) : undefined,
    signingAgent: typeof agent === 'string' ? agent : undefined,
  };
}
