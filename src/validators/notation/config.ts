/**
 * Typed view of a `notation` validator entry and its load-time checks: each trust root's `cert` and
 * `tsCert` bundles parse (and hold certificates, not keys), `trustedIdentities` are valid X.509 subjects.
 * Warnings: a trust root that accepts any identity its CA issued.
 */
import type { ConfigProblem } from '../../errors.js';
import type { ValidatorConfig } from '../../config/types.js';
import { isSelfSigned, parsePemBundle, type ParsedCertificate } from './certificates.js';
import { parseTrustedIdentities, type TrustedIdentities } from './trusted-identities.js';
import type { RegistryAuth } from '../registry-access.js';

export interface NotationTrustRoot {
  name: string;
  certificates: ParsedCertificate[];
  tsaRoots: ParsedCertificate[];
  identities: TrustedIdentities;
  /** Whether trustedIdentities was written (false: Connaisseur's implicit "*"). */
  identitiesExplicit: boolean;
}

export interface NotationConfig {
  name: string;
  trustRoots: NotationTrustRoot[];
  cert?: string;
  /** Whether CRLs and OCSP responders are contacted (default offline). */
  revocationCheck: 'offline' | 'online';
  auth: RegistryAuth;
}

interface RawTrustRoot {
  name: string;
  cert: string;
  tsCert?: string;
  trustedIdentities?: string[];
}

function pemProblem(pem: string, what: string): string | undefined {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) return `holds a private key; paste only the ${what} certificate(s), and keep the key secret`;
  if (!/-----BEGIN CERTIFICATE-----/.test(pem)) {
    return /-----BEGIN PUBLIC KEY-----/.test(pem)
      ? `holds a public key, but notation trust roots are X.509 certificates; paste the ${what} certificate ("-----BEGIN CERTIFICATE-----")`
      : `holds no PEM certificate; expected one or more "-----BEGIN CERTIFICATE-----" blocks`;
  }
  try {
    parsePemBundle(pem);
    return undefined;
  } catch (err) {
    return `${(err as Error).message}; paste the PEM certificate unchanged`;
  }
}

/** Load-time checks beyond the schema. Paths are below `path` (e.g. `application.validators[2]`). */
export function checkNotationConfig(config: ValidatorConfig, path: string): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  ((config.trustRoots ?? []) as unknown as RawTrustRoot[]).forEach((root, i) => {
    const rootPath = `${path}.trustRoots[${i}]`;
    const certProblem = pemProblem(root.cert, 'CA or signing');
    if (certProblem) problems.push({ path: `${rootPath}.cert`, message: certProblem });
    if (root.tsCert !== undefined) {
      const tsProblem = pemProblem(root.tsCert, 'timestamp authority root');
      if (tsProblem) problems.push({ path: `${rootPath}.tsCert`, message: tsProblem });
    }
    if (root.trustedIdentities) {
      const parsed = parseTrustedIdentities(root.trustedIdentities);
      if (!parsed.ok) {
        for (const p of parsed.problems) problems.push({ path: `${rootPath}.trustedIdentities${p.index !== undefined ? `[${p.index}]` : ''}`, message: p.message });
      }
    }
  });
  if (typeof config.cert === 'string') {
    const p = pemProblem(config.cert, 'registry CA');
    if (p) problems.push({ path: `${path}.cert`, message: p });
  }
  return problems;
}

/** Typed config. Throws on a config that checkNotationConfig would have rejected. */
export function parseNotationConfig(config: ValidatorConfig): NotationConfig {
  const trustRoots = ((config.trustRoots ?? []) as unknown as RawTrustRoot[]).map((root): NotationTrustRoot => {
    const identities = root.trustedIdentities ? parseTrustedIdentities(root.trustedIdentities) : ({ ok: true, value: { any: true } } as const);
    if (!identities.ok) throw new Error(`trust root "${root.name}": invalid trustedIdentities`);
    return {
      name: root.name,
      certificates: parsePemBundle(root.cert),
      tsaRoots: root.tsCert ? parsePemBundle(root.tsCert) : [],
      identities: identities.value,
      identitiesExplicit: root.trustedIdentities !== undefined,
    };
  });
  return {
    name: config.name,
    trustRoots,
    cert: typeof config.cert === 'string' ? config.cert : undefined,
    revocationCheck: config.revocationCheck === 'online' ? 'online' : 'offline',
    auth: (config.auth ?? {}) as NotationConfig['auth'],
  };
}

/** Load-time warnings: trust roots that accept any signing identity a CA issued. */
export function notationWarnings(config: NotationConfig, path: string): ConfigProblem[] {
  const warnings: ConfigProblem[] = [];
  config.trustRoots.forEach((root, i) => {
    if (!root.identities.any) return;
    // A self-signed signing certificate (no CA) can only ever verify its own signatures: "*" pins nothing more.
    const onlyLeaves = root.certificates.every((c) => isSelfSigned(c) && !c.x509.ca);
    if (onlyLeaves && !root.identitiesExplicit) return;
    warnings.push({
      path: `${path}.trustRoots[${i}].trustedIdentities`,
      message: root.identitiesExplicit
        ? `trust root "${root.name}" accepts any signing certificate its CA issued (trustedIdentities: ["*"]); list the signers as "x509.subject: C=…, ST=…, O=…, CN=…" unless that is intended`
        : `trust root "${root.name}" has no trustedIdentities, so any signing certificate its CA issued is accepted (Connaisseur's behaviour); list the signers as "x509.subject: C=…, ST=…, O=…, CN=…", or write ["*"] to accept any on purpose`,
    });
  });
  return warnings;
}
