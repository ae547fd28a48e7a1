/**
 * The namespace selection a config file implies: `features.namespacedValidation.mode` from the program config and,
 * when the file is a whole Helm values file, `kubernetes.webhook.excludedNamespaces` and
 * `kubernetes.webhook.allowNamespaceDetection` — the values the chart renders into its namespaceSelectors.
 */
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import type { AppConfig } from '../config/types.js';
import { ConfigError, type ConfigProblem } from '../errors.js';
import { defaultSelection, type NamespaceSelection } from './namespaces.js';

export function selectionFromConfig(config: AppConfig, releaseNamespace: string): NamespaceSelection {
  let webhook: Record<string, unknown> = {};
  if (config.prefix === 'application.') {
    const doc = yaml.load(readFileSync(config.file, 'utf8')) as { kubernetes?: { webhook?: unknown } } | null;
    const w = doc?.kubernetes?.webhook;
    if (w !== undefined && w !== null && typeof w === 'object' && !Array.isArray(w)) webhook = w as Record<string, unknown>;
  }
  const problems: ConfigProblem[] = [];
  const excluded = webhook.excludedNamespaces ?? [];
  if (!Array.isArray(excluded) || !excluded.every((n) => typeof n === 'string')) {
    problems.push({ path: 'kubernetes.webhook.excludedNamespaces', message: 'must be a list of namespace names' });
  }
  const allow = webhook.allowNamespaceDetection ?? true;
  if (typeof allow !== 'boolean') problems.push({ path: 'kubernetes.webhook.allowNamespaceDetection', message: `must be true or false (got ${JSON.stringify(allow)})` });
  if (problems.length > 0) throw new ConfigError(config.file, problems);
  return defaultSelection(releaseNamespace, {
    excluded: excluded as string[],
    validation: config.features.namespacedValidation.mode,
    allowDetection: allow as boolean,
  });
}
