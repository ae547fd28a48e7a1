/** Content digests. Only sha256 is accepted, with its 64 lower-case hex characters. */

import { quoteInput } from './quote.js';

const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;
const HEX_64 = /^[a-fA-F0-9]{64}$/;

export function isSha256Digest(digest: string): boolean {
  return SHA256_DIGEST.test(digest);
}

/** Why `digest` is not a usable `sha256:<64 lower-case hex>` digest, or undefined when it is. */
export function digestProblem(digest: string): string | undefined {
  if (isSha256Digest(digest)) return undefined;
  const colon = digest.indexOf(':');
  if (colon <= 0) return `digest ${quoteInput(digest)} must have the form "sha256:<64 lower-case hex characters>"`;
  const algorithm = digest.slice(0, colon);
  if (algorithm !== 'sha256') {
    return `digest algorithm ${quoteInput(algorithm)} is not supported; only sha256 digests are accepted`;
  }
  const hex = digest.slice(colon + 1);
  if (HEX_64.test(hex)) return 'the sha256 digest must be written in lower-case hexadecimal';
  if (hex.length !== 64) return `a sha256 digest has 64 hexadecimal characters, but ${quoteInput(hex)} has ${hex.length}`;
  return `a sha256 digest may only contain the characters 0-9 and a-f, but ${quoteInput(hex)} contains others`;
}
