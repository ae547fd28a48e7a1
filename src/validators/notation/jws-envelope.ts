/**
 * The JWS envelope (flattened JWS JSON serialization): protected headers with the Notary attributes,
 * `header.x5c` (the chain, base64 DER), `header["io.cncf.notary.timestampSignature"]`, and the signature
 * over `BASE64URL(protected) '.' BASE64URL(payload)`.
 */
import { isAlgorithm } from './certificates.js';
import { EnvelopeError, checkCertificates, checkHeaders, verifyPrimitive, type EnvelopeContent } from './envelope.js';

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const REGISTERED = new Set(['alg', 'cty', 'crit', 'io.cncf.notary.expiry', 'io.cncf.notary.signingTime', 'io.cncf.notary.signingScheme', 'io.cncf.notary.authenticSigningTime']);

function fromBase64Url(value: unknown, what: string): Buffer {
  if (typeof value !== 'string' || !BASE64URL.test(value)) throw new EnvelopeError(`${what} is not base64url`);
  return Buffer.from(value, 'base64url');
}

function fromBase64(value: unknown, what: string): Buffer {
  if (typeof value !== 'string' || !BASE64.test(value) || value.length % 4 !== 0) throw new EnvelopeError(`${what} is not base64`);
  return Buffer.from(value, 'base64');
}

function time(value: unknown, what: string): Date | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !RFC3339.test(value)) throw new EnvelopeError(`${what} is not an RFC 3339 time`);
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new EnvelopeError(`${what} is not a valid time`);
  return d;
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new EnvelopeError(`${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

export function openJws(blob: Buffer): EnvelopeContent {
  let env: Record<string, unknown>;
  try {
    env = object(JSON.parse(blob.toString('utf8')), 'the JWS envelope');
  } catch (err) {
    if (err instanceof EnvelopeError) throw err;
    throw new EnvelopeError(`the JWS envelope is not JSON (${(err as Error).message})`);
  }
  if (typeof env.protected !== 'string' || typeof env.payload !== 'string' || typeof env.signature !== 'string') {
    throw new EnvelopeError('the JWS envelope lacks "protected", "payload" or "signature" (flattened JSON serialization expected)');
  }
  const header = object(env.header ?? {}, 'the unprotected header');
  let protectedHeader: Record<string, unknown>;
  try {
    protectedHeader = object(JSON.parse(fromBase64Url(env.protected, 'the protected header').toString('utf8')), 'the protected header');
  } catch (err) {
    if (err instanceof EnvelopeError) throw err;
    throw new EnvelopeError(`the protected header is not JSON (${(err as Error).message})`);
  }
  const alg = protectedHeader.alg;
  if (typeof alg !== 'string' || !isAlgorithm(alg)) throw new EnvelopeError(`signature algorithm ${JSON.stringify(alg)} is not supported (PS256/384/512, ES256/384/512)`);
  const crit = protectedHeader.crit;
  if (crit !== undefined && (!Array.isArray(crit) || crit.some((c) => typeof c !== 'string'))) throw new EnvelopeError('"crit" is not a list of header names');
  const checked = checkHeaders({
    alg,
    contentType: protectedHeader.cty,
    critical: (crit as string[] | undefined) ?? [],
    signingScheme: protectedHeader['io.cncf.notary.signingScheme'],
    signingTime: time(protectedHeader['io.cncf.notary.signingTime'], 'the signing time'),
    authenticSigningTime: time(protectedHeader['io.cncf.notary.authenticSigningTime'], 'the authentic signing time'),
    expiry: time(protectedHeader['io.cncf.notary.expiry'], 'the expiry'),
    extended: Object.keys(protectedHeader).filter((k) => !REGISTERED.has(k)),
  });
  const x5c = header.x5c;
  if (!Array.isArray(x5c) || x5c.length === 0) throw new EnvelopeError('the certificate chain (x5c) is missing');
  const certificates = checkCertificates(x5c.map((c, i) => fromBase64(c, `certificate ${i + 1} of x5c`)), alg);
  const signature = fromBase64Url(env.signature, 'the signature');
  if (signature.length === 0) throw new EnvelopeError('the signature is empty');
  const signingInput = Buffer.from(`${env.protected}.${env.payload}`, 'ascii');
  if (!verifyPrimitive(alg, certificates[0]!, signingInput, signature, 'auto')) {
    throw new EnvelopeError(`the signature does not verify with the key of signing certificate "${certificates[0]!.subject}" (the signature or the signed content was altered)`);
  }
  const ts = header['io.cncf.notary.timestampSignature'];
  const agent = header['io.cncf.notary.signingAgent'];
  return {
    format: 'jws',
    payload: fromBase64Url(env.payload, 'the payload'),
    signingScheme: checked.scheme,
    signingTime: checked.signingTime,
    expiry: time(protectedHeader['io.cncf.notary.expiry'], 'the expiry'),
    algorithm: alg,
    certificates,
    signature,
    timestampToken: ts === undefined ? undefined : fromBase64(ts, 'the timestamp signature'),
    signingAgent: typeof agent === 'string' ? agent : undefined,
  };
}
