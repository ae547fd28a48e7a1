/**
 * The validator types Imprimatur knows. Adding a type: a folder src/validators/<type>/ exporting a
 * ValidatorType, and one line here.
 */
import type { ValidatorType } from './types.js';
import { staticValidatorType } from './static/index.js';
import { cosignValidatorType } from './cosign/index.js';
import { notaryV1ValidatorType } from './notaryv1/index.js';
import { notationValidatorType } from './notation/index.js';

export const validatorTypes: readonly ValidatorType[] = [staticValidatorType, cosignValidatorType, notaryV1ValidatorType, notationValidatorType];

/** Types Connaisseur configs may name that this build does not implement yet. */
export const reservedValidatorTypes: readonly string[] = ['cosign', 'notaryv1', 'notation'].filter(
  (t) => !validatorTypes.some((v) => v.type === t),
);

export function findValidatorType(type: string): ValidatorType | undefined {
  return validatorTypes.find((t) => t.type === type);
}
