/**
 * The `cosign` validator: resolves the image digest, finds its signatures in all three places cosign
 * writes them (the `.sig` tag, signature referrers, Sigstore bundle referrers), applies the rule's
 * multi-signature policy.
 */
import { ImprimaturError, toImprimaturError } from '../../errors.js';
import type { ImageReference } from '../../image/types.js';
import type { RuleOptions } from '../../config/types.js';
import type { RegistryClient, RepositoryRef } from '../../registry/types.js';
import type { ValidationContext, ValidationOutcome, Validator } from '../types.js';
import { BUNDLE_MEDIA_TYPES, findBundles } from './bundles.js';
import { shortDigest } from './candidates.js';
import { policySandbox } from '../../cel/sandbox.js';
import { attestationRequirements } from './attestation-options.js';
import { attestationDenial, checkAttestations } from './attestations.js';
import { attestationFrom, findClassicAttestations } from './att-tag.js';
import { findClassicSignatures } from './classic.js';
import type { CosignConfig } from './config.js';
import { decide, policyTrustRoots, resolvePolicy } from './policy.js';
import { failedRootsSummary, policySummary, rootFailureSummary, verifiedFormats, type CosignRecord } from './record.js';
import { findReferrerSignatures, SIGNATURE_ARTIFACT_TYPE } from './referrer-signatures.js';
import { LayerBudget } from './signature-layers.js';
import { attachOnlineEntries } from './rekor-online.js';
import { verifyTrustRoot, type CandidateSet } from './verify-candidates.js';
import { digestToVerify } from '../registry-access.js';

export class CosignValidator implements Validator {
  readonly type = 'cosign';
  readonly cacheable = true;
  readonly name: string;

  constructor(private readonly config: CosignConfig, private readonly client: RegistryClient) {
    this.name = config.name;
  }

  async validate(image: ImageReference, options: RuleOptions, ctx: ValidationContext): Promise<ValidationOutcome> {
    const record: CosignRecord = { summary: '', validator: this.name, image: image.original, trustRoots: [] };
    try {
      return await this.run(image, options, ctx, record);
    } catch (err) {
      const e = toImprimaturError(err);
      record.summary ||= e.message;
      throw new ImprimaturError(e.code, e.message, { ...e.details, record }, { cause: err });
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  private async run(image: ImageReference, options: RuleOptions, ctx: ValidationContext, record: CosignRecord): Promise<ValidationOutcome> {
    const names = this.config.trustRoots.map((r) => r.name);
    const policy = resolvePolicy(options, names);
    record.policy = policySummary(policy);
    const roots = policyTrustRoots(this.name, this.config.trustRoots, policy);

    const repo: RepositoryRef = { registry: image.registry, repository: image.repository };
    const digest = await digestToVerify(this.client, image, ctx.signal);
    record.digest = digest;

    const requirements = attestationRequirements(options, names);
    const attestationTypes = new Set(requirements.map((r) => r.predicateType));
    const blobs = new Map<string, Promise<Buffer | undefined>>();
    const [classic, attached, classicAttestations] = await Promise.all([
      findClassicSignatures(this.client, repo, digest, new LayerBudget(blobs), ctx.signal),
      this.client.getReferrers(repo, digest, ctx.signal).then(async (referrers) => {
        const [bundles, signatures] = await Promise.all([
          findBundles(this.client, repo, digest, referrers, ctx.signal, attestationTypes),
          findReferrerSignatures(this.client, repo, digest, referrers, new LayerBudget(blobs), ctx.signal),
        ]);
        const other = referrers.filter((r) => r.artifactType !== SIGNATURE_ARTIFACT_TYPE && !BUNDLE_MEDIA_TYPES.includes(r.artifactType ?? ''));
        return { listed: referrers.length, bundles, signatures, other: other.map((r) => `referrer ${shortDigest(r.digest)}: artifact type ${r.artifactType || '(none)'}`) };
      }),
      requirements.length > 0 ? findClassicAttestations(this.client, repo, digest, attestationTypes, ctx.signal) : undefined,
    ]);
    const { bundles, signatures } = attached;
    record.classic = { tag: classic.tag, manifestDigest: classic.manifestDigest, found: classic.candidates.length, skipped: classic.skipped };
    record.referrerSignatures = { manifests: signatures.manifests, found: signatures.candidates.length, skipped: signatures.skipped };
    record.bundles = { found: bundles.candidates.length, skipped: bundles.skipped };
    record.referrers = { listed: attached.listed, other: attached.other };
    const simpleSigning = [...classic.candidates, ...signatures.candidates];

    const tlogOptions = {
      verifyInTransparencyLog: options.verifyInTransparencyLog !== false,
      verifySCT: options.verifySCT !== false,
    };
    const online = options.onlineTransparencyLog === true && this.config.host.rekor !== undefined;
    record.verification = { ...tlogOptions, onlineTransparencyLog: online, trustMaterial: this.config.host.trust.source };
    if (online && tlogOptions.verifyInTransparencyLog) {
      await attachOnlineEntries(this.config.host.rekor!, simpleSigning, ctx.signal, ctx.logger);
    }
    const set: CandidateSet = { classic: simpleSigning, bundles: bundles.candidates, trust: this.config.host.trust, options: tlogOptions };
    if (bundles.candidates.some((c) => c.bundle?.content.$case === 'messageSignature' && !c.problem)) {
      set.manifest = (await this.client.getManifest(repo, digest, ctx.signal)).body;
    }
    record.trustRoots = roots.map((root) => verifyTrustRoot(root, set));
    ctx.logger.debug({ validator: this.name, image: image.original, digest, trustRoots: record.trustRoots }, 'cosign verification');

    const signedBy = record.trustRoots.filter((r) => r.verified).map((r) => r.name);
    const verdict = decide(policy, signedBy, simpleSigning.length + bundles.candidates.length, image.original);
    if (!verdict.ok) {
      // Say why, per trust root, in the message kubectl shows: wrong key, no transparency log entry, another identity, …
      if (verdict.code === 'SIGNATURE_INVALID') {
        verdict.message = `${verdict.message}: ${rootFailureSummary(record.trustRoots[0]!)}`;
      } else if (verdict.code === 'MISSING_REQUIRED_SIGNATURES' || verdict.code === 'THRESHOLD_NOT_REACHED') {
        const consulted = verdict.code === 'MISSING_REQUIRED_SIGNATURES' ? policy.required : policy.trustRoots;
        const why = failedRootsSummary(record.trustRoots, consulted);
        if (why) verdict.message = `${verdict.message} — ${why}`;
      }
      record.summary = verdict.message;
      throw new ImprimaturError(verdict.code, verdict.message, { record });
    }
    record.verifiedFormats = verifiedFormats(record.trustRoots.filter((r) => policy.trustRoots.includes(r.name)));
    record.summary = `${image.original} (${digest}) is signed by: ${signedBy.join(', ')} (via ${record.verifiedFormats.join(', ')})`;
    if (classicAttestations) {
      const fromBundles = bundles.candidates.flatMap((c) => (c.bundle?.content.$case === 'dsseEnvelope' ? [attestationFrom(c.id, c.bundle, digest)] : []));
      const candidates = [...classicAttestations.candidates, ...fromBundles];
      record.attestationSources = { tag: classicAttestations.tag, manifestDigest: classicAttestations.manifestDigest, found: candidates.length, skipped: classicAttestations.skipped };
      record.attestations = await checkAttestations(requirements, {
        candidates,
        roots: new Map(this.config.trustRoots.map((r) => [r.name, r])),
        trust: this.config.host.trust,
        options: tlogOptions,
        evaluate: (expression, statement) => policySandbox().evaluate(expression, statement, ctx.now(), ctx.signal),
      });
      // A policy left unevaluated at the deadline says nothing about the image: never a (cacheable) denial.
      if (ctx.signal.aborted) throw new ImprimaturError('DEADLINE_EXCEEDED', 'attestation policies were still being evaluated when the admission deadline passed (timeout)');
      const denial = attestationDenial(record.attestations);
      if (denial) {
        record.summary = denial.message;
        throw new ImprimaturError(denial.code, denial.message, { record });
      }
      record.summary += `; attestations satisfied: ${requirements.map((r) => r.label).join(', ')}`;
    }
    return { digest, details: record };
  }
}
