/** Opens a signature envelope by its layer media type (JWS or COSE), verifying its integrity. */
import { openCose } from './cose-envelope.js';
import { COSE_MEDIA_TYPE, EnvelopeError, JWS_MEDIA_TYPE, type EnvelopeContent } from './envelope.js';
import { openJws } from './jws-envelope.js';

/** Throws EnvelopeError (with the reason) on any integrity failure. */
export function openEnvelope(mediaType: string, blob: Buffer): EnvelopeContent {
  if (mediaType === JWS_MEDIA_TYPE) return openJws(blob);
  if (mediaType === COSE_MEDIA_TYPE) return openCose(blob);
  throw new EnvelopeError(`signature envelope media type ${mediaType} is not supported (application/jose+json or application/cose)`);
}
