import { ImprimaturError } from '../../errors.js';
import type { ValidatorConfig } from '../../config/types.js';
import type { Validator, ValidatorType } from '../types.js';

/** Longest `message` accepted (it ends up in every denial of the rule, in logs and in alerts). */
export const MAX_STATIC_MESSAGE_CHARS = 1000;

/** The message as it is shown: whitespace runs (line breaks of a YAML block) become one space. */
export function staticMessage(config: ValidatorConfig): string | undefined {
  if (typeof config.message !== 'string') return undefined;
  const text = config.message.replace(/\s+/g, ' ').trim();
  return text === '' ? undefined : text;
}

/**
 * `static`: admits (approve: true) or denies (approve: false) every image its rules send to it.
 * `message` (optional, not in Connaisseur) replaces the default reason, e.g. to say why a whole
 * registry is denied and what to use instead.
 */
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
      message: {
        type: 'string',
        minLength: 1,
        maxLength: MAX_STATIC_MESSAGE_CHARS,
        description: 'Reason given for every image of the rule (the denial message with approve: false); line breaks become spaces.',
      },
    },
  },
  create(config: ValidatorConfig): Validator {
    const approve = config.approve === true;
    const message = staticMessage(config);
    return {
      name: config.name,
      type: 'static',
      cacheable: false,
      verifiesSignatures: false,
      async validate() {
        if (!approve) {
          throw new ImprimaturError('STATIC_DENY', message ?? `denied by static validator "${config.name}"`);
        }
        return { details: { summary: message ?? `approved by static validator "${config.name}"` } };
      },
    };
  },
};
