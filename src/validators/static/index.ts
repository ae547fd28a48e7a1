import { ImprimaturError } from '../../errors.js';
import type { ValidatorConfig } from '../../config/types.js';
import type { Validator, ValidatorType } from '../types.js';

/** `static`: admits (approve: true) or denies (approve: false) every image its rules send to it. */
export const staticValidatorType: ValidatorType = {
  type: 'static',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['name', 'type', 'approve'],
    properties: {
      name: { type: 'string' },
      type: { const: 'static' },
      approve: { type: 'boolean', description: 'true admits every image of the rule, false denies it.' },
    },
  },
  create(config: ValidatorConfig): Validator {
    const approve = config.approve === true;
    return {
      name: config.name,
      type: 'static',
      cacheable: false,
      async validate() {
        if (!approve) {
          throw new ImprimaturError('STATIC_DENY', `denied by static validator "${config.name}"`);
        }
        return { details: { summary: `approved by static validator "${config.name}"` } };
      },
    };
  },
};
