/**
 * `cosign` validator type (Connaisseur-compatible configuration): classic cosign signatures
 * (`sha256-<hex>.sig` tag) and Sigstore bundles (OCI referrers), key-based and keyless (Fulcio
 * identity) trust roots, transparency log (Rekor) verification offline against `host.*` trust material.
 */
import type { ConfigProblem } from '../../errors.js';
import type { RuleOptions, ValidatorConfig } from '../../config/types.js';
import { validatorRegistryClient } from '../registry-access.js';
import type { Validator, ValidatorEnvironment, ValidatorType } from '../types.js';
import { checkCosignConfig, parseCosignConfig } from './config.js';
import { checkAttestationOptions } from './attestation-options.js';
import { checkPolicyOptions } from './policy.js';
import { cosignConfigSchema, cosignRuleOptionsSchema } from './schema.js';
import { CosignValidator } from './validator.js';

export { CosignValidator } from './validator.js';
export type { CosignRecord, TrustRootRecord, SignatureAttempt } from './record.js';

export const cosignValidatorType: ValidatorType = {
  type: 'cosign',
  configSchema: cosignConfigSchema,
  ruleOptionsSchema: cosignRuleOptionsSchema,
  check(config: ValidatorConfig, env: ValidatorEnvironment): ConfigProblem[] {
    return checkCosignConfig(config, env.path, env.file);
  },
  checkRuleOptions(options: RuleOptions, config: ValidatorConfig, path: string): ConfigProblem[] {
    return [...checkPolicyOptions(options, config, path), ...checkAttestationOptions(options, config, path)];
  },
  create(config: ValidatorConfig, env: ValidatorEnvironment): Validator {
    const parsed = parseCosignConfig(config, env.file);
    if (parsed.auth.useKeychain) {
      env.logger.warn({ validator: parsed.name }, 'auth.useKeychain is not supported; the registry is accessed without credentials unless auth.secretName or auth.username is set');
    }
    const client = validatorRegistryClient(parsed.cert, parsed.auth, env);
    return new CosignValidator(parsed, client);
  },
};
