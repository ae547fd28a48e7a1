/** Shared setup of the cosign tests: validator creation, contexts, the vector files. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import yaml from 'js-yaml';
import { ImprimaturError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import type { RuleOptions, ValidatorConfig } from '../../src/config/types.js';
import type { ValidationContext, ValidationOutcome, Validator, ValidatorEnvironment } from '../../src/validators/types.js';
import { cosignValidatorType } from '../../src/validators/cosign/index.js';
import type { CosignRecord } from '../../src/validators/cosign/record.js';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'cosign');
export const VECTOR_REPO = 'securesystemsengineering/testimage';

export function fixtureText(name: string): string {
  return readFileSync(join(FIXTURES, name), 'utf8');
}

export function vectorConfig(name: string): ValidatorConfig {
  return yaml.load(fixtureText(name)) as ValidatorConfig;
}

export function env(insecureRegistries: string[] = [], path = 'validators[0]'): ValidatorEnvironment {
  return { path, file: 'test.yaml', insecureRegistries, secretsDir: '/nonexistent', logger: silentLogger };
}

export function ctx(timeoutMs = 20_000): ValidationContext {
  return { signal: AbortSignal.timeout(timeoutMs), deadline: Date.now() + timeoutMs, logger: silentLogger, now: () => new Date() };
}

export function rule(trustRoot: string, extra: Record<string, unknown> = {}): RuleOptions {
  return { trustRoot, mode: 'mutate', ...extra };
}

/**
 * A rule for key-based signatures made in the tests or by the vectors without a Rekor bundle ("no tlog"):
 * `verifyInTransparencyLog` defaults to true, so these rules turn it off explicitly.
 */
export function keyRule(trustRoot: string, extra: Record<string, unknown> = {}): RuleOptions {
  return rule(trustRoot, { verifyInTransparencyLog: false, ...extra });
}

/** A cosign validator config with key trust roots `{ name: pem }`. */
export function keyConfig(roots: Record<string, string>, extra: Record<string, unknown> = {}): ValidatorConfig {
  return { name: 'cosign-test', type: 'cosign', trustRoots: Object.entries(roots).map(([name, key]) => ({ name, key })), ...extra };
}

const open: Validator[] = [];

export function createValidator(config: ValidatorConfig, insecure: string[]): Validator {
  const problems = cosignValidatorType.check!(config, env(insecure));
  expect(problems, 'test config must be valid').to.deep.equal([]);
  const v = cosignValidatorType.create(config, env(insecure));
  open.push(v);
  return v;
}

export async function closeValidators(): Promise<void> {
  await Promise.all(open.splice(0).map((v) => v.close?.()));
}

/** Runs `p`, expecting an ImprimaturError; returns it. */
export async function denial(p: Promise<unknown>): Promise<ImprimaturError & { details: { record: CosignRecord } }> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(ImprimaturError);
    return err as ImprimaturError & { details: { record: CosignRecord } };
  }
  expect.fail('expected the image to be denied, but it was admitted');
}

/** The cosign record of a successful validation. */
export function recordOf(outcome: ValidationOutcome): CosignRecord {
  return outcome.details as CosignRecord;
}
