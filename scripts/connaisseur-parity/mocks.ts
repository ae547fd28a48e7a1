/**
 * Connaisseur's test validators (test/testhelper/mock_validator.go), re-created so its handler tables can run
 * through Imprimatur's real server: the Go tests append them to the loaded config; here they replace same-named
 * static validators after the config has loaded.
 */
import { ImprimaturError } from '../../src/errors.js';
import type { ImageReference } from '../../src/image/types.js';
import type { ValidationContext, ValidationOutcome, Validator } from '../../src/validators/types.js';

const DIGEST = 'sha256:1234567890123456123456789012345612345678901234561234567890123456';

type Behaviour = (image: ImageReference) => string;

const behaviours: Record<string, Behaviour> = {
  MockValidator: (image) => {
    switch (image.original) {
      case 'securesystemsengineering/alice-image:test':
      case `securesystemsengineering/alice-image@${DIGEST}`:
      case `securesystemsengineering/alice-image:test@${DIGEST}`:
        return DIGEST;
      case 'busybox':
        throw new ImprimaturError('MOCK_DENIED', 'unabled to find signed digest for image docker.io/library/busybox:latest');
      case 'invalid-digest':
        return 'sha256:123';
      default:
        throw new ImprimaturError('MOCK_DENIED', `unknown image ${image.original}`);
    }
  },
  MockAllowValidator: () => DIGEST,
  MockDenyValidator: () => {
    throw new ImprimaturError('MOCK_DENIED', 'mock validation failure');
  },
  Panic: () => {
    throw new Error('not implemented (Connaisseur: a nil validator that panics if called)');
  },
};

export function mockValidator(name: string, behaviour: string, slowMs = 0): Validator {
  const run = behaviours[behaviour];
  if (!run) throw new Error(`unknown mock ${behaviour}`);
  return {
    name,
    type: 'mock',
    cacheable: false,
    async validate(image: ImageReference, _options, ctx: ValidationContext): Promise<ValidationOutcome> {
      if (slowMs > 0) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, slowMs);
          ctx.signal.addEventListener('abort', () => {
            clearTimeout(t);
            resolve();
          }, { once: true });
        });
      }
      const digest = run(image);
      return { digest, details: { summary: `mock ${behaviour} returned ${digest}` } };
    },
  };
}
