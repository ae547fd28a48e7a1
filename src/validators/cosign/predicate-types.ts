/**
 * Attestation predicate types: the short names `cosign attest --type` accepts, mapped to the URIs it
 * writes into the in-toto statement (cosign's `options.PredicateTypeMap`, v2.6 and v3.x), or any
 * absolute URI.
 */

export const PREDICATE_TYPES: Readonly<Record<string, string>> = {
  custom: 'https://cosign.sigstore.dev/attestation/v1',
  slsaprovenance: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance02: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance1: 'https://slsa.dev/provenance/v1',
  spdx: 'https://spdx.dev/Document',
  spdxjson: 'https://spdx.dev/Document',
  cyclonedx: 'https://cyclonedx.org/bom',
  link: 'https://in-toto.io/Link/v1',
  vuln: 'https://cosign.sigstore.dev/attestation/vuln/v1',
  openvex: 'https://openvex.dev/ns',
};

export type PredicateTypeResult = { ok: true; uri: string } | { ok: false; message: string };

/** The predicate type URI for a configured `predicateType` (short name or absolute URI). */
export function resolvePredicateType(value: string): PredicateTypeResult {
  const known = Object.hasOwn(PREDICATE_TYPES, value) ? PREDICATE_TYPES[value] : undefined;
  if (known) return { ok: true, uri: known };
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || !/^[a-z][a-z0-9+.-]*:$/.test(url.protocol) || value.trim() !== value) {
    return { ok: false, message: `"${value}" is neither a cosign predicate type (${Object.keys(PREDICATE_TYPES).join(', ')}) nor an absolute URI such as https://slsa.dev/provenance/v1` };
  }
  return { ok: true, uri: value };
}

/** `vuln (https://cosign.sigstore.dev/attestation/vuln/v1)` or just the URI when that is what was configured. */
export function describePredicateType(configured: string, uri: string): string {
  return configured === uri ? uri : `${configured} (${uri})`;
}
