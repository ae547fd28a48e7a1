/**
 * What registry-backed validators (cosign, notation) share: the registry client built from their `cert` and
 * `auth` keys, and the digest a verification is about (the runtime pulls by digest when one is given).
 */
import { ImprimaturError } from '../errors.js';
import type { ImageReference } from '../image/types.js';
import { createRegistryClient } from '../registry/client.js';
import type { RegistryClient } from '../registry/types.js';
import type { ValidatorEnvironment } from './types.js';

/** A validator's `auth` block (schema: src/registry/auth-schema.ts). */
export interface RegistryAuth {
  secretName?: string;
  username?: string;
  password?: string;
  registries?: string[];
  registry?: string;
  tokenHosts?: string[];
  useKeychain?: boolean;
  fromWorkload?: boolean;
}

/** The registry client of a validator with TLS CA `cert` and credentials `auth`. */
export function validatorRegistryClient(cert: string | undefined, auth: RegistryAuth, env: ValidatorEnvironment): RegistryClient {
  return createRegistryClient({
    ca: cert,
    secretName: auth.secretName,
    username: auth.username,
    password: auth.password,
    // Connaisseur's auth.registry is one registry
    registries: auth.registries ?? (auth.registry ? [auth.registry] : undefined),
    tokenHosts: auth.tokenHosts,
    fromWorkload: auth.fromWorkload,
    insecureRegistries: env.insecureRegistries,
    secretsDir: env.secretsDir,
    logger: env.logger,
  });
}

/** The digest to verify: the one the reference pins (which the registry must confirm), else what its tag resolves to. */
export async function digestToVerify(client: RegistryClient, image: ImageReference, signal: AbortSignal): Promise<string> {
  const digest = await client.resolveDigest({ registry: image.registry, repository: image.repository }, image.digest ?? image.tag ?? 'latest', signal);
  if (image.digest && digest !== image.digest) {
    throw new ImprimaturError('DIGEST_MISMATCH', `registry ${image.registry} resolved ${image.original} to ${digest}, not the pinned digest; the registry is not trustworthy`);
  }
  return digest;
}
