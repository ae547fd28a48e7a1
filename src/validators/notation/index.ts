/**
 * `notation` validator type (Connaisseur-compatible configuration): Notary Project signatures (JWS and
 * COSE envelopes) found as OCI referrers, verified against per-trust-root certificates (`cert`), trusted
 * identities and timestamp authorities (`tsCert`) with the Notary Project's verification levels.
 */
import type { ConfigProblem } from '../../errors.js';
import type { RuleOptions, ValidatorConfig } from '../../config/types.js';
import { validatorRegistryClient } from '../registry-access.js';
import type { Validator, ValidatorEnvironment, ValidatorType } from '../types.js';
import { checkPolicyOptions } from '../cosign/policy.js';
import { checkNotationConfig, notationWarnings, parseNotationConfig } from './config.js';
import { notationConfigSchema, notationRuleOptionsSchema } from './schema.js';
import { OnlineRevocation, offlineRevocation } from './revocation.js';
import { NotationValidator } from './validator.js';

export { NotationValidator } from './validator.js';
export type { NotationRecord } from './record.js';

export const notationValidatorType: ValidatorType = {
  type: 'notation',
  configSchema: notationConfigSchema,
  ruleOptionsSchema: notationRuleOptionsSchema,
  check(config: ValidatorConfig, env: ValidatorEnvironment): ConfigProblem[] {
    return checkNotationConfig(config, env.path);
  },
  checkRuleOptions(options: RuleOptions, config: ValidatorConfig, path: string): ConfigProblem[] {
    const problems = checkPolicyOptions(options, config, path);
    // The Notary Project trust policy: "A skip level cannot be customized."
    if (options.verificationLevel === 'skip' && options.verificationOverride !== undefined) {
      problems.push({ path: `${path}.verificationOverride`, message: 'cannot be combined with verificationLevel: skip, which verifies nothing (as in Notation trust policies); remove one of the two' });
    }
    return problems;
  },
  warnings(config: ValidatorConfig, env: ValidatorEnvironment): ConfigProblem[] {
    return notationWarnings(parseNotationConfig(config), env.path);
  },
  create(config: ValidatorConfig, env: ValidatorEnvironment): Validator {
    const parsed = parseNotationConfig(config);
    const client = validatorRegistryClient(parsed.cert, parsed.auth, env);
    return new NotationValidator(parsed, client, parsed.revocationCheck === 'online' ? new OnlineRevocation() : offlineRevocation);
  },
};
