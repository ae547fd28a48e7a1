/**
 * Staged enforcement: whether a failed verification blocks (`enforce`) or is admitted with a warning and an
 * alert (`detect`), and which setting decided it. Three places can ask for detection, checked in this order;
 * the first that does wins:
 *   1. `global`    — `features.detectionMode: true` (the whole webhook);
 *   2. `namespace` — the namespace carries the label `imprimatur.dev/webhook=detect` (the API server sends it
 *                    through the webhook entry registered for those namespaces, path `/mutate/detect`);
 *   3. `rule`      — the policy rule sets `with.enforcement: detect` (or `enforce`, which is also the default).
 * Nothing asks for detection → `enforce`, source `rule` when the rule says `enforce` explicitly, else `default`.
 */

export type Enforcement = 'enforce' | 'detect';
export type EnforcementSource = 'global' | 'namespace' | 'rule' | 'default';

export interface ResolvedEnforcement {
  enforcement: Enforcement;
  source: EnforcementSource;
}

/** The namespace label the chart's namespaceSelector uses (values `ignore`, `validate`, `detect`). */
export const NAMESPACE_LABEL = 'imprimatur.dev/webhook';

/** What the webhook entry that called us says about the request's namespace. */
export type NamespaceMode = 'enforce' | 'detect';

export function resolveEnforcement(globalDetection: boolean, namespaceMode: NamespaceMode | undefined, rule: Enforcement | undefined): ResolvedEnforcement {
  if (globalDetection) return { enforcement: 'detect', source: 'global' };
  if (namespaceMode === 'detect') return { enforcement: 'detect', source: 'namespace' };
  if (rule) return { enforcement: rule, source: 'rule' };
  return { enforcement: 'enforce', source: 'default' };
}

/** Human words for a resolved enforcement, e.g. for `explain` and the audit table. */
export function describeEnforcement(r: ResolvedEnforcement): string {
  switch (r.source) {
    case 'global':
      return 'detect (global: features.detectionMode is true)';
    case 'namespace':
      return `detect (namespace label ${NAMESPACE_LABEL}=detect)`;
    case 'rule':
      return `${r.enforcement} (rule: with.enforcement is ${r.enforcement})`;
    default:
      return 'enforce (default)';
  }
}

/** How a warning names where detection came from: no qualifier for the global switch (as always), else the level. */
export function detectionPrefix(source: EnforcementSource): string {
  return source === 'global' ? 'detection mode' : `detection mode (${source})`;
}
