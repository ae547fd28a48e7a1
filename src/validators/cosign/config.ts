/**
 * Typed view of a `cosign` validator entry and its load-time checks (keys, certificates, URLs,
 * regexes). `parseCosignConfig` is only called on configs that passed the schema and `checkCosignConfig`.
 */
import { X509Certificate } from 'node:crypto';
import type { ConfigProblem } from '../../errors.js';
import type { ValidatorConfig } from '../../config/types.js';
import { anchoredRegex, type KeylessIdentity } from './identity.js';
import { parsePublicKey, type TrustedKey } from './keys.js';
import { buildTrust, type SigstoreTrust } from './trust.js';
import type { RegistryAuth } from '../registry-access.js';

export type { KeylessIdentity } from './identity.js';

export type TrustRoot =
  | { name: string; kind: 'key'; key: TrustedKey }
  | { name: string; kind: 'keyless'; identity: KeylessIdentity };

export interface CosignHost {
  /** Rekor URL, for online lookups (`with.onlineTransparencyLog: true`) only. */
  rekor?: string;
  /** Fulcio CAs, Rekor and CT log keys, timestamp authorities (host.* or the public-good defaults). */
  trust: SigstoreTrust;
}

export interface CosignConfig {
  name: string;
  trustRoots: TrustRoot[];
  cert?: string;
  auth: RegistryAuth;
  host: CosignHost;
}

interface RawTrustRoot {
  name: string;
  key?: string;
  keyless?: { issuer?: string; issuerRegex?: string; subject?: string; subjectRegex?: string };
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** Problems with a PEM bundle of certificates, or undefined when every certificate parses. */
function certProblem(pem: string): string | undefined {
  const blocks = pem.match(PEM_CERT) ?? [];
  if (blocks.length === 0) return 'holds no PEM certificate; expected one or more "-----BEGIN CERTIFICATE-----" blocks';
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch (err) {
      return `certificate ${i + 1} cannot be parsed (${(err as Error).message}); paste the PEM certificate unchanged`;
    }
  }
  return undefined;
}

/** Rekor may be written as a bare host (Connaisseur style); https is assumed then. */
export function rekorUrl(value: string): URL | undefined {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `https://${value}`;
  try {
    const url = new URL(withScheme);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
    if (!url.hostname) return undefined;
    return url;
  } catch {
    return undefined;
  }
}

function regexProblem(source: string): string | undefined {
  try {
    anchoredRegex(source);
    return undefined;
  } catch (err) {
    return `is not a valid regular expression (${(err as Error).message})`;
  }
}

/** Load-time checks beyond the schema. Paths are below `path` (e.g. `application.validators[2]`). */
export function checkCosignConfig(config: ValidatorConfig, path: string, file = ''): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const roots = (config.trustRoots ?? []) as unknown as RawTrustRoot[];
  roots.forEach((root, i) => {
    const rootPath = `${path}.trustRoots[${i}]`;
    if (typeof root.key === 'string') {
      const parsed = parsePublicKey(root.key);
      if (!parsed.ok) problems.push({ path: `${rootPath}.key`, message: parsed.message });
    }
    for (const field of ['issuerRegex', 'subjectRegex'] as const) {
      const source = root.keyless?.[field];
      if (typeof source !== 'string') continue;
      const problem = regexProblem(source);
      if (problem) problems.push({ path: `${rootPath}.keyless.${field}`, message: problem });
    }
  });
  if (typeof config.cert === 'string') {
    const problem = certProblem(config.cert);
    if (problem) problems.push({ path: `${path}.cert`, message: problem });
  }
  const host = (config.host ?? {}) as Record<string, unknown>;
  if (typeof host.rekor === 'string' && !rekorUrl(host.rekor)) {
    problems.push({ path: `${path}.host.rekor`, message: `"${host.rekor}" is not a valid Rekor URL; write e.g. https://rekor.sigstore.dev` });
  }
  for (const field of ['rekorPubkey', 'ctLogPubkey'] as const) {
    if (typeof host[field] !== 'string') continue;
    const parsed = parsePublicKey(host[field] as string);
    if (!parsed.ok) problems.push({ path: `${path}.host.${field}`, message: parsed.message });
  }
  if (typeof host.fulcioCert === 'string') {
    const problem = certProblem(host.fulcioCert);
    if (problem) problems.push({ path: `${path}.host.fulcioCert`, message: problem });
  }
  if (!problems.some((p) => p.path.startsWith(`${path}.host`))) {
    const trust = buildTrust(config.host, path, file);
    if (!trust.ok) problems.push(...trust.problems);
  }
  return problems;
}

function mustKey(pem: string, where: string): TrustedKey {
  const parsed = parsePublicKey(pem);
  if (!parsed.ok) throw new Error(`${where} ${parsed.message}`);
  return parsed.key;
}

/** Typed config. Throws on a config that `checkCosignConfig` would have rejected. */
export function parseCosignConfig(config: ValidatorConfig, file = ''): CosignConfig {
  const roots = (config.trustRoots ?? []) as unknown as RawTrustRoot[];
  const trustRoots: TrustRoot[] = roots.map((root) => {
    if (typeof root.key === 'string') return { name: root.name, kind: 'key', key: mustKey(root.key, `trust root "${root.name}"`) };
    const k = root.keyless ?? {};
    return {
      name: root.name,
      kind: 'keyless',
      identity: {
        issuer: k.issuer,
        issuerRegex: k.issuerRegex !== undefined ? anchoredRegex(k.issuerRegex) : undefined,
        subject: k.subject,
        subjectRegex: k.subjectRegex !== undefined ? anchoredRegex(k.subjectRegex) : undefined,
      },
    };
  });
  const host = (config.host ?? {}) as Record<string, string | undefined>;
  const trust = buildTrust(config.host, 'host', file);
  if (!trust.ok) throw new Error(trust.problems.map((p) => `${p.path}: ${p.message}`).join('; '));
  return {
    name: config.name,
    trustRoots,
    cert: typeof config.cert === 'string' ? config.cert : undefined,
    auth: (config.auth ?? {}) as CosignConfig['auth'],
    host: {
      rekor: host.rekor !== undefined ? rekorUrl(host.rekor)?.toString() : undefined,
      trust: trust.trust,
    },
  };
}
