/**
 * `notaryv1` validator type: verifies Notary v1 / Docker Content Trust signatures (TUF metadata
 * from a Notary server), pinned to the public key of each repository's root key.
 */
import type { ConfigProblem } from '../../errors.js';
import { createHttpTransport } from '../../registry/http.js';
import type { RuleOptions, ValidatorConfig } from '../../config/types.js';
import type { ValidatorEnvironment, ValidatorType } from '../types.js';
import { ConfigError } from '../../errors.js';
import { DELEGATION_PATTERN, notaryV1ConfigSchema, notaryV1RuleOptionsSchema } from './schema.js';
import { readSettings } from './settings.js';
import { NotaryV1Validator } from './validator.js';

export { NotaryV1Validator } from './validator.js';
export { NOTARY_ERRORS } from './errors.js';
export type { NotaryV1Settings } from './settings.js';

/** Per-request timeout towards Notary; the admission deadline (ValidationContext.signal) bounds the total. */
const NOTARY_REQUEST_TIMEOUT_MS = 5000;

function checkRuleOptions(options: RuleOptions, _config: ValidatorConfig, path: string): ConfigProblem[] {
  // Whether options.trustRoot names a trust root of this validator is checked by the config loader.
  const problems: ConfigProblem[] = [];
  if (options.delegations !== undefined) {
    if (!Array.isArray(options.delegations)) {
      problems.push({ path: `${path}.delegations`, message: 'must be a list of delegation names, e.g. [releases]' });
    } else {
      const re = new RegExp(DELEGATION_PATTERN);
      options.delegations.forEach((d, i) => {
        if (typeof d !== 'string' || !re.test(d)) {
          problems.push({ path: `${path}.delegations[${i}]`, message: `${JSON.stringify(d)} is not a delegation name (e.g. "releases" or "targets/releases")` });
        }
      });
    }
  }
  return problems;
}

export const notaryV1ValidatorType: ValidatorType = {
  type: 'notaryv1',
  configSchema: notaryV1ConfigSchema,
  ruleOptionsSchema: notaryV1RuleOptionsSchema,
  check: (config: ValidatorConfig, env: ValidatorEnvironment) => readSettings(config, env.path).problems,
  checkRuleOptions,
  create(config: ValidatorConfig, env: ValidatorEnvironment) {
    const { settings, problems } = readSettings(config, env.path);
    if (!settings) throw new ConfigError(env.file, problems);
    const transport = createHttpTransport({
      ca: settings.ca,
      secretName: settings.secretName,
      username: settings.username,
      password: settings.password,
      // username/password are for the Notary host and nothing else (or for Connaisseur's auth.registry when set)
      registries: [settings.registry ?? settings.host],
      // a mounted Connaisseur secret.yaml without `registry` is for the Notary host
      defaultRegistry: settings.host,
      tokenHosts: settings.tokenHosts,
      secretsDir: env.secretsDir,
      insecureRegistries: [], // Notary is always reached over HTTPS
      requestTimeoutMs: NOTARY_REQUEST_TIMEOUT_MS,
      logger: env.logger,
    });
    return new NotaryV1Validator(settings, transport);
  },
};
