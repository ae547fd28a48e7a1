/** Small helpers for tests that expect a typed failure within a deadline. */
import { expect } from 'chai';
import { ImprimaturError } from '../../src/errors.js';

/** A signal that aborts after `ms` (default 15 s): the admission deadline a test grants. */
export function deadline(ms = 15_000): AbortSignal {
  return AbortSignal.timeout(ms);
}

/** Awaits `p`, expecting it to reject with an ImprimaturError, and returns that error. */
export async function failure(p: Promise<unknown>): Promise<ImprimaturError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected the call to fail').to.be.instanceOf(ImprimaturError);
  return err as ImprimaturError;
}
