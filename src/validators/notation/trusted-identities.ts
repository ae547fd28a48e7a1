/**
 * `trustedIdentities` as in Notary Project trust policies: `x509.subject: C=US, ST=WA, O=Acme, CN=…`
 * (RFC 4514 syntax, C, ST (or S) and O required, no multi-valued RDNs, no duplicates, no overlapping
 * entries) or `*`. A signing certificate matches an identity when every attribute of the identity is in
 * the certificate's subject with the same value. Parsing is linear in the input.
 */
import { AsnConvert } from '@peculiar/asn1-schema';
import { Name } from '@peculiar/asn1-x509';
import type { ParsedCertificate } from './certificates.js';

export type DistinguishedName = Map<string, string>;

export const WILDCARD = '*';
const PREFIX = 'x509.subject:';

/** Attribute types Notation (Go's pkix.Name) prints by name; any other makes a subject unmatchable, as in Notation. */
const ATTRIBUTE_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN', '2.5.4.5': 'SERIALNUMBER', '2.5.4.6': 'C', '2.5.4.7': 'L', '2.5.4.8': 'ST',
  '2.5.4.9': 'STREET', '2.5.4.10': 'O', '2.5.4.11': 'OU', '2.5.4.17': 'POSTALCODE',
};

/** Splits an RFC 4514 string into RDNs of `type=value` with escapes resolved. Throws Error on bad syntax. */
function parseRfc4514(text: string): Array<Array<[string, string]>> {
  const rdns: Array<Array<[string, string]>> = [];
  let rdn: Array<[string, string]> = [];
  let type = '';
  let value = '';
  let inValue = false;
  let trailingSpaces = 0;
  const finishAttribute = (): void => {
    const t = type.trim();
    if (!t) throw new Error('an attribute has no type (expected e.g. "O=Acme")');
    if (!inValue) throw new Error(`attribute "${t}" has no "="`);
    rdn.push([t.toUpperCase(), trailingSpaces > 0 ? value.slice(0, value.length - trailingSpaces) : value]);
    type = '';
    value = '';
    inValue = false;
    trailingSpaces = 0;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (!inValue) {
      if (c === '=') {
        inValue = true;
        while (text[i + 1] === ' ') i++;
      } else if (c === ',' || c === '+' || c === ';') {
        throw new Error(`unexpected "${c}" in attribute type "${type.trim()}"`);
      } else {
        type += c;
      }
      continue;
    }
    if (c === '\\') {
      const next = text[i + 1];
      if (next === undefined) throw new Error('the value ends with a lone "\\"');
      if (/[0-9a-fA-F]/.test(next) && /[0-9a-fA-F]/.test(text[i + 2] ?? '')) {
        value += String.fromCharCode(parseInt(text.slice(i + 1, i + 3), 16));
        i += 2;
      } else {
        value += next;
        i += 1;
      }
      trailingSpaces = 0;
    } else if (c === ',' || c === ';' || c === '+') {
      finishAttribute();
      if (c !== '+') {
        rdns.push(rdn);
        rdn = [];
      }
      while (text[i + 1] === ' ') i++;
    } else {
      if (c === '#' && value === '') throw new Error('hex-encoded values ("=#…") are not supported');
      value += c;
      trailingSpaces = c === ' ' ? trailingSpaces + 1 : 0;
    }
  }
  finishAttribute();
  rdns.push(rdn);
  return rdns;
}

/** A DN for matching: one value per attribute type, `S` read as `ST`; C, ST and O required. Throws Error with the reason. */
export function parseDistinguishedName(text: string): DistinguishedName {
  const dn: DistinguishedName = new Map();
  for (const rdn of parseRfc4514(text)) {
    if (rdn.length > 1) throw new Error('multi-valued RDNs ("+") are not supported');
    for (const [rawType, value] of rdn) {
      const type = rawType === 'S' ? 'ST' : rawType;
      if (dn.has(type)) throw new Error(`attribute ${type} appears twice`);
      dn.set(type, value);
    }
  }
  const missing = ['C', 'ST', 'O'].filter((t) => !dn.get(t));
  if (missing.length > 0) throw new Error(`it lacks ${missing.join(', ')}; an identity needs at least C, ST (or S) and O`);
  return dn;
}

export interface TrustedIdentity {
  /** As written in the config, and its position there. */
  text: string;
  index: number;
  dn: DistinguishedName;
}

export type TrustedIdentities = { any: true } | { any: false; identities: TrustedIdentity[] };

/** Parses a trust root's `trustedIdentities` list; returns problems (one per bad entry) or the parsed list. */
export function parseTrustedIdentities(list: string[]): { ok: true; value: TrustedIdentities } | { ok: false; problems: Array<{ index?: number; message: string }> } {
  if (list.includes(WILDCARD)) {
    if (list.length > 1) return { ok: false, problems: [{ message: '"*" cannot be combined with other identities; use either ["*"] or a list of x509.subject identities' }] };
    return { ok: true, value: { any: true } };
  }
  const problems: Array<{ index?: number; message: string }> = [];
  const identities: TrustedIdentity[] = [];
  list.forEach((text, index) => {
    if (!text.startsWith(PREFIX)) {
      problems.push({ index, message: `"${text}" is not an identity Imprimatur understands; write "x509.subject: C=…, ST=…, O=…[, OU=…, CN=…]" or "*"` });
      return;
    }
    try {
      identities.push({ text, index, dn: parseDistinguishedName(text.slice(PREFIX.length).trimStart()) });
    } catch (err) {
      problems.push({ index, message: `"${text}" is not a valid X.509 subject: ${(err as Error).message}` });
    }
  });
  // Overlapping identities (one a subset of another) are invalid in Notary trust policies.
  identities.forEach((a, i) => identities.forEach((b, j) => {
    if (i < j && (isSubset(a.dn, b.dn) || isSubset(b.dn, a.dn))) {
      problems.push({ index: b.index, message: `"${b.text}" overlaps with "${a.text}" (a certificate could match both); remove one of them` });
    }
  }));
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: { any: false, identities } };
}

function isSubset(small: DistinguishedName, big: DistinguishedName): boolean {
  for (const [k, v] of small) if (big.get(k) !== v) return false;
  return true;
}

/** The signing certificate's subject as a DN for matching, or the reason it cannot be matched (as in Notation). */
export function certificateSubject(cert: ParsedCertificate): { ok: true; dn: DistinguishedName } | { ok: false; reason: string } {
  const name = AsnConvert.parse(cert.rawSubject, Name);
  const dn: DistinguishedName = new Map();
  for (const rdn of name) {
    if (rdn.length > 1) return { ok: false, reason: 'its subject has a multi-valued RDN, which trusted identities cannot match' };
    for (const atv of rdn) {
      const type = ATTRIBUTE_NAMES[atv.type];
      if (!type) return { ok: false, reason: `its subject has attribute ${atv.type}, which trusted identities cannot match` };
      if (dn.has(type)) return { ok: false, reason: `its subject has attribute ${type} twice, which trusted identities cannot match` };
      dn.set(type, atv.value.toString());
    }
  }
  const missing = ['C', 'ST', 'O'].filter((t) => !dn.get(t));
  if (missing.length > 0) return { ok: false, reason: `its subject lacks ${missing.join(', ')}, so no trusted identity can match it` };
  return { ok: true, dn };
}

/** Whether the signing certificate matches one of the identities; undefined when it does, else the reason. */
export function identityProblem(identities: TrustedIdentities, leaf: ParsedCertificate): string | undefined {
  if (identities.any) return undefined;
  const subject = certificateSubject(leaf);
  if (!subject.ok) return `signing certificate "${leaf.subject}": ${subject.reason}`;
  if (identities.identities.some((id) => isSubset(id.dn, subject.dn))) return undefined;
  return `signing certificate "${leaf.subject}" is not one of the trusted identities (${identities.identities.map((i) => i.text).join('; ')})`;
}

/** RFC 4514 escaping of an attribute value as Notation reads it. */
function escapeValue(value: string): string {
  let out = value.replace(/[\\,;+"<>=#]/g, (c) => `\\${c}`);
  if (out.startsWith(' ')) out = `\\${out}`;
  if (out.endsWith(' ') && !out.endsWith('\\ ')) out = `${out.slice(0, -1)}\\ `;
  return out;
}

/**
 * The trusted identity that matches exactly this signing certificate (`x509.subject: C=…, ST=…, O=…, CN=…`), for
 * hints; undefined when no identity can match it (see certificateSubject).
 */
export function suggestedIdentity(cert: ParsedCertificate): string | undefined {
  const subject = certificateSubject(cert);
  if (!subject.ok) return undefined;
  return `${PREFIX} ${[...subject.dn].map(([type, value]) => `${type}=${escapeValue(value)}`).join(', ')}`;
}
