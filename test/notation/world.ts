/**
 * A shared world for the notation suites: a real OCI 1.1 registry with the referrers API (olareg; the notation CLI
 * stores signatures through it), a real docker-registry 2.8 (no referrers API: signatures in the referrers tag
 * schema, which a test can rewrite like a lying registry), a real RFC 3161 TSA (openssl ts), the real notation CLI,
 * and certificates made with openssl.
 */
import { parseImageReference } from '../../src/image/reference.js';
import { silentLogger } from '../../src/log.js';
import type { RuleOptions, ValidatorConfig } from '../../src/config/types.js';
import { notationValidatorType } from '../../src/validators/notation/index.js';
import type { ValidationOutcome, Validator } from '../../src/validators/types.js';
import { indentPem } from '../support/configs.js';
import { NotationCli } from '../harness/notation-cli.js';
import { TestPki, codeSigningChain, rootOf, type TestCertificate } from '../harness/notation-pki.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { startTsa, type TestTsa } from '../harness/tsa.js';

export interface World {
  /** olareg: the referrers API. */
  reg: TestRegistry;
  /** distribution 2.8: the referrers tag schema. */
  tagSchemaReg: TestRegistry;
  tsa: TestTsa;
  cli: NotationCli;
  pki: TestPki;
  /** `notation cert generate-test` certificate (self-signed, key "quick"). */
  quickCert: string;
  /** root → intermediate → leaf "release" (key "release"). */
  release: TestCertificate;
  /** An unrelated root → leaf "other" (key "other"). */
  other: TestCertificate;
  /**
   * Pushes a fresh image and returns `host/repo@digest` for the front (what Imprimatur sees) and for direct signing,
   * and `host/repo:tag` (the front) as a workload would name it.
   */
  image(repo: string, on?: TestRegistry): Promise<{ ref: string; direct: string; digest: string; tagged: string }>;
  stop(): Promise<void>;
}

export async function startWorld(): Promise<World> {
  const [reg, tagSchemaReg] = await Promise.all([startRegistry({ referrersApi: true }), startRegistry()]);
  const pki = new TestPki();
  const tsa = await startTsa(pki);
  const cli = new NotationCli();
  cli.referrersApi = true; // olareg: signatures through the referrers API, as notation recommends there
  const quickCert = await cli.generateTest('quick');
  const release = codeSigningChain(pki, 'release', { intermediate: true });
  cli.addSigningKey('release', release.keyPath, pki.writeChain(release));
  const other = codeSigningChain(pki, 'other');
  cli.addSigningKey('other', other.keyPath, pki.writeChain(other));
  let n = 0;
  return {
    reg, tagSchemaReg, tsa, cli, pki, quickCert, release, other,
    async image(repo, on = reg) {
      const tag = `v${++n}`;
      const img = await on.pushRandomImage(repo, tag, { seed: `${repo}-${n}-${Date.now()}` });
      const directHost = new URL(on.directUrl).host;
      return { ref: `${on.host}/${repo}@${img.digest}`, direct: `${directHost}/${repo}@${img.digest}`, digest: img.digest, tagged: `${on.host}/${repo}:${tag}` };
    },
    async stop() {
      await tsa.stop();
      await Promise.all([reg.stop(), tagSchemaReg.stop()]);
    },
  };
}

export interface RootSpec {
  name: string;
  cert: string;
  tsCert?: string;
  trustedIdentities?: string[];
}

/** A notation validator entry with these trust roots; `extra`: more keys (e.g. `revocationCheck`). */
export function validatorConfig(roots: RootSpec[], extra: Record<string, unknown> = {}): ValidatorConfig {
  return { name: 'notation', type: 'notation', trustRoots: roots.map((r) => ({ ...r })), ...extra };
}

export function validatorYaml(name: string, roots: RootSpec[]): string {
  const lines = [`  - name: ${name}`, '    type: notation', '    trustRoots:'];
  for (const r of roots) {
    lines.push(`      - name: ${r.name}`, '        cert: |', indentPem(r.cert, 10));
    if (r.tsCert) lines.push('        tsCert: |', indentPem(r.tsCert, 10));
    if (r.trustedIdentities) lines.push(`        trustedIdentities: ${JSON.stringify(r.trustedIdentities)}`);
  }
  return `${lines.join('\n')}\n`;
}

export function makeValidator(reg: TestRegistry, roots: RootSpec[], extra: Record<string, unknown> = {}): Validator {
  const config = validatorConfig(roots, extra);
  const problems = notationValidatorType.check!(config, { path: 'v', file: 'test', insecureRegistries: [reg.host], secretsDir: '/nonexistent', logger: silentLogger });
  if (problems.length > 0) throw new Error(problems.map((p) => `${p.path}: ${p.message}`).join('; '));
  return notationValidatorType.create(config, { path: 'v', file: 'test', insecureRegistries: [reg.host], secretsDir: '/nonexistent', logger: silentLogger });
}

export type Verdict = { ok: true; outcome: ValidationOutcome } | { ok: false; code: string; message: string; record?: unknown };

export async function runValidator(v: Validator, ref: string, options: Partial<RuleOptions> = {}, now = new Date(), deadlineMs = 20_000): Promise<Verdict> {
  try {
    const outcome = await v.validate(parseImageReference(ref), { trustRoot: 'default', mode: 'mutate', ...options } as RuleOptions, {
      signal: AbortSignal.timeout(deadlineMs), deadline: Date.now() + deadlineMs, logger: silentLogger, now: () => now,
    });
    return { ok: true, outcome };
  } catch (err) {
    const e = err as { code?: string; message: string; details?: { record?: unknown } };
    if (!e.code) throw err;
    return { ok: false, code: e.code, message: e.message, record: e.details?.record };
  }
}

export { rootOf };
