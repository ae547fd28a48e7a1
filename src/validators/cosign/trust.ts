/**
 * Sigstore trust material of a cosign validator (`host.*`): which Fulcio CAs, Rekor logs, CT logs and
 * timestamp authorities are trusted, each with its validity period, as a Sigstore `TrustedRoot`.
 *
 * Sources, in this order:
 * - `host.trustedRoot`: a Sigstore trusted root JSON document, inline (a YAML mapping or a JSON string)
 *   or a file path (relative paths are resolved against the configuration file's folder);
 * - `host.rekorPubkey`, `host.fulcioCert` (root and intermediates, PEM), `host.ctLogPubkey`: each one
 *   replaces the corresponding part of the public-good defaults (Connaisseur's behaviour);
 * - nothing: the public-good Sigstore instance, shipped as data (trust-material/public-good.ts).
 * Everything is parsed at load time; verification never goes to the network for trust material.
 */
import { createHash, X509Certificate as NodeX509 } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toTrustMaterial, type TrustMaterial } from '@sigstore/verify';
import type { ConfigProblem } from '../../errors.js';
import { parsePublicKey } from './keys.js';
import { PUBLIC_GOOD_SOURCE, PUBLIC_GOOD_TRUSTED_ROOT } from './trust-material/public-good.js';

export interface SigstoreTrust {
  /** Where the trust material comes from, for records (e.g. `public-good Sigstore (…)`, `host.trustedRoot`). */
  source: string;
  /** The trusted root the material was built from. */
  root: TrustedRoot;
  material: TrustMaterial;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;
const TRUSTED_ROOT_MEDIA_TYPE = /^application\/vnd\.dev\.sigstore\.trustedroot(\.v0\.[0-9]+)?\+json(;version=[0-9.]+)?$/;
const EPOCH = '1970-01-01T00:00:00Z';

type Json = Record<string, unknown>;
type Result = { ok: true; trust: SigstoreTrust } | { ok: false; problems: ConfigProblem[] };

/** DER certificates of a PEM bundle (callers have checked that each block parses). */
export function pemCertificates(pem: string): Buffer[] {
  return (pem.match(PEM_CERT) ?? []).map((block) => new NodeX509(block).raw);
}

function keyInstance(spki: Buffer, baseUrl: string): Json {
  return {
    baseUrl,
    hashAlgorithm: 'SHA2_256',
    // keyDetails only tells @sigstore/verify PKCS#1 from SPKI: these keys are SPKI.
    publicKey: { rawBytes: spki.toString('base64'), keyDetails: 'PUBLIC_KEY_DETAILS_UNSPECIFIED', validFor: { start: EPOCH } },
    logId: { keyId: createHash('sha256').update(spki).digest('base64') },
  };
}

function readTrustedRoot(value: unknown, baseDir: string): { doc?: unknown; message?: string } {
  if (value && typeof value === 'object') return { doc: value };
  if (typeof value !== 'string') return { message: 'must be a trusted root JSON document (inline) or the path of one' };
  const text = value.trim();
  if (text.startsWith('{')) {
    try {
      return { doc: JSON.parse(text) };
    } catch (err) {
      return { message: `is not valid JSON (${(err as Error).message})` };
    }
  }
  const file = isAbsolute(text) ? text : resolve(baseDir, text);
  let content: string;
  try {
    content = readFileSync(file, 'utf8');
  } catch (err) {
    return { message: `cannot read the trusted root file ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
  }
  try {
    return { doc: JSON.parse(content) };
  } catch (err) {
    return { message: `file ${file} is not valid JSON (${(err as Error).message})` };
  }
}

/**
 * Builds the trust material from a validator's raw `host` block. `path` is the validator's path
 * (problems are reported below it), `configFile` the file the configuration came from.
 */
export function buildTrust(hostValue: unknown, path: string, configFile: string): Result {
  const host = (hostValue && typeof hostValue === 'object' ? hostValue : {}) as Json;
  const problems: ConfigProblem[] = [];
  const parts = ['rekorPubkey', 'fulcioCert', 'ctLogPubkey'].filter((k) => host[k] !== undefined);
  let doc: Json;
  let source: string;
  if (host.trustedRoot !== undefined) {
    if (parts.length > 0) {
      return { ok: false, problems: [{ path: `${path}.host.trustedRoot`, message: `cannot be combined with host.${parts.join(', host.')}; put all trust material into the trusted root document, or use the separate keys only` }] };
    }
    const read = readTrustedRoot(host.trustedRoot, configFile ? dirname(configFile) : process.cwd());
    if (read.message) return { ok: false, problems: [{ path: `${path}.host.trustedRoot`, message: read.message }] };
    if (!read.doc || typeof read.doc !== 'object' || !TRUSTED_ROOT_MEDIA_TYPE.test(String((read.doc as Json).mediaType))) {
      return { ok: false, problems: [{ path: `${path}.host.trustedRoot`, message: 'is not a Sigstore trusted root (mediaType must be application/vnd.dev.sigstore.trustedroot+json;version=0.1); use e.g. the trusted_root.json of your Sigstore instance\'s TUF repository' }] };
    }
    doc = read.doc as Json;
    source = 'host.trustedRoot';
  } else {
    doc = JSON.parse(JSON.stringify(PUBLIC_GOOD_TRUSTED_ROOT)) as Json;
    source = parts.length === 0 ? `public-good Sigstore (${PUBLIC_GOOD_SOURCE})` : `host.${parts.join(', host.')} (other parts: public-good Sigstore)`;
    const rekorBase = typeof host.rekor === 'string' ? host.rekor : 'https://rekor.sigstore.dev';
    for (const [field, target, base] of [['rekorPubkey', 'tlogs', rekorBase], ['ctLogPubkey', 'ctlogs', 'https://ctfe.sigstore.dev']] as const) {
      if (typeof host[field] !== 'string') continue;
      const parsed = parsePublicKey(host[field] as string);
      if (!parsed.ok) problems.push({ path: `${path}.host.${field}`, message: parsed.message });
      else doc[target] = [keyInstance(parsed.key.spki, base)];
    }
    if (typeof host.fulcioCert === 'string') {
      try {
        const certs = pemCertificates(host.fulcioCert);
        if (certs.length === 0) throw new Error('holds no PEM certificate; expected one or more "-----BEGIN CERTIFICATE-----" blocks');
        doc.certificateAuthorities = [{
          subject: { organization: 'host.fulcioCert', commonName: 'host.fulcioCert' },
          uri: 'https://fulcio.sigstore.dev',
          certChain: { certificates: certs.map((c) => ({ rawBytes: c.toString('base64') })) },
          validFor: { start: EPOCH },
        }];
      } catch (err) {
        problems.push({ path: `${path}.host.fulcioCert`, message: `certificate cannot be parsed (${(err as Error).message}); paste the PEM certificate(s) unchanged` });
      }
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  try {
    const root = TrustedRoot.fromJSON(doc);
    const material = toTrustMaterial(root);
    return { ok: true, trust: { source, root, material } };
  } catch (err) {
    return { ok: false, problems: [{ path: `${path}.host${host.trustedRoot !== undefined ? '.trustedRoot' : ''}`, message: `trust material cannot be used (${(err as Error).message})` }] };
  }
}

/** The public-good trust material (the default). */
export function publicGoodTrust(): SigstoreTrust {
  const built = buildTrust({}, '', '');
  if (!built.ok) throw new Error(`the shipped public-good trust material is broken: ${built.problems.map((p) => p.message).join('; ')}`);
  return built.trust;
}
