import { createHash } from 'node:crypto';
import { NOTARY_ERRORS, notaryError } from './errors.js';
import type { TrustChain, VerifiedTargets } from './verify.js';

/** Which digest the trust data signs for an image reference, and which roles vouched for it. */
export interface Resolution {
  /** `sha256:<hex>`. */
  digest: string;
  /** Roles whose signed targets were used (e.g. `targets/releases`). */
  roles: string[];
}

export const RELEASES_ROLE = 'targets/releases';

/** `releases` → `targets/releases`; `targets/x` stays. */
export function delegationRoleName(name: string): string {
  return name === 'targets' || name.startsWith('targets/') ? name : `targets/${name}`;
}

/** Whether `role` (and every role delegating to it) is allowed to sign `target` (TUF `paths`/`path_hash_prefixes`). */
function mayHold(role: VerifiedTargets, target: string): boolean {
  for (let r: VerifiedTargets | undefined = role; r?.delegation; r = r.parent) {
    const { paths, pathHashPrefixes } = r.delegation;
    if (paths) {
      if (!paths.some((p) => target.startsWith(p))) return false;
    } else if (pathHashPrefixes) {
      const h = createHash('sha256').update(target).digest('hex');
      if (!pathHashPrefixes.some((p) => h.startsWith(p))) return false;
    } else return false;
  }
  return true;
}

function hexOf(role: VerifiedTargets, target: string, b: Buffer | undefined): string {
  if (!b || b.length !== 32) {
    throw notaryError(NOTARY_ERRORS.badMetadata, `target ${target} in ${role.name} has no valid sha256 hash`, { role: role.name, target });
  }
  return `sha256:${b.toString('hex')}`;
}

/** The digest `role` signs for `tag`, if any. */
function signedDigest(role: VerifiedTargets, tag: string): string | undefined {
  const t = Object.hasOwn(role.meta.targets, tag) ? role.meta.targets[tag] : undefined;
  if (!t || !mayHold(role, tag)) return undefined;
  return hexOf(role, tag, t.hashes.sha256);
}

function signsDigest(role: VerifiedTargets, digest: string): boolean {
  return Object.entries(role.meta.targets).some(([name, t]) => t.hashes.sha256?.length === 32 && `sha256:${t.hashes.sha256.toString('hex')}` === digest && mayHold(role, name));
}

function conflict(tag: string, signed: Array<[string, string]>): never {
  throw notaryError(
    NOTARY_ERRORS.conflictingDigests,
    `tag ${tag} is signed with different digests: ${signed.map(([r, d]) => `${r} signed ${d}`).join(', ')}`,
    { tag, signed: Object.fromEntries(signed) },
  );
}

/**
 * Resolves an image reference against verified trust data.
 * - Without required delegations a tag resolves through `targets/releases` when that role exists,
 *   else through `targets`; if both sign the tag, they must agree.
 * - With required delegations every one of them must sign the tag, all with the same digest.
 * - A reference with tag and digest must match the signed digest; a digest-only reference must be
 *   among the targets signed by the same roles.
 */
export async function resolve(chain: TrustChain, ref: { tag?: string; digest?: string }, requiredDelegations: readonly string[]): Promise<Resolution> {
  const releases = await chain.delegation(RELEASES_ROLE);
  const base: VerifiedTargets[] = [chain.topTargets, ...(releases ? [releases] : [])];
  const required = await Promise.all(
    [...new Set(requiredDelegations.map(delegationRoleName))].map(async (name) => ({ name, role: name === 'targets' ? chain.topTargets : await chain.delegation(name) })),
  );

  if (ref.tag === undefined) {
    const digest = ref.digest;
    if (!digest) throw notaryError(NOTARY_ERRORS.badMetadata, 'image reference has neither tag nor digest');
    if (required.length === 0) {
      const primary = releases ?? chain.topTargets;
      if (!signsDigest(primary, digest)) throw notaryError(NOTARY_ERRORS.tagNotSigned, `digest ${digest} not signed in ${primary.name}`, { digest, role: primary.name });
      return { digest, roles: [primary.name] };
    }
    for (const r of required) {
      if (!r.role || !signsDigest(r.role, digest)) throw notaryError(NOTARY_ERRORS.delegationMissing, `delegation ${r.name} did not sign ${digest}`, { delegation: r.name, digest });
    }
    return { digest, roles: required.map((r) => r.name) };
  }

  const tag = ref.tag;
  const signed: Array<[string, string]> = [];
  let roles: string[];
  if (required.length === 0) {
    const primary = releases ?? chain.topTargets;
    const d = signedDigest(primary, tag);
    if (!d) throw notaryError(NOTARY_ERRORS.tagNotSigned, `tag ${tag} not signed in ${primary.name}`, { tag, role: primary.name });
    signed.push([primary.name, d]);
    roles = [primary.name];
  } else {
    for (const r of required) {
      const d = r.role ? signedDigest(r.role, tag) : undefined;
      if (!d) throw notaryError(NOTARY_ERRORS.delegationMissing, `delegation ${r.name} did not sign ${tag}`, { delegation: r.name, tag });
      signed.push([r.name, d]);
    }
    roles = required.map((r) => r.name);
  }
  // Any other signature of the same tag in targets or targets/releases must agree too.
  for (const b of base) {
    if (signed.some(([n]) => n === b.name)) continue;
    const d = signedDigest(b, tag);
    if (d) signed.push([b.name, d]);
  }
  const digests = new Set(signed.map(([, d]) => d));
  if (digests.size > 1) conflict(tag, signed);
  const digest = signed[0]![1];
  if (ref.digest !== undefined && ref.digest !== digest) {
    throw notaryError(NOTARY_ERRORS.digestMismatch, 'signed digest differs from the requested digest', { tag, signed: digest, requested: ref.digest });
  }
  return { digest, roles };
}
