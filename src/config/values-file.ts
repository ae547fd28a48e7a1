/**
 * The parts of a Helm values file the program does not run on but must still check: every top-level key is one
 * of the chart's sections (or an error saying where it belongs), and `kubernetes:` matches the chart's schema.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import type { ConfigProblem } from '../errors.js';
import { kubernetesNoEffectWarnings } from './connaisseur-keys.js';
import { kubernetesSchema } from './kubernetes-schema.js';
import { placementHint } from './placement.js';
import { schemaProblems } from './schema-errors.js';

export const VALUES_SECTIONS = ['kubernetes', 'application', 'alerting'] as const;

let validateKubernetes: ValidateFunction | undefined;

/** Problems with the top-level keys of a values file. */
export function topLevelProblems(top: Record<string, unknown>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const key of Object.keys(top)) {
    if ((VALUES_SECTIONS as readonly string[]).includes(key)) continue;
    const hint = placementHint(key, '', true);
    problems.push({
      path: key,
      message: hint
        ? `is not a top-level key of a values file; ${hint}`
        : `unknown top-level key "${key}"; a values file has only ${VALUES_SECTIONS.join(', ')} (is it indented under the wrong section, or misspelt?)`,
    });
  }
  return problems;
}

/** Schema problems and no-effect warnings of the `kubernetes:` section. */
export function kubernetesSection(kubernetes: unknown): { problems: ConfigProblem[]; warnings: ConfigProblem[] } {
  if (kubernetes === undefined || kubernetes === null) return { problems: [], warnings: [] };
  validateKubernetes ??= new Ajv({ allErrors: true, strict: false, verbose: true }).compile(kubernetesSchema);
  if (!validateKubernetes(kubernetes)) return { problems: schemaProblems(validateKubernetes.errors, 'kubernetes.'), warnings: [] };
  return { problems: [], warnings: kubernetesNoEffectWarnings(kubernetes) };
}
