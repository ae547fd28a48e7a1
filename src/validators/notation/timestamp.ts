/**
 * RFC 3161 timestamp countersignatures (the envelope's `timestampSignature`), verified as the Notary
 * Project specifies: a CMS SignedData over a TSTInfo (RFC 3161/5816) with one signer whose
 * signing-certificate-v2 attribute names the TSA certificate; messageImprint = hash of the primitive
 * signature; the TSA chain (certificates from the token) leads to a configured `tsCert` root, valid at
 * genTime, meeting the timestamping requirements. Parsed with @peculiar/asn1-cms / asn1-tsp.
 */
import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import { AsnConvert } from '@peculiar/asn1-schema';
import { ContentInfo, SignedData, id_signedData } from '@peculiar/asn1-cms';
import { TSTInfo, id_ct_tstInfo } from '@peculiar/asn1-tsp';
import { HASH_ALGORITHMS, isSupportedSignatureAlgorithm, verifySigned } from './signed-structures.js';
import { chainProblem, isIssuedBy, isSelfSigned, parseCertificate, validAt, type ParsedCertificate } from './certificates.js';

const HASHES = HASH_ALGORITHMS;
const ATTR_CONTENT_TYPE = '1.2.840.113549.1.9.3';
const ATTR_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
const ATTR_SIGNING_CERTIFICATE_V2 = '1.2.840.113549.1.9.16.2.47';
const BASELINE_POLICY = '0.4.0.2023.1.1';

/** A verified timestamp: genTime ± accuracy, and the TSA certificate chain (leaf first). */
export interface VerifiedTimestamp {
  genTime: Date;
  accuracyMs: number;
  lower: Date;
  upper: Date;
  tsaChain: ParsedCertificate[];
}

export class TimestampError extends Error {}

function fail(message: string): never {
  throw new TimestampError(message);
}

/** ESSCertIDv2 of the signing-certificate-v2 attribute: hash algorithm (default SHA-256) and certificate hash. */
function essCertIdV2(attrValue: ArrayBuffer): { hash: string; certHash: Buffer } {
  const parsed = asn1js.fromBER(attrValue);
  if (parsed.offset === -1 || !(parsed.result instanceof asn1js.Sequence)) fail('the signing-certificate-v2 attribute is malformed');
  const certs = parsed.result.valueBlock.value[0];
  if (!(certs instanceof asn1js.Sequence) || certs.valueBlock.value.length === 0) fail('the signing-certificate-v2 attribute names no certificate');
  const first = certs.valueBlock.value[0];
  if (!(first instanceof asn1js.Sequence)) fail('the signing-certificate-v2 attribute is malformed');
  let hash = 'sha256';
  let i = 0;
  const items = first.valueBlock.value;
  if (items[0] instanceof asn1js.Sequence) {
    const oid = items[0].valueBlock.value[0];
    if (!(oid instanceof asn1js.ObjectIdentifier)) fail('the signing-certificate-v2 hash algorithm is malformed');
    hash = HASHES[oid.valueBlock.toString()] ?? fail(`the signing-certificate-v2 hash algorithm ${oid.valueBlock.toString()} is not supported`);
    i = 1;
  }
  const certHash = items[i];
  if (!(certHash instanceof asn1js.OctetString)) fail('the signing-certificate-v2 certificate hash is missing');
  return { hash, certHash: Buffer.from(certHash.valueBlock.valueHexView) };
}

/** The DER of the single signer's signed attributes ([0] IMPLICIT), exactly as in the token. */
function rawSignedAttributes(token: Buffer): Uint8Array | undefined {
  const ci = asn1js.fromBER(token).result;
  const explicit = ci instanceof asn1js.Sequence ? ci.valueBlock.value[1] : undefined;
  const sd = explicit instanceof asn1js.Constructed ? explicit.valueBlock.value[0] : undefined;
  const infos = sd instanceof asn1js.Sequence ? sd.valueBlock.value[sd.valueBlock.value.length - 1] : undefined;
  const info = infos instanceof asn1js.Set ? infos.valueBlock.value[0] : undefined;
  const attrs = info instanceof asn1js.Sequence ? info.valueBlock.value.find((v) => v.idBlock.tagClass === 3 && v.idBlock.tagNumber === 0) : undefined;
  return attrs ? new Uint8Array(attrs.valueBeforeDecodeView) : undefined;
}

function attribute(attrs: Array<{ attrType: string; attrValues: ArrayBuffer[] }>, type: string): ArrayBuffer | undefined {
  const found = attrs.filter((a) => a.attrType === type);
  if (found.length > 1 || (found[0] && found[0].attrValues.length !== 1)) fail(`signed attribute ${type} must appear exactly once with one value`);
  return found[0]?.attrValues[0];
}

function verifySignerSignature(signerCert: ParsedCertificate, algorithm: string, digestHash: string, data: Buffer, signature: Buffer): boolean {
  if (!isSupportedSignatureAlgorithm(algorithm)) fail(`the timestamp signature algorithm ${algorithm} is not supported`);
  return verifySigned(algorithm, signerCert.publicKey, data, signature, digestHash);
}

/** The path from the TSA certificate up to one of `roots` (certificates from the token as intermediates), leaf first. */
function buildChain(leaf: ParsedCertificate, pool: ParsedCertificate[], roots: ParsedCertificate[]): ParsedCertificate[] | undefined {
  const chain = [leaf];
  for (let depth = 0; depth < 8; depth++) {
    const current = chain[chain.length - 1]!;
    const anchor = roots.find((r) => r.der.equals(current.der)) ?? (isSelfSigned(current) ? undefined : roots.find((r) => isIssuedBy(current, r)));
    if (anchor) {
      if (!anchor.der.equals(current.der)) chain.push(anchor);
      return chain;
    }
    const parent = pool.find((c) => !chain.some((x) => x.der.equals(c.der)) && isIssuedBy(current, c));
    if (!parent) return undefined;
    chain.push(parent);
  }
  return undefined;
}

/**
 * Verifies `token` (DER TimeStampToken) as a countersignature of `signature` against the TSA roots.
 * Throws TimestampError with the reason.
 */
export function verifyTimestamp(token: Buffer, signature: Buffer, roots: ParsedCertificate[]): VerifiedTimestamp {
  let signed: SignedData;
  let info: TSTInfo;
  let eContent: Buffer;
  try {
    const ci = AsnConvert.parse(token, ContentInfo);
    if (ci.contentType !== id_signedData) fail('the timestamp token is not CMS SignedData');
    signed = AsnConvert.parse(ci.content, SignedData);
    if (signed.encapContentInfo.eContentType !== id_ct_tstInfo) fail('the timestamp token does not hold a TSTInfo');
    const content = signed.encapContentInfo.eContent?.single?.buffer ?? fail('the timestamp token has no content');
    eContent = Buffer.from(content);
    info = AsnConvert.parse(eContent, TSTInfo);
  } catch (err) {
    if (err instanceof TimestampError) throw err;
    throw new TimestampError(`the timestamp token cannot be parsed (${(err as Error).message})`);
  }
  if (info.version !== 1) fail(`the TSTInfo version is ${info.version}, not 1`);
  const imprintHash = HASHES[info.messageImprint.hashAlgorithm.algorithm] ?? fail(`the timestamp's hash algorithm ${info.messageImprint.hashAlgorithm.algorithm} is not supported`);
  if (!createHash(imprintHash).update(signature).digest().equals(Buffer.from(info.messageImprint.hashedMessage.buffer))) {
    fail('the timestamp is for other data than this signature (messageImprint mismatch)');
  }
  if (signed.signerInfos.length !== 1) fail(`the timestamp token has ${signed.signerInfos.length} signers; exactly one is expected`);
  const signer = signed.signerInfos[0]!;
  if (signer.version !== 1) fail(`the timestamp signer info version is ${signer.version}; only version 1 is supported`);
  const attrs = signer.signedAttrs ?? fail('the timestamp token has no signed attributes');
  const raw = rawSignedAttributes(token) ?? fail('the timestamp token has no signed attributes');
  const certs = (signed.certificates ?? []).flatMap((c) => (c.certificate ? [parseCertificate(Buffer.from(AsnConvert.serialize(c.certificate)))] : []));
  const ess = essCertIdV2(attribute(attrs, ATTR_SIGNING_CERTIFICATE_V2) ?? fail('the timestamp token lacks the signing-certificate-v2 attribute'));
  const tsaCert = certs.find((c) => createHash(ess.hash).update(c.der).digest().equals(ess.certHash)) ?? fail('the TSA certificate named by signing-certificate-v2 is not in the timestamp token');
  const sid = signer.sid.issuerAndSerialNumber;
  if (sid) {
    const sameIssuer = Buffer.from(AsnConvert.serialize(sid.issuer)).equals(tsaCert.rawIssuer);
    const sameSerial = Buffer.from(sid.serialNumber).equals(Buffer.from(tsaCert.asn.tbsCertificate.serialNumber));
    if (!sameIssuer || !sameSerial) fail('the timestamp signer is not the certificate named by signing-certificate-v2');
  }
  const contentType = attribute(attrs, ATTR_CONTENT_TYPE) ?? fail('the timestamp token lacks the content-type attribute');
  const ct = asn1js.fromBER(contentType).result;
  if (!(ct instanceof asn1js.ObjectIdentifier) || ct.valueBlock.toString() !== id_ct_tstInfo) fail('the timestamp content-type attribute is not id-ct-TSTInfo');
  const digestHash = HASHES[signer.digestAlgorithm.algorithm] ?? fail(`the timestamp digest algorithm ${signer.digestAlgorithm.algorithm} is not supported`);
  const md = asn1js.fromBER(attribute(attrs, ATTR_MESSAGE_DIGEST) ?? fail('the timestamp token lacks the message-digest attribute')).result;
  if (!(md instanceof asn1js.OctetString) || !createHash(digestHash).update(eContent).digest().equals(Buffer.from(md.valueBlock.valueHexView))) {
    fail('the timestamp token was altered (message digest mismatch)');
  }
  const signedBytes = Buffer.from(raw);
  signedBytes[0] = 0x31; // [0] IMPLICIT SET OF → SET OF, as signed
  if (!verifySignerSignature(tsaCert, signer.signatureAlgorithm.algorithm, digestHash, signedBytes, Buffer.from(signer.signature.buffer))) {
    fail(`the timestamp signature does not verify with TSA certificate "${tsaCert.subject}"`);
  }
  const chain = buildChain(tsaCert, certs, roots) ?? fail(`TSA certificate "${tsaCert.subject}" does not chain to a configured tsCert`);
  const problem = chainProblem(chain, 'timestamping');
  if (problem) fail(`invalid TSA certificate chain: ${problem}`);
  const genTime = info.genTime;
  const expired = chain.find((c) => !validAt(c, genTime));
  if (expired) fail(`TSA certificate "${expired.subject}" was not valid at the timestamp's time ${genTime.toISOString()}`);
  let accuracyMs = 0;
  const acc = info.accuracy;
  if (acc && (acc.seconds || acc.millis || acc.micros)) accuracyMs = (acc.seconds ?? 0) * 1000 + (acc.millis ?? 0) + (acc.micros ?? 0) / 1000;
  else if (info.policy === BASELINE_POLICY) accuracyMs = 1000;
  return {
    genTime,
    accuracyMs,
    lower: new Date(genTime.getTime() - accuracyMs),
    upper: new Date(genTime.getTime() + accuracyMs),
    tsaChain: chain,
  };
}
