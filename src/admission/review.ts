/**
 * Shape checks for AdmissionReview requests (admission.k8s.io/v1, and v1beta1 as Connaisseur accepts it), and
 * response building: the answer always uses the apiVersion of the request.
 */

export class BadRequestError extends Error {
  constructor(message: string, readonly status = 400) {
    super(message);
  }
}

export interface AdmissionRequest {
  uid: string;
  kind: { group?: string; version?: string; kind: string };
  resource?: { group?: string; version?: string; resource?: string };
  subResource?: string;
  name?: string;
  namespace?: string;
  operation: string;
  userInfo?: { username?: string };
  object?: Record<string, unknown> | null;
  oldObject?: Record<string, unknown> | null;
  dryRun?: boolean;
}

export interface AdmissionReview {
  apiVersion: string;
  kind: 'AdmissionReview';
  request: AdmissionRequest;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; message: string; reason?: string };
  patchType?: 'JSONPatch';
  patch?: string;
  warnings?: string[];
}

/** The AdmissionReview versions answered (in the version asked for). v1beta1 is what Kubernetes < 1.16 sends. */
export const ADMISSION_REVIEW_VERSIONS = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'];

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Checks that `body` is an AdmissionReview we can answer. Throws BadRequestError with a sentence otherwise. */
export function parseAdmissionReview(body: unknown): AdmissionReview {
  if (!isObject(body)) throw new BadRequestError('the body must be a JSON object (an AdmissionReview)');
  if (body.kind !== 'AdmissionReview') throw new BadRequestError(`expected kind "AdmissionReview", got ${JSON.stringify(body.kind ?? null)}`);
  if (!ADMISSION_REVIEW_VERSIONS.includes(body.apiVersion as string)) {
    throw new BadRequestError(
      `unsupported apiVersion ${JSON.stringify(body.apiVersion ?? null)}; send ${ADMISSION_REVIEW_VERSIONS.join(' or ')} (admissionReviewVersions in the webhook configuration)`,
    );
  }
  const req = body.request;
  if (!isObject(req)) throw new BadRequestError('the AdmissionReview has no "request"');
  if (typeof req.uid !== 'string' || req.uid === '') throw new BadRequestError('the AdmissionReview request has no "uid"');
  if (!isObject(req.kind) || typeof req.kind.kind !== 'string') throw new BadRequestError('the AdmissionReview request has no "kind.kind"');
  if (typeof req.operation !== 'string') throw new BadRequestError('the AdmissionReview request has no "operation"');
  for (const key of ['object', 'oldObject'] as const) {
    if (req[key] === undefined || req[key] === null || isObject(req[key])) continue;
    // Only an UPDATE has an old object; what a CREATE carries there is never read (Connaisseur ignores it too).
    if (key === 'oldObject' && req.operation !== 'UPDATE') {
      req.oldObject = null;
      continue;
    }
    throw new BadRequestError(`the AdmissionReview request's "${key}" must be an object`);
  }
  for (const key of ['name', 'namespace', 'subResource'] as const) {
    if (req[key] !== undefined && typeof req[key] !== 'string') throw new BadRequestError(`the AdmissionReview request's "${key}" must be a string`);
  }
  return body as unknown as AdmissionReview;
}

export function reviewResponse(review: { apiVersion: string }, response: AdmissionResponse) {
  return { apiVersion: review.apiVersion, kind: 'AdmissionReview', response };
}

/** Kubernetes shows at most a few hundred characters of a warning; keep each one readable. */
export function clampWarning(text: string, max = 250): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
