/**
 * Where each well-known key belongs in a values file, so a key written in the wrong place gets an error that says
 * where to move it (`features:` at the top level → `application.features`), not just "unknown key".
 */

const HOMES: Record<string, string> = {
  // the sections of a values file
  kubernetes: '',
  application: '',
  alerting: '',
  // application:
  validators: 'application',
  policy: 'application',
  features: 'application',
  insecureRegistries: 'application',
  logLevel: 'application',
  logFormat: 'application',
  admissionDeadlineSeconds: 'application',
  alerts: 'application',
  // application.features:
  detectionMode: 'application.features',
  automaticUnchangedApproval: 'application.features',
  automaticChildApproval: 'application.features',
  resourceValidationMode: 'application.features',
  namespacedValidation: 'application.features',
  cache: 'application.features',
  expirySeconds: 'application.features.cache',
  cacheErrors: 'application.features.cache',
  // alerting:
  clusterIdentifier: 'alerting',
  templateDirectory: 'alerting',
  admitRequest: 'alerting',
  rejectRequest: 'alerting',
  // kubernetes:
  deployment: 'kubernetes',
  service: 'kubernetes',
  serviceaccount: 'kubernetes',
  webhook: 'kubernetes',
  podDisruptionBudget: 'kubernetes',
  redis: 'kubernetes',
  alertTemplates: 'kubernetes',
  workloadCredentials: 'kubernetes',
  additionalLabels: 'kubernetes',
  // kubernetes.deployment:
  replicasCount: 'kubernetes.deployment',
  envs: 'kubernetes.deployment',
  heapLimitMiB: 'kubernetes.deployment',
};

/**
 * Where `key` belongs, written for the kind of document being read: in a values file (`helm`) the full path of
 * its parent (`application.features`); in a bare application config the same without `application.`, and keys of
 * the chart (`kubernetes…`) belong to a values file. Undefined when the key is not a well-known one.
 */
export function homeOf(key: string, helm: boolean): { parent: string; inValuesFileOnly: boolean } | undefined {
  const home = HOMES[key];
  if (home === undefined) return undefined;
  if (helm) return { parent: home, inValuesFileOnly: false };
  if (home === 'kubernetes' || home.startsWith('kubernetes.') || key === 'kubernetes' || key === 'application') return { parent: home, inValuesFileOnly: true };
  return { parent: home.replace(/^application\.?/, ''), inValuesFileOnly: false };
}

/** The sentence telling the user where an out-of-place `key` (found at `parentPath`) should go, or undefined. */
export function placementHint(key: string, parentPath: string, helm: boolean): string | undefined {
  const home = homeOf(key, helm);
  if (!home || home.parent === parentPath) return undefined;
  if (home.inValuesFileOnly) {
    return `"${key}" belongs to a Helm values file (${home.parent ? `${home.parent}.` : ''}${key}), not to a bare application config`;
  }
  if (home.parent === '') return `"${key}" is a top-level section; move it out of ${parentPath || 'here'} to the top level`;
  return `it belongs under ${home.parent}: move it to ${home.parent}.${key}`;
}
