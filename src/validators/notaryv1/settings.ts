import { createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import type { ValidatorConfig } from '../../config/types.js';
import type { ConfigProblem } from '../../errors.js';
import { DEFAULT_NOTARY_HOST } from './schema.js';
import type { PinnedRoot } from './verify.js';

/** A notaryv1 validator entry, checked and with its keys parsed. */
export interface NotaryV1Settings {
  name: string;
  /** `host[:port]` (no scheme). */
  host: string;
  ca?: string;
  secretName?: string;
  username?: string;
  /** Token services on other hosts that may receive the credentials (the Notary host's own always may). */
  tokenHosts?: string[];
  password?: string;
  /** With username/password: the registry they are bound to (default: sent to the Notary host only). */
  registry?: string;
  trustRoots: PinnedRoot[];
}

const PEM_PUBLIC_KEY = /-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/;
const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const EC_CURVES = new Set(['prime256v1', 'secp384r1', 'secp521r1']);

export function normaliseHost(host: unknown): string {
  if (typeof host !== 'string' || host === '') return DEFAULT_NOTARY_HOST;
  return host.replace(/^https:\/\//, '').replace(/\/$/, '').toLowerCase();
}

/** Parses a pinned root key: a PEM public key (not a certificate), ECDSA P-256/384/521 or RSA ≥ 2048 bits. */
export function parsePinnedKey(pem: string): KeyObject {
  if (/-----BEGIN CERTIFICATE-----/.test(pem)) {
    throw new Error('is a certificate; give the public key instead (openssl x509 -pubkey -noout -in root.crt), it survives certificate renewal');
  }
  const block = PEM_PUBLIC_KEY.exec(pem);
  if (!block) throw new Error('is not a PEM public key (-----BEGIN PUBLIC KEY-----)');
  if (pem.replace(block[0], '').trim() !== '') {
    throw new Error('has text before or after the PEM block (-----BEGIN PUBLIC KEY----- … -----END PUBLIC KEY-----); paste the key file unchanged');
  }
  let key: KeyObject;
  try {
    key = createPublicKey(block[0]);
  } catch (err) {
    throw new Error(`cannot be parsed as a public key (${(err as Error).message})`);
  }
  const d = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'ec') {
    if (!d?.namedCurve || !EC_CURVES.has(d.namedCurve)) throw new Error(`uses unsupported curve ${d?.namedCurve ?? 'unknown'}; use P-256, P-384 or P-521`);
  } else if (key.asymmetricKeyType === 'rsa') {
    if ((d?.modulusLength ?? 0) < 2048) throw new Error(`is an RSA key of ${d?.modulusLength ?? 0} bits; at least 2048 are required`);
  } else {
    throw new Error(`is a ${key.asymmetricKeyType ?? 'unknown'} key; Notary root keys are ECDSA or RSA`);
  }
  return key;
}

/** Checks a validated-by-schema entry and returns the settings, or the problems (with paths below `path`). */
export function readSettings(config: ValidatorConfig, path: string): { settings?: NotaryV1Settings; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const trustRoots: PinnedRoot[] = [];
  (config.trustRoots ?? []).forEach((tr, i) => {
    const at = `${path}.trustRoots[${i}]`;
    if (tr.name === '*') problems.push({ path: `${at}.name`, message: '"*" is reserved (it selects all trust roots); choose another name' });
    try {
      trustRoots.push({ name: tr.name, key: parsePinnedKey(String(tr.key ?? '')) });
    } catch (err) {
      problems.push({ path: `${at}.key`, message: `key of trust root "${tr.name}" ${(err as Error).message}` });
    }
  });
  if (trustRoots.length === 0 && problems.length === 0) problems.push({ path: `${path}.trustRoots`, message: 'define at least one trust root with a name and a PEM public key' });

  let ca: string | undefined;
  if (config.cert !== undefined) {
    ca = String(config.cert);
    const certs = ca.match(PEM_CERT) ?? [];
    if (certs.length === 0) problems.push({ path: `${path}.cert`, message: 'is not a PEM certificate (-----BEGIN CERTIFICATE-----)' });
    certs.forEach((c, i) => {
      try {
        new X509Certificate(c);
      } catch (err) {
        problems.push({ path: `${path}.cert`, message: `certificate ${i + 1} cannot be parsed (${(err as Error).message})` });
      }
    });
  }
  const auth = (config.auth ?? {}) as { secretName?: string; username?: string; password?: string; registry?: string; tokenHosts?: string[] };
  if (problems.length > 0) return { problems };
  return {
    problems,
    settings: {
      name: config.name,
      host: normaliseHost(config.host),
      ca,
      secretName: auth.secretName,
      username: auth.username,
      password: auth.password,
      tokenHosts: auth.tokenHosts,
      registry: auth.registry,
      trustRoots,
    },
  };
}
