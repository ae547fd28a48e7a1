/**
 * The real `notation` CLI (built once by scripts/build-notation.sh, cached under /var/cache/imprimatur),
 * each instance with its own configuration directory: signing keys, trust store and trust policy.
 * Tests sign with it and use `notation verify` as the oracle.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { makeTempDir } from './temp-dirs.js';

const run = promisify(execFile);
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

let binary: string | undefined;

/** Path of the notation binary; builds it on first use (minutes, once per machine). Fails loudly. */
export function notationBinary(): string {
  if (binary) return binary;
  try {
    binary = execFileSync('bash', [join(REPO, 'scripts', 'build-notation.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 20 * 60_000 }).trim();
  } catch (err) {
    throw new Error(`the notation CLI could not be built with scripts/build-notation.sh: ${String(err)}`);
  }
  if (!existsSync(binary)) throw new Error(`scripts/build-notation.sh printed ${binary}, which does not exist`);
  return binary;
}

export interface SignOptions {
  key: string;
  format?: 'jws' | 'cose';
  timestampUrl?: string;
  timestampRootCert?: string;
  /** e.g. `24h`. */
  expiry?: string;
  /** Default true (notation's default): the referrers tag schema; false: the referrers API, tag schema as fallback. */
  forceReferrersTag?: boolean;
  userMetadata?: Record<string, string>;
}

export interface TrustPolicyStatement {
  name?: string;
  registryScopes?: string[];
  level: 'strict' | 'permissive' | 'audit' | 'skip';
  verifyTimestamp?: 'always' | 'afterCertExpiry';
  override?: Record<string, string>;
  trustStores?: string[];
  trustedIdentities?: string[];
}

export class NotationCli {
  readonly bin: string;
  readonly configDir: string;
  /**
   * The registry serves the OCI 1.1 referrers API (olareg): sign with `--force-referrers-tag=false` unless a call
   * asks for the tag. notation 1.3's default writes the referrers tag schema even there, and olareg then stops
   * listing the signature in its referrers API (see docs/test-infrastructure.md).
   */
  referrersApi = false;
  /**
   * A registry with TLS and credentials: the CA file Go trusts (SSL_CERT_FILE) and the login notation reads from
   * NOTATION_USERNAME/NOTATION_PASSWORD. Set, `sign` and `verify` talk HTTPS (no --insecure-registry).
   */
  secureRegistry?: { caFile: string; user: string; password: string };

  constructor(readonly home: string = makeTempDir('notation-home')) {
    this.bin = notationBinary();
    this.configDir = join(home, 'notation');
    mkdirSync(this.configDir, { recursive: true });
  }

  private env(): NodeJS.ProcessEnv {
    const secure = this.secureRegistry;
    return {
      PATH: process.env.PATH, HOME: this.home, XDG_CONFIG_HOME: this.home, XDG_CACHE_HOME: join(this.home, 'cache'),
      ...(secure ? { SSL_CERT_FILE: secure.caFile, NOTATION_USERNAME: secure.user, NOTATION_PASSWORD: secure.password } : {}),
    };
  }

  private registryFlags(): string[] {
    return this.secureRegistry ? [] : ['--insecure-registry'];
  }

  async exec(args: string[]): Promise<{ code: number; out: string }> {
    try {
      const { stdout, stderr } = await run(this.bin, args, { env: this.env(), timeout: 60_000 });
      return { code: 0, out: `${stdout}${stderr}` };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string; message: string };
      return { code: typeof e.code === 'number' ? e.code : 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message };
    }
  }

  async mustExec(args: string[]): Promise<string> {
    const r = await this.exec(args);
    if (r.code !== 0) throw new Error(`notation ${args.join(' ')} failed (${r.code}): ${r.out}`);
    return r.out;
  }

  /** `notation cert generate-test NAME`: a self-signed code-signing certificate, added as key NAME and to trust store ca:NAME. Returns its PEM. */
  async generateTest(name: string): Promise<string> {
    await this.mustExec(['cert', 'generate-test', name]);
    return readFileSync(join(this.configDir, 'localkeys', `${name}.crt`), 'utf8');
  }

  /** Registers a key and certificate chain (PEM, leaf first) made elsewhere as signing key NAME. */
  addSigningKey(name: string, keyPath: string, chainPath: string): void {
    const file = join(this.configDir, 'signingkeys.json');
    const doc = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { keys: Array<Record<string, string>> }) : { keys: [] };
    doc.keys = doc.keys.filter((k) => k.name !== name);
    doc.keys.push({ name, keyPath, certPath: chainPath });
    writeFileSync(file, JSON.stringify(doc, null, 2));
  }

  /** `notation sign` of `reference` (host:port/repo@digest; plain HTTP unless `secureRegistry`). Returns the CLI output. */
  async sign(reference: string, o: SignOptions): Promise<string> {
    const args = ['sign', ...this.registryFlags(), '--key', o.key, '--signature-format', o.format ?? 'jws'];
    if (o.forceReferrersTag === false || (this.referrersApi && o.forceReferrersTag !== true)) args.push('--force-referrers-tag=false');
    if (o.timestampUrl) args.push('--timestamp-url', o.timestampUrl, '--timestamp-root-cert', o.timestampRootCert ?? '');
    if (o.expiry) args.push('--expiry', o.expiry);
    for (const [k, v] of Object.entries(o.userMetadata ?? {})) args.push('--user-metadata', `${k}=${v}`);
    args.push(reference);
    return this.mustExec(args);
  }

  /** Replaces the trust store and trust policy, then runs `notation verify` — the oracle. */
  async verify(reference: string, stores: { ca?: Record<string, string>; tsa?: Record<string, string> }, policy: TrustPolicyStatement): Promise<{ ok: boolean; out: string }> {
    const storeRoot = join(this.configDir, 'truststore', 'x509');
    for (const [type, named] of Object.entries(stores)) {
      for (const [name, pem] of Object.entries(named ?? {})) {
        const d = join(storeRoot, type, name);
        mkdirSync(d, { recursive: true });
        writeFileSync(join(d, 'certs.pem'), pem);
      }
    }
    const statement: Record<string, unknown> = {
      name: policy.name ?? 'test',
      registryScopes: policy.registryScopes ?? ['*'],
      signatureVerification: { level: policy.level, ...(policy.verifyTimestamp ? { verifyTimestamp: policy.verifyTimestamp } : {}), ...(policy.override ? { override: policy.override } : {}) },
    };
    if (policy.level !== 'skip') {
      statement.trustStores = policy.trustStores ?? [];
      statement.trustedIdentities = policy.trustedIdentities ?? ['*'];
    }
    // notation 1.3 reads trustpolicy.json (trustpolicy.oci.json is the newer name).
    writeFileSync(join(this.configDir, 'trustpolicy.json'), JSON.stringify({ version: '1.0', trustPolicies: [statement] }, null, 2));
    const r = await this.exec(['verify', ...this.registryFlags(), reference]);
    return { ok: r.code === 0, out: r.out };
  }
}
