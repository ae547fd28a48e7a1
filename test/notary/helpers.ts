import { expect } from 'chai';
import { ImprimaturError } from '../../src/errors.js';
import type { ImageReference } from '../../src/image/types.js';
import { silentLogger } from '../../src/log.js';
import type { RuleOptions, ValidatorConfig } from '../../src/config/types.js';
import type { ValidationContext, ValidationOutcome, Validator } from '../../src/validators/types.js';
import { notaryV1ValidatorType } from '../../src/validators/notaryv1/index.js';

/** `sha256:` digest made of one repeated byte, e.g. digest('d1'). */
export function digest(byte: string): string {
  return `sha256:${byte.repeat(32)}`;
}

/** An image reference as the parser produces it (registry/repository, tag and/or digest). */
export function ref(name: string, tag?: string, dig?: string): ImageReference {
  const slash = name.indexOf('/');
  const normalized = `${name}${tag ? `:${tag}` : ''}${dig ? `@${dig}` : ''}`;
  return { original: normalized, registry: name.slice(0, slash), repository: name.slice(slash + 1), tag, digest: dig, name, normalized };
}

export function notaryValidator(host: string, ca: string | undefined, trustRoots: Array<{ name: string; key: string }>, name = 'notary'): Validator {
  const config: ValidatorConfig = { name, type: 'notaryv1', host, ...(ca ? { cert: ca } : {}), trustRoots };
  return notaryV1ValidatorType.create(config, {
    path: 'validators[0]',
    file: 'test.yaml',
    insecureRegistries: [],
    secretsDir: '/nonexistent',
    logger: silentLogger,
  });
}

export function ctx(opts: { now?: Date; timeoutMs?: number } = {}): ValidationContext {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return { signal: AbortSignal.timeout(timeoutMs), deadline: Date.now() + timeoutMs, logger: silentLogger, now: () => opts.now ?? new Date() };
}

export function rule(w: Partial<RuleOptions> = {}): RuleOptions {
  return { trustRoot: 'default', mode: 'mutate', ...w };
}

/** Awaits a denial and returns the typed error after checking its code (and message, if given). */
export async function denied(p: Promise<ValidationOutcome>, code: string, message?: string | RegExp): Promise<ImprimaturError> {
  let outcome: ValidationOutcome | undefined;
  try {
    outcome = await p;
  } catch (err) {
    expect(err).to.be.instanceOf(ImprimaturError);
    const e = err as ImprimaturError;
    expect(e.code, e.message).to.equal(code);
    if (typeof message === 'string') expect(e.message).to.equal(message);
    else if (message) expect(e.message).to.match(message);
    return e;
  }
  expect.fail(`expected a denial with ${code}, but the image was admitted with ${outcome?.digest}`);
}
