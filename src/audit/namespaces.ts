/**
 * Which namespaces the webhook covers, and in which mode: the same selection the chart's two webhook entries make
 * (helm/templates/_helpers.tpl, "imprimatur.namespaceSelector"), evaluated on a Namespace's labels.
 */
import { NAMESPACE_LABEL, type NamespaceMode } from '../admission/enforcement.js';

/** The label Kubernetes ≥ 1.21 sets on every namespace; the chart excludes namespaces by it. */
export const NAME_LABEL = 'kubernetes.io/metadata.name';

export interface NamespaceSelection {
  /** Never sent to the webhook: kube-system, the release namespace, kubernetes.webhook.excludedNamespaces. */
  excluded: ReadonlySet<string>;
  /** application.features.namespacedValidation.mode */
  validation: 'ignore' | 'validate';
  /** kubernetes.webhook.allowNamespaceDetection (default true): whether the label value `detect` means detection. */
  allowDetection: boolean;
}

export type Coverage =
  | { covered: true; mode: NamespaceMode; note?: string }
  | { covered: false; reason: string };

/** The chart's default selection for a release in `releaseNamespace`. */
export function defaultSelection(releaseNamespace: string, extra: { excluded?: string[]; validation?: 'ignore' | 'validate'; allowDetection?: boolean } = {}): NamespaceSelection {
  return {
    excluded: new Set(['kube-system', releaseNamespace, ...(extra.excluded ?? [])]),
    validation: extra.validation ?? 'ignore',
    allowDetection: extra.allowDetection ?? true,
  };
}

/**
 * Evaluates the namespaceSelector exactly as the API server does. The exclusion matches the label
 * `kubernetes.io/metadata.name`, so a namespace without it (Kubernetes 1.20) is covered even when its name is
 * excluded — `note` then says so, because that is almost certainly not what the operator wants.
 */
export function namespaceCoverage(name: string, labels: Record<string, string> | undefined, sel: NamespaceSelection): Coverage {
  const nameLabel = labels?.[NAME_LABEL];
  if (nameLabel !== undefined && sel.excluded.has(nameLabel)) {
    return { covered: false, reason: name === 'kube-system' ? 'kube-system is never sent to the webhook' : `excluded from the webhook (${[...sel.excluded].join(', ')})` };
  }
  const note = nameLabel === undefined && sel.excluded.has(name)
    ? `namespace ${name} has no label ${NAME_LABEL} (Kubernetes < 1.21), so the webhook's exclusion of it does not apply; label it (docs/helm.md)`
    : undefined;
  const value = labels?.[NAMESPACE_LABEL];
  const covered = (mode: NamespaceMode): Coverage => ({ covered: true, mode, ...(note ? { note } : {}) });
  if (value === 'detect') return covered(sel.allowDetection ? 'detect' : 'enforce');
  if (sel.validation === 'validate') {
    return value === 'validate'
      ? covered('enforce')
      : { covered: false, reason: `not labelled ${NAMESPACE_LABEL}=validate (namespacedValidation.mode is validate)` };
  }
  if (value === 'ignore') return { covered: false, reason: `labelled ${NAMESPACE_LABEL}=ignore` };
  return covered('enforce');
}
