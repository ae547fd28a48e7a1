/**
 * Checks shared by keyless and transparency-log verification around @sigstore/verify: the human
 * sentences for its errors, the key named in a Rekor entry, and intermediates supplied with a signature.
 */
import { createPublicKey, X509Certificate as NodeX509 } from 'node:crypto';
import type { TransparencyLogEntry } from '@sigstore/bundle';
import { toTrustMaterial, type TrustMaterial } from '@sigstore/verify';
import type { SigstoreTrust } from './trust.js';

export const MSG_CHAIN = 'certificate does not chain to the configured Fulcio root';
export const MSG_NOT_VALID_AT_SIGNING = 'certificate was not valid at signing time';
export const MSG_SCT = 'signed certificate timestamp invalid';
export const MSG_TLOG = 'transparency log entry invalid';

/** One sentence for an error thrown by @sigstore/verify's Verifier. */
export function describeVerifyError(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { message?: string } };
  const code = e?.code ?? '';
  const message = e?.message ?? String(err);
  if (code === 'CERTIFICATE_ERROR') {
    if (/SCT/.test(message)) return `${MSG_SCT} (${message})`;
    if (/not valid or expired/.test(e.cause?.message ?? message)) return MSG_NOT_VALID_AT_SIGNING;
    return MSG_CHAIN;
  }
  if (code.startsWith('TLOG') || code === 'CHECKPOINT_ERROR') return `${MSG_TLOG}: ${message}`;
  if (code === 'TIMESTAMP_ERROR') {
    if (/expected \d+ timestamps, got 0/.test(message)) return 'no trusted signing time: the signature has neither a transparency log entry nor a signed timestamp';
    return `timestamp invalid: ${message}`;
  }
  if (code === 'SIGNATURE_ERROR') return 'signature does not match the signing key';
  if (code === 'PUBLIC_KEY_ERROR') return `signing key not trusted (${message})`;
  return `does not verify (${message})`;
}

/** Base64 PEM in a Rekor hashedrekord body → DER certificate or SPKI public key. */
function loggedKey(content: string): { cert?: Buffer; spki?: Buffer } | undefined {
  try {
    const pem = Buffer.from(content, 'base64').toString('utf8');
    if (pem.includes('-----BEGIN CERTIFICATE-----')) return { cert: new NodeX509(pem).raw };
    return { spki: createPublicKey(pem).export({ type: 'spki', format: 'der' }) };
  } catch {
    return undefined;
  }
}

function loggedSpki(logged: { cert?: Buffer; spki?: Buffer }): Buffer | undefined {
  if (logged.spki) return logged.spki;
  return logged.cert ? new NodeX509(logged.cert).publicKey.export({ type: 'spki', format: 'der' }) : undefined;
}

/** `value.a.b.c` for untyped JSON, or undefined. */
function field(value: unknown, ...path: Array<string | number>): unknown {
  let v = value;
  for (const key of path) {
    if (!v || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[key];
  }
  return v;
}

/** The only element of a one-element list, else undefined (several signatures: @sigstore/verify refuses the entry). */
function only(list: unknown): unknown {
  return Array.isArray(list) && list.length === 1 ? list[0] : undefined;
}

/** The base64 PEM key or certificate a Rekor entry body names for its signature (undefined: a kind that names none here). */
function loggedKeyContent(kind: string, version: string, body: unknown): { content: unknown } | undefined {
  if (kind === 'hashedrekord' && version === '0.0.1') return { content: field(body, 'spec', 'signature', 'publicKey', 'content') };
  if (kind === 'dsse' && version === '0.0.1') return { content: field(only(field(body, 'spec', 'signatures')), 'verifier') };
  if (kind === 'intoto' && version === '0.0.2') return { content: field(only(field(body, 'spec', 'content', 'envelope', 'signatures')), 'publicKey') };
  return undefined;
}

/**
 * Rekor entries (hashedrekord v0.0.1; dsse v0.0.1 and intoto v0.0.2 for attestations) name the
 * verification key (certificate or public key) of the logged signature; @sigstore/verify compares only
 * signature and digest. A logged entry whose key is not this signature's key does not count.
 */
export function tlogKeyProblem(entries: TransparencyLogEntry[], expected: { cert?: Buffer; spki?: Buffer }): string | undefined {
  for (const entry of entries) {
    const kind = entry.kindVersion?.kind ?? '';
    const version = entry.kindVersion?.version ?? '';
    if (!['hashedrekord', 'dsse', 'intoto'].includes(kind)) continue;
    let body: unknown;
    try {
      body = JSON.parse(Buffer.from(entry.canonicalizedBody).toString('utf8'));
    } catch {
      return `${MSG_TLOG}: entry body is not JSON`;
    }
    const named = loggedKeyContent(kind, version, body);
    if (!named) continue; // a version @sigstore/verify refuses anyway
    const logged = typeof named.content === 'string' ? loggedKey(named.content) : undefined;
    if (!logged) return `${MSG_TLOG}: entry names no readable key`;
    const same = expected.cert
      ? logged.cert !== undefined && logged.cert.equals(expected.cert)
      : expected.spki !== undefined && loggedSpki(logged)?.equals(expected.spki) === true;
    if (!same) return `${MSG_TLOG}: the logged entry names another ${expected.cert ? 'certificate' : 'key'}`;
  }
  return undefined;
}

/**
 * Intermediate certificates supplied with a signature (the `…/chain` annotation, a bundle's
 * certificate chain) are untrusted. Those that chain, by signature, to a configured CA certificate
 * are added to that CA for path building; self-issued ones never are, so a path still has to end at a
 * configured certificate.
 */
export function withIntermediates(trust: SigstoreTrust, intermediates: Buffer[]): TrustMaterial {
  const parsed: NodeX509[] = [];
  for (const der of intermediates) {
    try {
      const cert = new NodeX509(der);
      if (cert.ca && cert.subject !== cert.issuer) parsed.push(cert);
    } catch {
      // not a certificate: ignored (a path needing it does not verify)
    }
  }
  if (parsed.length === 0) return trust.material;
  const issuedBy = (cert: NodeX509, issuer: NodeX509): boolean => {
    try {
      return issuer.ca && cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
    } catch {
      return false;
    }
  };
  let changed = false;
  const certificateAuthorities = trust.root.certificateAuthorities.map((ca) => {
    const configured = ca.certChain?.certificates.map((c) => new NodeX509(Buffer.from(c.rawBytes))) ?? [];
    const accepted: NodeX509[] = [];
    let grew = true;
    while (grew) {
      grew = false;
      for (const cert of parsed) {
        if (accepted.includes(cert) || configured.some((c) => c.raw.equals(cert.raw))) continue;
        if ([...configured, ...accepted].some((issuer) => issuedBy(cert, issuer))) {
          accepted.push(cert);
          grew = true;
        }
      }
    }
    if (accepted.length === 0 || !ca.certChain) return ca;
    changed = true;
    return { ...ca, certChain: { certificates: [...accepted.map((c) => ({ rawBytes: c.raw })), ...ca.certChain.certificates] } };
  });
  return changed ? { ...trust.material, certificateAuthorities: toTrustMaterial({ ...trust.root, certificateAuthorities }).certificateAuthorities } : trust.material;
}
