/**
 * Checks of what a config needs from the place it runs: mounted registry secrets, and the registries it may
 * reach over plain HTTP. In `serve` mode a missing secret is an error; in `check` mode (CI, no cluster secrets)
 * it is a warning, since only the pod has it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ImprimaturError, type ConfigProblem } from '../errors.js';
import { DockerConfigFile } from '../registry/credentials.js';
import type { LoadContext } from './load-context.js';
import type { ValidatorConfig } from './types.js';

/** The credential files a mounted secret may hold (dockerconfigjson, or Connaisseur's secret.yaml). */
export const SECRET_FILES = ['.dockerconfigjson', 'secret.yaml'];

export function authSecretProblems(validators: ValidatorConfig[], prefix: string, context: LoadContext): { problems: ConfigProblem[]; warnings: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const warnings: ConfigProblem[] = [];
  validators.forEach((v, i) => {
    const auth = v.auth as { secretName?: unknown } | undefined;
    if (!auth || typeof auth.secretName !== 'string' || auth.secretName === '') return;
    const dir = join(context.secretsDir, auth.secretName);
    const path = `${prefix}validators[${i}].auth.secretName`;
    if (SECRET_FILES.some((f) => existsSync(join(dir, f)))) {
      // Mounted here: it must be readable (a broken secret fails every pull; better to say so now).
      const ownHost = v.type === 'notaryv1' ? String(v.host ?? 'notary.docker.io').replace(/^https:\/\//, '').replace(/\/+$/, '') : undefined;
      try {
        new DockerConfigFile(join(dir, '.dockerconfigjson'), auth.secretName, ownHost).entries();
      } catch (err) {
        if (!(err instanceof ImprimaturError)) throw err;
        problems.push({ path, message: err.message });
      }
      return;
    }
    if (context.mode === 'check') {
      warnings.push({ path, message: `secret "${auth.secretName}" is not mounted here (${dir}); the pod reads it from ${join('/app/secrets', auth.secretName)} — create the Secret in the release namespace before installing` });
    } else {
      problems.push({
        path,
        message: `secret "${auth.secretName}" is not mounted: neither ${join(dir, '.dockerconfigjson')} nor ${join(dir, 'secret.yaml')} exists; create the kubernetes.io/dockerconfigjson Secret (the chart mounts it) or fix the name`,
      });
    }
  });
  return { problems, warnings };
}

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;
const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)(:[0-9]{1,5})?$/;
const LOOPBACK_OR_IP = /^(localhost|\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\])$/;

/** `insecureRegistries` entries: `host[:port]` as image references write them. */
export function insecureRegistryProblems(entries: unknown, prefix: string): { problems: ConfigProblem[]; warnings: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const warnings: ConfigProblem[] = [];
  if (!Array.isArray(entries)) return { problems, warnings };
  entries.forEach((entry, i) => {
    if (typeof entry !== 'string') return;
    const path = `${prefix}insecureRegistries[${i}]`;
    const bare = entry.replace(SCHEME, '').replace(/\/+$/, '');
    if (SCHEME.test(entry)) {
      problems.push({ path, message: `${JSON.stringify(entry)} has a scheme; write the registry as image references do, without it: "${bare}" (entries here are always reached over plain HTTP)` });
      return;
    }
    if (entry.includes('/')) {
      problems.push({ path, message: `${JSON.stringify(entry)} has a path; a registry is host[:port], e.g. "${entry.split('/')[0]}"` });
      return;
    }
    if (entry !== entry.toLowerCase()) {
      problems.push({ path, message: `${JSON.stringify(entry)} has upper-case letters; registry hosts are compared in lower case: write "${entry.toLowerCase()}"` });
      return;
    }
    if (!HOST_PORT.test(entry)) {
      problems.push({ path, message: `${JSON.stringify(entry)} is not a registry host[:port], e.g. "registry.local:5000" or "10.0.0.5:5000"` });
      return;
    }
    if (LOOPBACK_OR_IP.test(entry)) {
      warnings.push({
        path,
        message: `"${entry}" has no port, so it covers only ${entry} on port 80 (images written "${entry}/…"), never "${entry}:5000/…"; write the port as the image references do, e.g. "${entry}:5000"`,
      });
    }
  });
  return { problems, warnings };
}
