/**
 * JSON from registries, parsed with a bound on its structure. Parsing multiplies memory: 4 MiB of `[{},{},…]` becomes
 * ~80 MiB of objects on the heap (measured on Node 20), enough to exhaust the webhook's heap with two such answers.
 * A document is therefore scanned first (linear, no allocation) and refused when it holds more than MAX_JSON_VALUES
 * values — no manifest, index or signature document comes near that — and its parsed size is estimated so the
 * caller can reserve it in the byte budget before parsing.
 */
import { ImprimaturError } from '../errors.js';

/** More values than this in one document is refused (a 64-layer signature manifest holds a few hundred). */
export const MAX_JSON_VALUES = 100_000;
/** Heap bytes per JSON value (object, array, number, string header) assumed when reserving memory for a parse. */
export const HEAP_BYTES_PER_VALUE = 64;

/**
 * Number of values in a JSON text: the root, plus the first element of every non-empty array or object, plus one
 * per `,` — counted outside strings, in one pass without allocating.
 */
export function countJsonValues(body: Buffer): number {
  let values = 1;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x2c) values++;
    else if (c === 0x7b || c === 0x5b) {
      let j = i + 1;
      while (j < body.length && (body[j] === 0x20 || body[j] === 0x0a || body[j] === 0x0d || body[j] === 0x09)) j++;
      if (j < body.length && body[j] !== 0x7d && body[j] !== 0x5d) values++;
    }
  }
  return values;
}

/** Memory a parse of `body` may take: its strings plus a fixed cost per value. */
export function parsedSizeEstimate(body: Buffer, values = countJsonValues(body)): number {
  return body.length + values * HEAP_BYTES_PER_VALUE;
}

/** Throws RESPONSE_TOO_COMPLEX (naming `what` and `registry`) when `body` has more values than allowed. */
export function checkJsonComplexity(body: Buffer, what: string, registry: string, values = countJsonValues(body)): void {
  if (values > MAX_JSON_VALUES) {
    throw new ImprimaturError(
      'RESPONSE_TOO_COMPLEX',
      `registry ${registry} answered ${what} with a JSON document of about ${values} values; more than ${MAX_JSON_VALUES} is refused (no signature data needs that many)`,
      { registry, values },
    );
  }
}
