/** A real registry with cosign-signed and unsigned images, and webhook configs that verify them (tests, stress, bench). */
import { generateTestKey, signImage, type TestKey } from '../harness/cosign-signing.js';
import type { TestRegistry } from '../harness/registry.js';

export interface SignedWorld {
  key: TestKey;
  /** `host/repo:tag` of signed images. */
  signed: string[];
  /** `host/repo:tag` of images without a signature. */
  unsigned: string[];
}

export async function pushSignedWorld(registry: TestRegistry, signedCount: number, unsignedCount = 1, key = generateTestKey()): Promise<SignedWorld> {
  const signed: string[] = [];
  const unsigned: string[] = [];
  for (let i = 0; i < signedCount; i++) {
    const repo = `signed/app${i}`;
    const img = await registry.pushRandomImage(repo, '1.0');
    await signImage(registry, registry.host, repo, img.digest, [key]);
    signed.push(`${registry.host}/${repo}:1.0`);
  }
  for (let i = 0; i < unsignedCount; i++) {
    const repo = `unsigned/app${i}`;
    await registry.pushRandomImage(repo, '1.0');
    unsigned.push(`${registry.host}/${repo}:1.0`);
  }
  return { key, signed, unsigned };
}

export interface ConfigOptions {
  expirySeconds?: number;
  cacheErrors?: boolean;
  /** Appended verbatim (e.g. an `alerting:` section, or a comment to change the config hash). */
  extra?: string;
}

/** A bare application config: everything on the registry is verified by cosign with `key`, everything else denied. */
export function cosignConfig(registry: TestRegistry, key: TestKey, o: ConfigOptions = {}): string {
  const pem = key.publicPem.trim().split('\n').map((l) => `          ${l}`).join('\n');
  return `validators:
  - name: default
    type: static
    approve: false
  - name: signed
    type: cosign
    trustRoots:
      - name: default
        key: |
${pem}
policy:
  - pattern: "*:*"
  - pattern: "${registry.host}/*"
    validator: signed
    with:
      verifyInTransparencyLog: false   # the test signatures carry no Rekor entry
insecureRegistries: ["${registry.host}"]
features:
  cache:
    expirySeconds: ${o.expirySeconds ?? 30}
    cacheErrors: ${o.cacheErrors ?? true}
${o.extra ?? ''}
`;
}
