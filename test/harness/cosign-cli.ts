/**
 * The real cosign CLI (v2 and v3, built by scripts/build-cosign.sh) for interop tests: it makes the keys, signs
 * and attests images in a test registry, and `cosign verify` is the oracle Imprimatur's verdict is compared with.
 *
 * Fully offline: every cosign process gets a closed local port as HTTP(S) proxy (only 127.0.0.1/localhost go
 * direct), so it can reach the test registry and nothing else, and fails fast instead of waiting for Sigstore's
 * public services. Key-based signing without a transparency log: v2 `--tlog-upload=false`; v3 an empty signing
 * config (`cosign signing-config create` without services) and an empty trusted root.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from './temp-dirs.js';
import { cosignBinary, type CosignMajor } from './tools.js';

/**
 * How a signature is stored:
 * - `classic`: simple-signing payload in the `sha256-<hex>.sig` tag (cosign 2's default);
 * - `referrer`: the same payload as an OCI 1.1 referrer (`--registry-referrers-mode=oci-1-1`, experimental);
 * - `bundle`: a Sigstore bundle (DSSE) as an OCI 1.1 referrer (cosign 3's default, `--new-bundle-format` in cosign 2).
 */
export type CosignFormat = 'classic' | 'referrer' | 'bundle';
export const COSIGN_FORMATS: readonly CosignFormat[] = ['classic', 'referrer', 'bundle'];

export interface CosignResult { ok: boolean; code: number; stdout: string; stderr: string }

export interface CosignKeyPair {
  /** Encrypted private key (password `COSIGN_PASSWORD`). */
  keyPath: string;
  pubPath: string;
  publicPem: string;
}

const PASSWORD = 'imprimatur-test';

export class CosignCli {
  private readonly home: string;
  private readonly signingConfig: string;
  private readonly trustedRoot: string;

  constructor(readonly major: CosignMajor, readonly binary: string) {
    this.home = makeTempDir(`cosign-${major}`);
    this.signingConfig = join(this.home, 'signing-config.json');
    this.trustedRoot = join(this.home, 'trusted-root.json');
    // What `cosign signing-config create` writes without any service: sign with the key, log nothing.
    writeFileSync(this.signingConfig, JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.signingconfig.v0.2+json', rekorTlogConfig: {}, tsaConfig: {} }));
    writeFileSync(this.trustedRoot, JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1' }));
  }

  run(args: string[], env: Record<string, string> = {}): Promise<CosignResult> {
    const closed = 'http://127.0.0.1:9'; // discard port: nothing listens, connections are refused at once
    return new Promise((resolve) => {
      execFile(this.binary, args, {
        env: {
          PATH: process.env['PATH'], HOME: this.home, COSIGN_PASSWORD: PASSWORD, TUF_ROOT: join(this.home, 'tuf'),
          HTTPS_PROXY: closed, HTTP_PROXY: closed, NO_PROXY: '127.0.0.1,localhost', ...env,
        },
        timeout: 120_000, maxBuffer: 16 * 1024 * 1024,
      }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ ok: code === 0, code, stdout, stderr });
      });
    });
  }

  private async ok(args: string[], env: Record<string, string> = {}): Promise<CosignResult> {
    const r = await this.run(args, env);
    if (!r.ok) throw new Error(`cosign ${this.major} ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
    return r;
  }

  /** `cosign generate-key-pair` (ECDSA P-256, encrypted with the test password). */
  async generateKeyPair(name = 'cosign'): Promise<CosignKeyPair> {
    const dir = makeTempDir(`cosign-key-${name}`);
    const prefix = join(dir, name);
    await this.ok(['generate-key-pair', '--output-key-prefix', prefix]);
    return { keyPath: `${prefix}.key`, pubPath: `${prefix}.pub`, publicPem: readFileSync(`${prefix}.pub`, 'utf8') };
  }

  /** Flags that store a signature in `format`, offline. */
  private storeFlags(format: CosignFormat): { args: string[]; env: Record<string, string> } {
    const v3 = this.major === 'v3';
    const legacy = v3 ? ['--new-bundle-format=false', '--use-signing-config=false', '--tlog-upload=false'] : ['--tlog-upload=false'];
    switch (format) {
      case 'classic':
        return { args: legacy, env: {} };
      case 'referrer':
        return { args: [...legacy, '--registry-referrers-mode=oci-1-1'], env: { COSIGN_EXPERIMENTAL: '1' } };
      case 'bundle':
        return { args: v3 ? ['--signing-config', this.signingConfig, '--trusted-root', this.trustedRoot] : ['--new-bundle-format', '--tlog-upload=false'], env: {} };
    }
  }

  /** `cosign sign --key` of `image` (a digest reference) in `format`. */
  async sign(image: string, key: CosignKeyPair, format: CosignFormat): Promise<CosignResult> {
    const { args, env } = this.storeFlags(format);
    return this.ok(['sign', '--key', key.keyPath, ...args, '--yes', image], env);
  }

  /** `cosign attest --key` of `image` with an in-toto predicate of `type` (e.g. `slsaprovenance`). */
  async attest(image: string, key: CosignKeyPair, predicate: object, type: string, format: Exclude<CosignFormat, 'referrer'> = 'classic'): Promise<CosignResult> {
    const file = join(makeTempDir('cosign-predicate'), 'predicate.json');
    writeFileSync(file, JSON.stringify(predicate));
    const { args, env } = this.storeFlags(format);
    return this.ok(['attest', '--key', key.keyPath, '--predicate', file, '--type', type, ...args, '--yes', image], env);
  }

  /** Flags that make `cosign verify` look for a signature in `format`, with the key only (no transparency log). */
  private verifyFlags(format: CosignFormat): { args: string[]; env: Record<string, string> } {
    const v3 = this.major === 'v3';
    const common = ['--insecure-ignore-tlog=true'];
    switch (format) {
      case 'classic':
        return { args: [...common, ...(v3 ? ['--new-bundle-format=false'] : [])], env: {} };
      case 'referrer':
        return { args: [...common, ...(v3 ? ['--new-bundle-format=false'] : []), '--experimental-oci11'], env: { COSIGN_EXPERIMENTAL: '1' } };
      case 'bundle':
        return { args: [...common, '--new-bundle-format', '--trusted-root', this.trustedRoot], env: {} };
    }
  }

  /** `cosign verify --key`: the oracle. Resolves with the outcome, never rejects. */
  verify(image: string, pubPath: string, format: CosignFormat): Promise<CosignResult> {
    const { args, env } = this.verifyFlags(format);
    return this.run(['verify', '--key', pubPath, ...args, image], env);
  }

  /** `cosign verify-attestation --key --type`. */
  verifyAttestation(image: string, pubPath: string, type: string, format: Exclude<CosignFormat, 'referrer'> = 'classic'): Promise<CosignResult> {
    const { args, env } = this.verifyFlags(format);
    return this.run(['verify-attestation', '--key', pubPath, '--type', type, ...args, image], env);
  }
}

const clis = new Map<CosignMajor, Promise<CosignCli>>();

/** The cosign CLI of `major` (built on first use). */
export function cosignCli(major: CosignMajor): Promise<CosignCli> {
  let c = clis.get(major);
  if (!c) {
    c = cosignBinary(major).then((bin) => new CosignCli(major, bin));
    clis.set(major, c);
  }
  return c;
}
