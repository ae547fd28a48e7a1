/**
 * Decides a rule's required attestations (`with.attestations`) from the attestations found for an
 * image (`.att` layers and bundle referrers, already loaded and subject-checked).
 *
 * For each required attestation:
 * 1. the attestations whose signed statement has its predicate type are tried against each trust root
 *    it names, exactly like signatures (keys, keyless identities, Rekor/SCT checks: verifyTrustRoot);
 *    one whose subject is another image never counts;
 * 2. its CEL policy is evaluated (in the sandbox) on each attestation a trust root verified — never on
 *    unverified data;
 * 3. a trust root counts when it verified at least one attestation whose policy is true (or that has no
 *    policy); `trustRoot`/`threshold`/`required` then decide as for signatures.
 */
import type { PolicyValue } from '../../cel/sandbox.js';
import type { AttestationRequirement } from './attestation-options.js';
import type { AttestationCandidate, Candidate } from './candidates.js';
import type { TrustRoot } from './config.js';
import type { KeylessVerdict, TlogOptions } from './keyless.js';
import { rootFailureSummary, type TrustRootRecord } from './record.js';
import type { SigstoreTrust } from './trust.js';
import { verifyTrustRoot, type CandidateSet } from './verify-candidates.js';
import type { AttestationOutcome } from '../types.js';

export type AttestationCode = 'ATTESTATION_MISSING' | 'ATTESTATION_SIGNATURE_INVALID' | 'ATTESTATION_POLICY_FAILED';

export interface PolicyEvaluation {
  /** Attestation label, e.g. `sha256-….att layer 0` or `bundle sha256:…`. */
  attestation: string;
  value?: boolean;
  error?: string;
}

export interface AttestationRecord extends AttestationOutcome {
  /** `predicateType` as configured (short name or URI). */
  configured: string;
  code?: AttestationCode;
  /** Attestations of this predicate type about this image. */
  found: number;
  /** Of this predicate type, but not counting (another image's subject, unreadable). */
  notCounted: number;
  /** Which trust roots must have signed it. */
  rule: { trustRoots: string[]; threshold: number; required: string[] };
  trustRoots: TrustRootRecord[];
  /** Trust roots that verified an attestation of this type. */
  verifiedBy: string[];
  /** Trust roots that verified one whose policy is true (all that verified when there is no policy). */
  satisfiedBy: string[];
  policy?: { expression: string; result: 'true' | 'false' | 'error' | 'not evaluated'; evaluations: PolicyEvaluation[] };
}

export interface AttestationContext {
  candidates: AttestationCandidate[];
  roots: ReadonlyMap<string, TrustRoot>;
  trust: SigstoreTrust;
  options: TlogOptions;
  /** Evaluates a policy on a statement (the CEL sandbox). */
  evaluate(expression: string, statement: string): Promise<PolicyValue>;
}

/** Decides every requirement; never throws for what the registry served (that is recorded). */
export async function checkAttestations(requirements: AttestationRequirement[], ctx: AttestationContext): Promise<AttestationRecord[]> {
  const keyless = new Map<Candidate, KeylessVerdict>();
  const evaluations = new Map<string, Promise<PolicyValue>>();
  return Promise.all(requirements.map((req) => checkOne(req, ctx, keyless, evaluations)));
}

async function checkOne(
  req: AttestationRequirement,
  ctx: AttestationContext,
  keyless: Map<Candidate, KeylessVerdict>,
  evaluations: Map<string, Promise<PolicyValue>>,
): Promise<AttestationRecord> {
  const matching = ctx.candidates.filter((c) => c.statement?.predicateType === req.predicateType);
  const found = matching.filter((c) => !c.problem).length;
  const set: CandidateSet = { classic: [], bundles: matching, trust: ctx.trust, options: ctx.options, keyless };
  const trustRoots = req.policy.trustRoots.map((name) => {
    const record = verifyTrustRoot(ctx.roots.get(name)!, set);
    record.found = `${found} attestation(s) of this type`;
    return record;
  });
  const verifiedIds = new Map(trustRoots.map((r) => [r.name, r.attempts.filter((a) => a.verified).map((a) => a.signature)]));
  const verifiedBy = trustRoots.filter((r) => r.verified).map((r) => r.name);

  let satisfiedBy = verifiedBy;
  let policy: AttestationRecord['policy'];
  if (req.expression !== undefined) {
    const expression = req.expression;
    const ids = [...new Set([...verifiedIds.values()].flat())];
    const results = await Promise.all(ids.map(async (id): Promise<PolicyEvaluation> => {
      const candidate = matching.find((c) => c.id === id)!;
      const key = `${id}\n${expression}`;
      let pending = evaluations.get(key);
      if (!pending) {
        pending = ctx.evaluate(expression, candidate.statement!.json);
        evaluations.set(key, pending);
      }
      const r = await pending;
      return 'value' in r ? { attestation: id, value: r.value } : { attestation: id, error: r.error };
    }));
    const passing = new Set(results.filter((r) => r.value === true).map((r) => r.attestation));
    satisfiedBy = verifiedBy.filter((name) => verifiedIds.get(name)!.some((id) => passing.has(id)));
    const result = results.length === 0 ? 'not evaluated' : passing.size > 0 ? 'true' : results.some((r) => r.value === false) ? 'false' : 'error';
    policy = { expression, result, evaluations: results };
  }

  const meets = (roots: string[]): boolean => {
    const p = req.policy;
    if (!p.all) return roots.includes(p.trustRoots[0]!);
    return p.required.every((n) => roots.includes(n)) && roots.length >= p.threshold;
  };
  const satisfied = meets(satisfiedBy);
  const code: AttestationCode | undefined = satisfied ? undefined : found === 0 ? 'ATTESTATION_MISSING' : !meets(verifiedBy) ? 'ATTESTATION_SIGNATURE_INVALID' : 'ATTESTATION_POLICY_FAILED';
  const record: AttestationRecord = {
    predicateType: req.predicateType,
    configured: req.configured,
    satisfied,
    code,
    summary: '',
    found,
    notCounted: matching.length - found,
    rule: { trustRoots: req.policy.trustRoots, threshold: req.policy.threshold, required: req.policy.required },
    trustRoots,
    verifiedBy,
    satisfiedBy,
    policy,
  };
  record.summary = summarize(req, record);
  return record;
}

/** `vuln (https://…): found 1, signature verified (scanner), policy false: <expression>`. */
function summarize(req: AttestationRequirement, r: AttestationRecord): string {
  const parts: string[] = [];
  if (r.found === 0) {
    parts.push(r.notCounted > 0 ? `not found for this image (${notCountedReasons(r)})` : 'not found');
    return `${req.label}: ${parts.join(', ')}`;
  }
  parts.push(`found ${r.found}`);
  parts.push(signaturePart(req, r));
  if (r.policy && r.verifiedBy.length > 0) parts.push(policyPart(r.policy));
  return `${req.label}: ${parts.join(', ')}`;
}

function notCountedReasons(r: AttestationRecord): string {
  const reasons = r.trustRoots.filter((t) => !t.verified).map((t) => rootFailureSummary(t));
  return [...new Set(reasons)].slice(0, 3).join('; ') || `${r.notCounted} that do not count`;
}

/** Longest expression quoted in a denial (`explain` and the record have it whole). */
const MAX_QUOTED_EXPRESSION = 500;

/** The expression on one line (YAML block scalars keep line breaks), bounded. */
function quoted(expression: string): string {
  const line = expression.replace(/[ \t]*\r?\n[ \t]*/g, ' ').trim();
  return line.length <= MAX_QUOTED_EXPRESSION ? line : `${line.slice(0, MAX_QUOTED_EXPRESSION - 1)}…`;
}

function signaturePart(req: AttestationRequirement, r: AttestationRecord): string {
  const rule = req.policy;
  const wanted = rule.all ? ` (required: ${rule.required.length > 0 ? `${rule.required.join(', ')}; ` : ''}at least ${rule.threshold} of ${rule.trustRoots.join(', ')})` : '';
  if (r.verifiedBy.length === 0) {
    const why = r.trustRoots.map((t) => `${t.name}: ${rootFailureSummary(t)}`).join('; ');
    return `signature not verified${wanted} — ${why}`;
  }
  return `signature verified (${r.verifiedBy.join(', ')})${rule.all && r.code === 'ATTESTATION_SIGNATURE_INVALID' ? `, not enough${wanted}` : ''}`;
}

function policyPart(p: NonNullable<AttestationRecord['policy']>): string {
  if (p.result === 'true') return 'policy true';
  if (p.result === 'false') return `policy false: ${quoted(p.expression)}`;
  const errors = [...new Set(p.evaluations.map((e) => e.error).filter((e): e is string => !!e))];
  return `policy error (${errors.join('; ') || 'not evaluated'}): ${quoted(p.expression)}`;
}

/** The denial sentence: each required attestation, failing ones first. */
export function attestationDenial(records: AttestationRecord[]): { code: AttestationCode; message: string } | undefined {
  const failing = records.filter((r) => !r.satisfied);
  if (failing.length === 0) return undefined;
  const satisfied = records.filter((r) => r.satisfied);
  const message = `required attestations not satisfied (${failing.length} of ${records.length}): ${failing.map((r) => r.summary).join('; ')}`
    + (satisfied.length > 0 ? `; satisfied: ${satisfied.map((r) => r.summary).join('; ')}` : '');
  return { code: failing[0]!.code!, message };
}
