/** The `notation` validator: resolves the image, finds its Notary Project signatures and applies the rule's level and trust-root policy. */
import { ImprimaturError, toImprimaturError } from '../../errors.js';
import type { ImageReference } from '../../image/types.js';
import type { RuleOptions } from '../../config/types.js';
import type { RegistryClient, RepositoryRef } from '../../registry/types.js';
import type { ValidationContext, ValidationOutcome, Validator } from '../types.js';
import { decide, policyTrustRoots, resolvePolicy } from '../cosign/policy.js';
import type { NotationConfig } from './config.js';
import { EnvelopeError, type EnvelopeContent } from './envelope.js';
import { actions, type Action, type Check, type Level } from './levels.js';
import { openEnvelope } from './open-envelope.js';
import { bestFailure, describeAttempt, loggedResults, type NotationRecord, type NotationTrustRootRecord, type SignatureAttempt } from './record.js';
import { offlineRevocation, type RevocationChecker } from './revocation.js';
import { NOTATION_ARTIFACT_TYPE, findSignatures, type SignatureCandidate } from './signatures.js';
import { referrersTag } from '../../registry/digest.js';
import { integrityFailure, payloadProblem, verifyAgainstRoot, type CheckResult, type TargetDescriptor, type VerificationSettings } from './verify-signature.js';
import { digestToVerify } from '../registry-access.js';

interface Opened {
  candidate: SignatureCandidate;
  label: string;
  env?: EnvelopeContent;
  /** Integrity failure (the signature artifact, the envelope or the signed descriptor). */
  failure?: CheckResult;
}

const SIGNATURE_ARTIFACT_HINT = 'the registry lists a signature artifact that cannot be used for this image; sign this image digest again with `notation sign`, and remove the broken artifact';

/**
 * Notation signatures listed in the referrers tag schema index of `digest` (0 when there is none). Asked only after
 * the referrers listing found none: a registry with a referrers API does not list what a client wrote only to the
 * tag (notation 1.3's default `--force-referrers-tag`), and the denial should say so.
 */
async function tagSchemaSignatures(client: RegistryClient, repo: RepositoryRef, digest: string, signal: AbortSignal): Promise<number> {
  try {
    const tagged = await client.findManifest(repo, referrersTag(digest), signal);
    const manifests = tagged && Array.isArray(tagged.json.manifests) ? (tagged.json.manifests as Array<Record<string, unknown>>) : [];
    return manifests.filter((m) => m.artifactType === NOTATION_ARTIFACT_TYPE).length;
  } catch {
    return 0; // only a better message was at stake
  }
}

/**
 * Admission warnings for an admitted image whose counting signatures passed only because the level logs some
 * failures: one per trust root that has no signature passing every check.
 */
function loggedWarnings(roots: NotationTrustRootRecord[], level: Level): string[] {
  const warnings: string[] = [];
  for (const root of roots.filter((r) => r.verified)) {
    const verified = root.attempts.filter((a) => a.verified);
    if (verified.some((a) => !a.logged)) continue;
    const a = verified[0]!;
    // Short (the API server may cut warnings at 256 characters): the reasons are in the log and in `imprimatur explain`.
    const failed = (a.logged ?? []).map((l) => l.check).join(', ');
    warnings.push(`verificationLevel ${level}: ${failed} failed (logged only) for the Notation signature${a.signer ? ` by "${a.signer}"` : ''} (trust root "${root.name}")`);
  }
  return warnings;
}

export class NotationValidator implements Validator {
  readonly type = 'notation';
  readonly cacheable = true;
  readonly name: string;

  constructor(private readonly config: NotationConfig, private readonly client: RegistryClient, private readonly revocation: RevocationChecker = offlineRevocation) {
    this.name = config.name;
  }

  async validate(image: ImageReference, options: RuleOptions, ctx: ValidationContext): Promise<ValidationOutcome> {
    const level = (options.verificationLevel as Level | undefined) ?? 'strict';
    const verifyTimestamp = (options.verifyTimestamp as 'always' | 'afterCertExpiry' | undefined) ?? 'always';
    const record: NotationRecord = { summary: '', validator: this.name, image: image.original, verificationLevel: level, verifyTimestamp, trustRoots: [] };
    try {
      return await this.run(image, options, ctx, record, level, verifyTimestamp);
    } catch (err) {
      const e = toImprimaturError(err);
      record.summary ||= e.message;
      throw new ImprimaturError(e.code, e.message, { ...e.details, record }, { cause: err });
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  private async run(image: ImageReference, options: RuleOptions, ctx: ValidationContext, record: NotationRecord, level: Level, verifyTimestamp: 'always' | 'afterCertExpiry'): Promise<ValidationOutcome> {
    const names = this.config.trustRoots.map((r) => r.name);
    const policy = resolvePolicy(options, names);
    record.policy = { trustRoots: policy.trustRoots, threshold: policy.threshold, required: policy.required };
    const roots = policyTrustRoots(this.name, this.config.trustRoots, policy);
    const repo: RepositoryRef = { registry: image.registry, repository: image.repository };
    const digest = await digestToVerify(this.client, image, ctx.signal);
    record.digest = digest;
    if (level === 'skip') {
      record.summary = `${image.original} (${digest}) admitted without signature verification (verificationLevel: skip)`;
      return { digest, details: record };
    }
    const act = actions(level, (options.verificationOverride ?? {}) as Partial<Record<Check, Action>>);
    record.actions = act;
    const manifest = await this.client.getManifest(repo, digest, ctx.signal);
    const target: TargetDescriptor = { mediaType: manifest.mediaType, digest, size: manifest.body.length };
    const found = await findSignatures(this.client, repo, digest, ctx.signal);
    record.signatures = { found: found.candidates.length, skipped: found.skipped };
    const opened = found.candidates.map((c) => this.open(c, target));
    const settings: VerificationSettings = { actions: act, verifyTimestamp, now: ctx.now(), signal: ctx.signal, revocation: this.revocation };
    record.trustRoots = await Promise.all(roots.map(async (root) => {
      const attempts: SignatureAttempt[] = await Promise.all(opened.map(async (o): Promise<SignatureAttempt> => {
        if (o.failure) {
          return { signature: o.label, verified: false, signer: o.env?.certificates[0]?.subject, check: o.failure.check, reason: o.failure.failure, hint: o.failure.hint, checks: { integrity: 'failed' } };
        }
        const v = await verifyAgainstRoot(o.env!, root!, settings);
        const attempt: SignatureAttempt = { signature: o.label, verified: v.verified, signer: v.signer, timestamp: v.timestamp, checks: v.checks };
        if (v.failed) Object.assign(attempt, { check: v.failed.check, reason: v.failed.failure, hint: v.failed.hint });
        if (v.logged.length > 0) attempt.logged = loggedResults(v.logged);
        return attempt;
      }));
      const verifiedBy = attempts.filter((a) => a.verified).map((a) => a.signature);
      const entry: NotationTrustRootRecord = { name: root!.name, verified: verifiedBy.length > 0, found: `${opened.length} signature(s)`, verifiedBy, attempts };
      if (!entry.verified) {
        const best = bestFailure(attempts);
        entry.reason = best ? describeAttempt(best) : 'no signatures';
      }
      return entry;
    }));
    for (const root of record.trustRoots) {
      for (const a of root.attempts.filter((x) => x.verified && x.logged)) {
        ctx.logger.warn({ validator: this.name, image: image.original, trustRoot: root.name, signature: a.signature, level, logged: a.logged }, 'notation: checks failed that the verification level only logs');
      }
    }
    const warnings = loggedWarnings(record.trustRoots, level);
    if (warnings.length > 0) record.warnings = warnings;
    const signedBy = record.trustRoots.filter((r) => r.verified).map((r) => r.name);
    const verdict = decide(policy, signedBy, opened.length, image.original);
    if (!verdict.ok) {
      if (verdict.code === 'NO_SIGNATURES') {
        const hidden = await tagSchemaSignatures(this.client, repo, digest, ctx.signal);
        verdict.message = hidden > 0
          ? `no Notation signature found for ${image.original} (${digest}) through the registry's referrers API, although its referrers tag schema index ` +
            `(tag ${referrersTag(digest)}) lists ${hidden}: this registry serves referrers through its API only, so \`notation verify\` does not find them either; ` +
            `sign again with \`notation sign --force-referrers-tag=false ${image.registry}/${image.repository}@${digest}\``
          : `no Notation signature found for ${image.original} (${digest}) through the referrers API or the referrers tag schema; sign it with \`notation sign ${image.registry}/${image.repository}@${digest}\``;
      } else if (verdict.code === 'SIGNATURE_INVALID' && !policy.all) {
        const only = record.trustRoots[0]!;
        verdict.message = `no Notation signature passes trust root "${only.name}" (verificationLevel ${level}): ${only.reason}${opened.length > 1 ? ` [${opened.length} signatures examined; see imprimatur explain]` : ''}`;
      } else {
        const reasons = record.trustRoots.filter((r) => !r.verified).map((r) => `trust root "${r.name}": ${r.reason}`);
        verdict.message = `${verdict.message}; ${reasons.join('; ')}`;
      }
      record.summary = verdict.message;
      throw new ImprimaturError(verdict.code, verdict.message, { record });
    }
    record.summary = `${image.original} (${digest}) has Notation signatures passing: ${signedBy.join(', ')} (verificationLevel ${level})`;
    return { digest, details: record };
  }

  private open(candidate: SignatureCandidate, target: TargetDescriptor): Opened {
    const format = candidate.mediaType === 'application/cose' ? 'COSE' : 'JWS';
    const label = `${candidate.digest.slice(0, 19)}… (${candidate.mediaType ? format : 'unknown'})`;
    if (candidate.problem || !candidate.envelope || !candidate.mediaType) {
      // The signature artifact itself is unusable (not this image's, malformed, missing, too large): integrity.
      return { candidate, label, failure: integrityFailure(candidate.problem ?? 'the signature could not be loaded', SIGNATURE_ARTIFACT_HINT) };
    }
    try {
      const env = openEnvelope(candidate.mediaType, candidate.envelope);
      const problem = payloadProblem(env.payload, target);
      return problem ? { candidate, label, env, failure: integrityFailure(problem) } : { candidate, label, env };
    } catch (err) {
      if (err instanceof EnvelopeError) return { candidate, label, failure: integrityFailure(err.message, err.hint) };
      throw err;
    }
  }
}
